//! `vitals test`: run a plugin offline, its capability calls answered from a
//! cassette, and compare the outcome with what is expected.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::capabilities::Gates;
use crate::contract;
use crate::engine::{Engine, LoadedPlugin, RunLimits};
use crate::sandbox::RunState;
use crate::tape::{Replayer, Tape};
use vitals_core::cassette::{Cassette, RunRef};
use vitals_core::config::{self, ConfigError};
use vitals_core::report::{CheckResult, Status};
use vitals_core::secrets::Redactor;

/// What to replay and what to expect.
pub struct TestSpec {
    pub plugin: PathBuf,
    pub cassette: PathBuf,
    /// Parameters replacing the cassette's.
    pub params: Option<PathBuf>,
    /// The status expected (default: the cassette's recorded status).
    pub expect: Option<Status>,
    /// Texts each expected in some finding (`subject: message`) or the summary.
    pub expect_findings: Vec<String>,
    /// Expect the findings the cassette recorded (subjects and statuses).
    pub same_findings: bool,
    pub timeout: Duration,
    pub memory_limit: u64,
    pub cache_dir: Option<PathBuf>,
}

/// Why a test could not be run at all.
#[derive(Debug, thiserror::Error)]
pub enum TestError {
    #[error(transparent)]
    Cassette(#[from] vitals_core::cassette::CassetteError),
    #[error(transparent)]
    Params(#[from] ConfigError),
    #[error(transparent)]
    Plugin(#[from] crate::engine::LoadError),
    #[error("cannot start the engine: {0}")]
    Engine(String),
    #[error("{0}")]
    Usage(String),
}

/// The outcome of a replay: the run's result and every way it differs from the
/// expectation (none: the test passed).
pub struct TestOutcome {
    pub result: CheckResult,
    pub mismatches: Vec<String>,
    /// Recorded calls the replay did not ask for (informational).
    pub unused: Vec<String>,
    /// Differences between the recording and this test that may explain a
    /// mismatch: another plugin or version, another contract (informational).
    pub notes: Vec<String>,
    pub calls: usize,
}

/// Replay `spec.cassette` through `spec.plugin`.
pub async fn run(spec: &TestSpec) -> Result<TestOutcome, TestError> {
    let cassette = Cassette::load(&spec.cassette)?;
    let engine = Engine::new(spec.cache_dir.clone().or_else(config::default_cache_dir))
        .map_err(|e| TestError::Engine(format!("{e:#}")))?;
    let plugin = engine.load(&spec.plugin).await?;
    let params = params(spec, &cassette, &plugin)?;
    let expect = expected_status(spec, &cassette)?;
    let replayer = Arc::new(Mutex::new(Replayer::new(cassette.calls.clone())));
    let result = replay(&engine, &plugin, &cassette, params, replayer.clone(), spec).await;
    let replayer = replayer.lock().expect("tape lock");
    let mut mismatches: Vec<String> = replayer
        .unexpected
        .iter()
        .map(|call| format!("unexpected call (not in the cassette): {call}"))
        .collect();
    mismatches.extend(differences(spec, &cassette, &result, expect));
    Ok(TestOutcome {
        notes: notes(&cassette, &plugin),
        result,
        mismatches,
        unused: replayer.unused(),
        calls: cassette.calls.len(),
    })
}

/// The params to run with: from `--params` (checked against the plugin's
/// schema), else the recorded ones.
fn params(
    spec: &TestSpec,
    cassette: &Cassette,
    plugin: &LoadedPlugin,
) -> Result<serde_json::Map<String, serde_json::Value>, TestError> {
    let Some(file) = &spec.params else {
        return Ok(cassette.params.clone());
    };
    let (params, lines) = config::load_params(file)?;
    vitals_core::schema::check_values(&params, &plugin.info, file, |k| lines.get(k).copied())?;
    Ok(params)
}

/// `--expect`, else the status the cassette recorded.
fn expected_status(spec: &TestSpec, cassette: &Cassette) -> Result<Status, TestError> {
    match (spec.expect, &cassette.result) {
        (Some(s), _) => Ok(s),
        (None, Some(r)) => Status::parse(&r.status).ok_or_else(|| {
            TestError::Usage(format!(
                "{}: recorded status {:?} is not ok, warning, critical or unknown",
                spec.cassette.display(),
                r.status
            ))
        }),
        (None, None) => Err(TestError::Usage(format!(
            "{}: the recorded run has no result (it failed); say what to expect with --expect",
            spec.cassette.display()
        ))),
    }
}

/// How the replayed result differs from what is expected: its status, the
/// findings `--expect-finding` names, and (`--same-findings`) the recorded ones.
fn differences(
    spec: &TestSpec,
    cassette: &Cassette,
    result: &CheckResult,
    expect: Status,
) -> Vec<String> {
    let mut out = Vec::new();
    if result.status != expect {
        out.push(format!(
            "status: expected {expect}, got {} ({})",
            result.status, result.summary
        ));
    }
    let seen: Vec<String> = std::iter::once(result.summary.clone())
        .chain(
            result
                .findings
                .iter()
                .map(|f| format!("{}: {}", f.subject, f.message)),
        )
        .collect();
    for want in &spec.expect_findings {
        if !seen.iter().any(|s| s.contains(want.as_str())) {
            out.push(format!("no finding mentions {want:?}"));
        }
    }
    if spec.same_findings {
        let got: Vec<(String, String)> = result
            .findings
            .iter()
            .map(|f| (f.subject.clone(), f.status.as_str().to_string()))
            .collect();
        let recorded: Vec<(String, String)> = cassette
            .result
            .iter()
            .flat_map(|r| &r.findings)
            .map(|f| (f.subject.clone(), f.status.clone()))
            .collect();
        if got != recorded {
            out.push(format!(
                "findings: recorded {}, got {}",
                describe(&recorded),
                describe(&got)
            ));
        }
    }
    out
}

/// What differs between the recording and this replay that may explain a
/// mismatch: another plugin or version, another contract.
fn notes(cassette: &Cassette, plugin: &LoadedPlugin) -> Vec<String> {
    let mut notes = Vec::new();
    let recorded = &cassette.plugin;
    if recorded.name != plugin.info.name || recorded.version != plugin.info.version {
        notes.push(format!(
            "recorded with plugin {} {}, replayed through {} {}",
            recorded.name, recorded.version, plugin.info.name, plugin.info.version
        ));
    }
    let contract = format!("{}@{}", crate::contract::PACKAGE, plugin.contract_version);
    if cassette.contract != contract {
        notes.push(format!(
            "recorded by a host speaking {}, the plugin speaks {contract}",
            cassette.contract
        ));
    }
    notes
}

fn describe(findings: &[(String, String)]) -> String {
    if findings.is_empty() {
        return "none".into();
    }
    findings
        .iter()
        .map(|(subject, status)| format!("{subject} {status}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// One run of the plugin in a sandbox whose every capability answers from the
/// cassette and whose wall clock starts at the recording time.
async fn replay(
    engine: &Engine,
    plugin: &LoadedPlugin,
    cassette: &Cassette,
    params: serde_json::Map<String, serde_json::Value>,
    replayer: Arc<Mutex<Replayer>>,
    spec: &TestSpec,
) -> CheckResult {
    let input = contract::run_input(&RunRef {
        check: cassette.check.clone(),
        cluster: cassette.cluster.clone(),
        params,
        endpoints: cassette.endpoints.clone(),
    });
    let limits = RunLimits {
        timeout: spec.timeout,
        memory_limit: spec.memory_limit,
        output_limit: 64 << 10,
    };
    let gates = Gates::none(&cassette.check, &cassette.cluster);
    let mut state = RunState::new(gates, limits.memory_limit, limits.output_limit);
    state.set_tape(Tape::replay(replayer), Some(cassette.recorded_at));
    engine.run(plugin, state, limits, input).await.into_result(
        &cassette.check,
        &cassette.cluster,
        &plugin.info.name,
        // Recorded redacted: nothing of the configuration to redact.
        &Redactor::default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitals_core::report::{Finding, PluginReport};

    fn cassette(result: serde_json::Value) -> Cassette {
        serde_json::from_value(serde_json::json!({
            "vitals_cassette": 1, "contract": "vitals:check@0.4.0", "recorded_at": 0.0,
            "check": "c", "cluster": "k", "params": {}, "endpoints": [], "calls": [],
            "plugin": {"name": "p", "version": "1", "file": "p.wasm"},
            "result": result,
        }))
        .unwrap()
    }

    fn spec() -> TestSpec {
        TestSpec {
            plugin: "p.wasm".into(),
            cassette: "c.json".into(),
            params: None,
            expect: None,
            expect_findings: vec![],
            same_findings: false,
            timeout: Duration::from_secs(1),
            memory_limit: 1 << 20,
            cache_dir: None,
        }
    }

    fn result(findings: &[(&str, Status)]) -> CheckResult {
        let findings = findings
            .iter()
            .map(|(subject, status)| Finding {
                subject: subject.to_string(),
                status: *status,
                message: format!("{subject} is {status}"),
            })
            .collect();
        CheckResult::from_report(
            "c",
            "k",
            "p",
            PluginReport {
                status: Status::Warning,
                summary: "one member slow".into(),
                findings,
                samples: vec![],
            },
        )
    }

    #[test]
    fn the_expected_status_is_the_recorded_one_unless_given() {
        let recorded =
            cassette(serde_json::json!({"status": "critical", "summary": "", "findings": []}));
        assert_eq!(
            expected_status(&spec(), &recorded).unwrap(),
            Status::Critical
        );
        let given = TestSpec {
            expect: Some(Status::Ok),
            ..spec()
        };
        assert_eq!(expected_status(&given, &recorded).unwrap(), Status::Ok);
        let failed = cassette(serde_json::Value::Null);
        let err = expected_status(&spec(), &failed).unwrap_err().to_string();
        assert!(err.contains("say what to expect with --expect"), "{err}");
    }

    #[test]
    fn differences_name_the_status_the_findings_asked_for_and_the_recorded_ones() {
        let recorded = cassette(serde_json::json!({
            "status": "warning", "summary": "",
            "findings": [{"subject": "m1", "status": "warning", "message": ""}],
        }));
        let same = result(&[("m1", Status::Warning)]);
        let strict = TestSpec {
            same_findings: true,
            expect_findings: vec!["m1 is".into(), "slow".into()],
            ..spec()
        };
        assert!(differences(&strict, &recorded, &same, Status::Warning).is_empty());

        let other = result(&[("m2", Status::Critical)]);
        let found = differences(&strict, &recorded, &other, Status::Critical);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(
            found[0].starts_with("status: expected critical, got warning"),
            "{found:?}"
        );
        assert_eq!(found[1], "no finding mentions \"m1 is\"");
        assert_eq!(found[2], "findings: recorded m1 warning, got m2 critical");
    }
}
