//! Report sanitisation and every renderer: any report of any plugin, with any
//! secrets configured, becomes a result with no secret left in it, no control
//! character in its text and only label names an exposition accepts, and every
//! output of it parses (`vitals_render::validity`: the Prometheus text format and
//! OpenMetrics with a real parser, JSON, JUnit as XML, the human table).
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use vitals_core::report::{CheckResult, Finding, PluginReport, PluginSample, Status};
use vitals_core::secrets::RedactorBuilder;

#[derive(Arbitrary, Debug)]
struct Input {
    status: u8,
    summary: String,
    findings: Vec<(String, u8, String)>,
    samples: Vec<(String, String, f64, Vec<(String, String)>)>,
    /// Secrets, kept to characters that cannot be made from `<redacted>` and the
    /// text around it (a secret inside the replacement would never go away).
    secrets: Vec<Vec<u8>>,
    /// The plugin's name: one of a few, reserved prefixes included.
    plugin: u8,
}

fn status(n: u8) -> Status {
    [
        Status::Ok,
        Status::Warning,
        Status::Critical,
        Status::Unknown,
    ][usize::from(n % 4)]
}

fuzz_target!(|input: Input| {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ+/=.:-@ ";
    let secrets: Vec<String> = input
        .secrets
        .iter()
        .map(|s| {
            s.iter()
                .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
                .collect()
        })
        .collect();
    let mut builder = RedactorBuilder::default();
    for s in &secrets {
        builder.secret(s);
    }
    let redactor = builder.build();
    let mut report = PluginReport {
        status: status(input.status),
        summary: input.summary,
        findings: input
            .findings
            .into_iter()
            .map(|(subject, s, message)| Finding {
                subject,
                status: status(s),
                message,
            })
            .collect(),
        samples: input
            .samples
            .into_iter()
            .map(|(name, help, value, labels)| PluginSample {
                name,
                help,
                value,
                labels,
            })
            .collect(),
    };
    report.redact(&redactor);
    let plugin = ["p", "check_x", "runner", "etcd"][usize::from(input.plugin % 4)];
    let mut result = CheckResult::from_report("c", "k", plugin, report);
    result.redact(&redactor);

    let mut texts: Vec<&str> = vec![&result.summary];
    for f in &result.findings {
        texts.extend([f.subject.as_str(), f.message.as_str()]);
    }
    for s in &result.samples {
        texts.extend([s.name.as_str(), s.help.as_str()]);
        for (name, value) in &s.labels {
            assert!(
                name.starts_with(|c: char| c.is_ascii_alphabetic())
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && name != "check"
                    && name != "cluster",
                "label name {name:?}"
            );
            assert!(!value.is_empty(), "empty value of {name}");
            texts.extend([name.as_str(), value.as_str()]);
        }
        assert!(
            s.name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !s.name.is_empty(),
            "sample name {:?}",
            s.name
        );
    }
    for t in &texts {
        assert!(
            !t.chars().any(char::is_control),
            "control character in {t:?}"
        );
        for s in secrets.iter().filter(|s| s.len() >= 4) {
            assert!(!t.contains(s.as_str()), "secret {s:?} in {t:?}");
        }
    }
    if let Err(e) = vitals_render::validity::check(std::slice::from_ref(&result)) {
        panic!("an output does not parse: {e}");
    }
});
