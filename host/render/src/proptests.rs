//! Property test: whatever plugins report (any strings, any floats, any label
//! sets, any plugin names), every output parses ([`validity::check`]). The fuzz
//! target `render` (host/fuzz) checks the same with libFuzzer's inputs.

use proptest::prelude::*;

use crate::validity;
use vitals_core::report::{CheckResult, Finding, PluginReport, PluginSample, Status};

/// Text a hostile plugin might write: anything, or the characters and names
/// that break expositions.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z_]{0,6}",
        prop::sample::select(vec![
            "__name__",
            "check",
            "cluster",
            "_x",
            "le",
            "\\",
            "\"",
            "\\n",
            "a\\",
            "",
            "\u{1b}[2J",
            "# EOF",
            "x}",
            "x{y=\"1\"}",
            "\u{0}",
            "inf",
            "NaN",
        ])
        .prop_map(String::from),
    ]
}

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        prop::sample::select(vec![
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            f64::MAX,
            f64::MIN_POSITIVE,
            1e-300,
        ]),
    ]
}

fn status() -> impl Strategy<Value = Status> {
    prop::sample::select(vec![
        Status::Ok,
        Status::Warning,
        Status::Critical,
        Status::Unknown,
    ])
}

fn sample() -> impl Strategy<Value = PluginSample> {
    (
        text(),
        text(),
        value(),
        prop::collection::vec((text(), text()), 0..4),
    )
        .prop_map(|(name, help, value, labels)| PluginSample {
            name,
            help,
            value,
            labels,
        })
}

fn report() -> impl Strategy<Value = PluginReport> {
    (
        status(),
        text(),
        prop::collection::vec((text(), status(), text()), 0..3),
        prop::collection::vec(sample(), 0..6),
    )
        .prop_map(|(status, summary, findings, samples)| PluginReport {
            status,
            summary,
            findings: findings
                .into_iter()
                .map(|(subject, status, message)| Finding {
                    subject,
                    status,
                    message,
                })
                .collect(),
            samples,
        })
}

/// Results of up to four plugins (names as the host accepts them, reserved ones
/// included), each on one or two clusters.
fn results() -> impl Strategy<Value = Vec<CheckResult>> {
    prop::collection::vec(
        (
            prop_oneof![
                "[a-z0-9_]{1,8}",
                Just("check_x".to_string()),
                Just("runner".to_string())
            ],
            report(),
            any::<bool>(),
        ),
        1..4,
    )
    .prop_map(|plugins| {
        let mut out = Vec::new();
        for (i, (plugin, report, two)) in plugins.into_iter().enumerate() {
            for cluster in if two { vec!["a", "b-1"] } else { vec!["a"] } {
                let check = format!("check-{i}");
                out.push(CheckResult::from_report(
                    &check,
                    cluster,
                    &plugin,
                    report.clone(),
                ));
            }
        }
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn every_output_parses_whatever_plugins_report(results in results()) {
        validity::check(&results).map_err(TestCaseError::fail)?;
    }
}
