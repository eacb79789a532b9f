//! KServe ignores flags it does not know (argparse `parse_known_args`); so
//! does infergate, with a warning, so that a container spec written for
//! KServe starts unchanged.
use std::ffi::OsString;

/// Removes flags `cmd` does not define from `argv` (program name first). An
/// unknown `--flag` without `=value` also takes the next token with it when
/// that token is not itself a flag, as argparse leaves it unconsumed too.
pub fn drop_unknown_flags(
    cmd: &clap::Command,
    argv: Vec<OsString>,
    warnings: &mut Vec<String>,
) -> Vec<OsString> {
    let known = |name: &str| -> bool {
        if let Some(long) = name.strip_prefix("--") {
            let long = long.split_once('=').map_or(long, |(n, _)| n);
            long.is_empty()
                || long == "help"
                || long == "version"
                || cmd.get_arguments().any(|a| {
                    a.get_long() == Some(long)
                        || a.get_all_aliases()
                            .is_some_and(|names| names.contains(&long))
                })
        } else {
            let short = name.trim_start_matches('-').chars().next();
            matches!(short, Some('h' | 'V'))
                || short.is_some_and(|c| cmd.get_arguments().any(|a| a.get_short() == Some(c)))
        }
    };
    let is_flag = |t: &OsString| {
        t.to_str()
            .is_some_and(|s| s.starts_with('-') && s.len() > 1 && s.parse::<f64>().is_err())
    };
    let mut out = Vec::with_capacity(argv.len());
    let mut iter = argv.into_iter().peekable();
    if let Some(prog) = iter.next() {
        out.push(prog);
    }
    while let Some(token) = iter.next() {
        let Some(text) = token.to_str().filter(|_| is_flag(&token)) else {
            out.push(token);
            continue;
        };
        if text == "--" || known(text) {
            out.push(token);
            continue;
        }
        let mut dropped = text.to_string();
        if !text.contains('=')
            && iter.peek().is_some_and(|next| !is_flag(next))
            && let Some(value) = iter.next()
        {
            dropped = format!("{dropped} {}", value.to_string_lossy());
        }
        warnings.push(format!("unknown flag ignored: {dropped}"));
    }
    out
}
