//! A body redacted chunk by chunk, wherever it is cut, is the body redacted
//! whole.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use vitals_core::secrets::RedactorBuilder;

#[derive(Arbitrary, Debug)]
struct Input {
    secrets: Vec<String>,
    basic: Option<(String, String)>,
    body: Vec<u8>,
    cuts: Vec<u8>,
}

fuzz_target!(|input: Input| {
    let mut builder = RedactorBuilder::default();
    for s in &input.secrets {
        builder.secret(s);
    }
    if let Some((user, password)) = &input.basic {
        builder.basic(user, password);
    }
    let redactor = builder.build();
    let whole = redactor.bytes(&input.body).into_owned();
    let mut stream = redactor.stream();
    let mut out = Vec::new();
    let mut rest = &input.body[..];
    for cut in input.cuts.iter().map(|c| usize::from(*c)) {
        let (chunk, tail) = rest.split_at(cut.min(rest.len()));
        out.extend(stream.push(chunk));
        rest = tail;
    }
    out.extend(stream.push(rest));
    out.extend(stream.finish());
    // A short secret is redacted only as the whole body; pushing nothing at all
    // but the body in one piece is the same.
    assert_eq!(out, whole);
});
