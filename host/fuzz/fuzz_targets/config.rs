//! Configuration loading: any `vitals.toml` and check file (the input split at
//! its first NUL) loads or fails with an error that names its file; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vitals_core::config::fixture;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (main, check) = text.split_once('\0').unwrap_or((&text, ""));
    let (_dir, loaded) = fixture::load(main, &[("c", check)]);
    if let Err(e) = loaded {
        let shown = e.to_string();
        assert!(
            shown.contains("vitals.toml") || shown.contains("checks.d"),
            "an error names its file: {shown}"
        );
    }
});
