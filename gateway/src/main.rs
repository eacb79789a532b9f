// On by default, as in infergate-predictor (docs/benchmarks.md, "Allocator").
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // `infergate proxy ...` hands the process to pingora, which builds its own
    // runtimes: dispatch before any tokio runtime exists (docs/proxy.md).
    let mut args = std::env::args_os().skip(1);
    if args.next().is_some_and(|a| a == "proxy") {
        return infergate_proxy::main_with_args(args.collect());
    }
    infergate_gateway::main_with(None)
}
