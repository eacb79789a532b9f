//! The configuration: the documented example parses, and each kind of bad
//! configuration is refused with the key it is about.

use infergate_proxy::{Config, ConfigError};

const MINIMAL: &str = r#"
[listen]
address = "127.0.0.1:8000"

[pools.a]
backends = ["127.0.0.1:9001"]

[[routes]]
name = "all"
pool = "a"
"#;

fn error_of(text: &str) -> String {
    match Config::parse(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

/// The first ```toml block of docs/proxy.md.
fn documented_example() -> String {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/proxy.md"))
        .expect("docs/proxy.md");
    let start = doc.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let end = start + doc[start..].find("```").expect("block end");
    doc[start..end].to_string()
}

#[test]
fn the_documented_example_is_valid_and_builds() {
    let text = documented_example();
    let config = Config::parse(&text).unwrap_or_else(|e| panic!("docs/proxy.md example: {e}"));
    let router = infergate_proxy::run::build(&config).expect("routes and pools build");
    assert!(router.routes.len() >= 3);
    assert!(router.pools.len() >= 2);
}

#[test]
fn minimal_config_gets_defaults() {
    let c = Config::parse(MINIMAL).expect("valid");
    assert!(c.listen.h2c);
    assert_eq!(c.routes[0].timeout_ms, 60_000);
    assert!(c.routes[0].is_default());
}

#[test]
fn bad_configs_name_the_key() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "pool = \"a\"",
            "pool = \"missing\"",
            "routes[0].pool: no pool named \"missing\"",
        ),
        ("127.0.0.1:8000", "localhost", "listen.address"),
        (
            "[\"127.0.0.1:9001\"]",
            "[]",
            "pools.a.backends: needs at least one",
        ),
        ("[\"127.0.0.1:9001\"]", "[\"nope\"]", "pools.a.backends[0]"),
        (
            "backends = [\"127.0.0.1:9001\"]",
            "backends = [\"127.0.0.1:9001\"]\nbalancing = \"consistent_hash\"",
            "pools.a.hash_header",
        ),
        (
            "pool = \"a\"",
            "pool = \"a\"\ntimeout_ms = 0",
            "routes[0].timeout_ms",
        ),
        (
            "pool = \"a\"",
            "pool = \"a\"\nsplit = [{ pool = \"a\", weight = 1 }]",
            "routes[0].split: give either pool or split",
        ),
        (
            "pool = \"a\"",
            "pool = \"a\"\npath_prefix = \"x\"",
            "routes[0].path_prefix",
        ),
        (
            "pool = \"a\"",
            "pool = \"a\"\ntimout_ms = 5",
            "unknown field `timout_ms`",
        ),
    ];
    for (from, to, want) in cases {
        let text = MINIMAL.replacen(from, to, 1);
        let got = error_of(&text);
        assert!(got.contains(want), "for {to:?}: {got:?} lacks {want:?}");
    }
}

#[test]
fn the_default_route_must_be_last() {
    let text =
        format!("{MINIMAL}\n[[routes]]\nname = \"iris\"\nmodels = [\"iris\"]\npool = \"a\"\n");
    assert!(error_of(&text).contains("routes[0]: a route without models"));
}

#[test]
fn unresolvable_backend_names_the_key() {
    let text = MINIMAL.replace("127.0.0.1:9001", "no-such-host.invalid:9001");
    let config = Config::parse(&text).expect("syntax is fine");
    let err = match infergate_proxy::run::build(&config) {
        Ok(_) => panic!("resolved an .invalid name"),
        Err(e) => e,
    };
    assert!(matches!(err, ConfigError::Invalid { .. }));
    assert!(
        err.to_string()
            .starts_with("pools.a.backends[0]: cannot resolve"),
        "{err}"
    );
}
