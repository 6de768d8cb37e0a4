//! `--format junit`: JUnit XML (written with `quick-junit`) for GitLab, GitHub
//! Actions and Jenkins. One testsuite per cluster, one testcase per check; a result
//! at or above the failure level is a failure, `unknown` is an error, and the
//! findings go into the message and description.

use std::collections::BTreeMap;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use vitals_core::report::{CheckResult, Status};

/// Render results; `fail_at` is the lowest status counted as a failure.
pub fn render(results: &[CheckResult], fail_at: Status) -> String {
    let mut report = Report::new("vitals");
    let mut by_cluster: BTreeMap<&str, Vec<&CheckResult>> = BTreeMap::new();
    for r in results {
        by_cluster.entry(r.cluster.as_str()).or_default().push(r);
    }
    for (cluster, results) in by_cluster {
        let mut suite = TestSuite::new(cluster);
        for r in results {
            let findings: Vec<String> = r
                .findings
                .iter()
                .filter(|f| f.status != Status::Ok)
                .map(|f| format!("[{}] {}: {}", f.status, f.subject, f.message))
                .collect();
            let status = if r.status == Status::Unknown && fail_at <= Status::Unknown {
                non_success(NonSuccessKind::Error, r, &findings)
            } else if r.status >= fail_at {
                non_success(NonSuccessKind::Failure, r, &findings)
            } else {
                TestCaseStatus::success()
            };
            let mut case = TestCase::new(r.check.as_str(), status);
            case.set_classname(format!("vitals.{cluster}"));
            case.set_time(Duration::from_secs_f64(r.duration_seconds.max(0.0)));
            let mut out = format!("{}: {}\n", r.status, r.summary);
            for f in &r.findings {
                out.push_str(&format!("[{}] {}: {}\n", f.status, f.subject, f.message));
            }
            case.set_system_out(out);
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report.to_string().expect("JUnit serialisation to a string")
}

fn non_success(kind: NonSuccessKind, r: &CheckResult, findings: &[String]) -> TestCaseStatus {
    let mut s = TestCaseStatus::non_success(kind);
    s.set_message(format!("{}: {}", r.status, r.summary));
    s.set_type(r.failure.map_or(r.status.as_str(), |f| f.as_str()));
    if !findings.is_empty() {
        s.set_description(findings.join("\n"));
    }
    s
}
