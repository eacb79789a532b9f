//! Declarative transformer configs (--transformer_config): any text
//! parses or is refused, never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = infergate_transformer::Declarative::from_toml(text);
    }
});
