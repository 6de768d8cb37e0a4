//! Cassettes: any text parses or fails with an error naming the file; a cassette
//! that parses, replayed in its own order, answers every call with its recorded
//! answer and leaves none unused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vitals_core::cassette::{Cassette, Replayer};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let cassette = match Cassette::parse(text, "fuzz.json".into()) {
        Ok(c) => c,
        Err(e) => {
            assert!(e.to_string().contains("fuzz.json"), "{e}");
            return;
        }
    };
    let mut replayer = Replayer::new(cassette.calls.clone());
    for call in &cassette.calls {
        let answer = replayer.answer(&call.call, &call.request);
        assert_eq!(answer.as_ref(), Some(&call.answer), "{}", call.call);
    }
    assert!(replayer.unused().is_empty());
    assert!(replayer.unexpected.is_empty());
});
