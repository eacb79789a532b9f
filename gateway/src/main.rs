fn main() -> std::process::ExitCode {
    infergate_gateway::main_with(None)
}
