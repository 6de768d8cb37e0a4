//! One plugin cannot break an output: a plugin that reports every kind of bad
//! sample and text (`chaos` in `garbage` mode: `__name__` and forged `check`
//! labels, invalid and empty labels, backslashes and quotes in HELP and values,
//! NaN and infinities, duplicate series, conflicting HELP, terminal escapes)
//! beside a well-behaved check. promtool parses the text format, a real
//! Prometheus scrapes the OpenMetrics one and keeps the other check's series,
//! JSON parses, JUnit parses as XML, and the human output has no escape left.

mod support;

use std::time::Duration;

use support::process::promtool_parses;
use support::prometheus::Prometheus;
use support::vitals::ConfigDir;

fn config() -> ConfigDir {
    let cfg = ConfigDir::new("[clusters.local]\n");
    cfg.check(
        "garbage",
        "plugin = \"chaos\"\n[params]\nmode = \"garbage\"\n",
    );
    cfg.check("fine", "plugin = \"chaos\"\n[params]\nmode = \"ok\"\n");
    cfg
}

#[test]
fn bad_samples_leave_every_output_valid() {
    let cfg = config();
    let text = cfg.vitals(&["run", "--format", "prometheus"]).stdout;
    promtool_parses(&text);
    for (want, why) in [
        (
            "vitals_check_status{check=\"fine\",cluster=\"local\"} 0",
            "the other check",
        ),
        (
            "vitals_check_status{check=\"garbage\",cluster=\"local\"} 1",
            "the garbage check",
        ),
        (
            "vitals_chaos_infinite{check=\"garbage\",cluster=\"local\",sign=\"plus\"} +Inf",
            "+Inf",
        ),
        (
            "vitals_chaos_infinite{check=\"garbage\",cluster=\"local\",sign=\"minus\"} -Inf",
            "-Inf",
        ),
        (
            "vitals_chaos_not_a_number{check=\"garbage\",cluster=\"local\"} NaN",
            "NaN",
        ),
        // Three samples with one label set after the bad labels are dropped: the last.
        (
            "vitals_chaos_bad_labels{check=\"garbage\",cluster=\"local\",quote=\"a\\\"b\\\\c d\"} 3",
            "one series, the last sample",
        ),
        (
            "# HELP vitals_chaos_bad_labels back\\\\slash 'quoted' trailing\\\\.",
            "the first HELP, escaped",
        ),
        (
            "vitals_chaos_weird_name___x{",
            "the name in the Prometheus charset",
        ),
    ] {
        assert!(text.contains(want), "{why}: no {want:?} in\n{text}");
    }
    for gone in ["__name__", "forged", "_private", "a-b", "empty=", "\u{1b}"] {
        assert!(!text.contains(gone), "{gone:?} in\n{text}");
    }

    let json = cfg.vitals(&["run", "--format", "json"]).stdout;
    let doc: serde_json::Value = serde_json::from_str(&json).expect("JSON parses");
    assert_eq!(doc["results"].as_array().map(Vec::len), Some(2), "{doc:#}");
    let junit = cfg.vitals(&["run", "--format", "junit"]).stdout;
    let xml = roxmltree::Document::parse(&junit).unwrap_or_else(|e| panic!("{e}\n{junit}"));
    assert_eq!(
        xml.descendants()
            .filter(|n| n.has_tag_name("testcase"))
            .count(),
        2
    );
    let human = cfg.vitals(&["run", "--verbose"]).stdout;
    assert!(
        !human.chars().any(|c| c.is_control() && c != '\n'),
        "{human:?}"
    );
    assert!(!human.contains("\nFAKE"), "{human}");
}

#[test]
fn prometheus_scrapes_every_check_beside_a_plugin_that_reports_garbage() {
    let cfg = config();
    let served = cfg.serve();
    served.wait_ready();
    let (_, metrics) = served.get("/metrics");
    promtool_parses(&metrics);
    // Prometheus asks for OpenMetrics; one bad series would fail the whole scrape.
    let prometheus = Prometheus::start(std::slice::from_ref(&served.addr));
    let wait = Duration::from_secs(60);
    prometheus.wait_for_value("up", 1.0, wait);
    prometheus.wait_for_value(
        "vitals_check_status{check=\"fine\",cluster=\"local\"}",
        0.0,
        wait,
    );
    prometheus.wait_for_value(
        "vitals_chaos_bad_labels{check=\"garbage\",cluster=\"local\"}",
        3.0,
        wait,
    );
    prometheus.wait_for_value(
        "vitals_chaos_infinite{check=\"garbage\",sign=\"plus\"} == bool +Inf",
        1.0,
        wait,
    );
}
