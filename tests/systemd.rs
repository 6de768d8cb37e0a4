//! The systemd units (`deploy/systemd`): `systemd-analyze verify` finds nothing
//! to complain about, and `systemd-analyze security --offline=yes` rates each
//! service's exposure at or below the threshold.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::process::outcome;
use support::vitals::{root, vitals_bin};

/// Exposure that a service may not exceed, in tenths as `--threshold` takes it
/// (20: 2.0 on the 0 safest … 10 scale it prints; the units rate 1.3).
const EXPOSURE_THRESHOLD: &str = "20";

const UNITS: [&str; 3] = ["vitals.service", "vitals-run.service", "vitals-run.timer"];

/// The units in a directory of their own, running the binary under test (verify
/// wants the executable to exist).
fn units() -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let bin = vitals_bin().display().to_string();
    let paths = UNITS
        .iter()
        .map(|u| {
            let text = std::fs::read_to_string(root().join("deploy/systemd").join(u)).unwrap();
            assert!(
                !u.ends_with(".service") || text.contains("ExecStart=/usr/bin/vitals "),
                "{u} runs /usr/bin/vitals"
            );
            let path = dir.path().join(u);
            std::fs::write(&path, text.replace("/usr/bin/vitals ", &format!("{bin} "))).unwrap();
            path
        })
        .collect();
    (dir, paths)
}

fn analyze(args: &[&str], units: &[&Path]) -> (bool, String) {
    outcome(Command::new("systemd-analyze").args(args).args(units))
}

#[test]
fn the_units_verify_cleanly() {
    let (_dir, paths) = units();
    let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let (ok, text) = analyze(&["verify"], &refs);
    assert!(
        ok && text.trim().is_empty(),
        "systemd-analyze verify:\n{text}"
    );

    // verify does complain, e.g. about an unknown setting.
    let broken = paths[0].with_file_name("broken.service");
    let text = std::fs::read_to_string(&paths[0]).unwrap();
    std::fs::write(&broken, text.replace("RestartSec=", "RestartSecs=")).unwrap();
    let (_, text) = analyze(&["verify"], &[&broken]);
    assert!(text.contains("RestartSecs"), "{text}");
}

#[test]
fn the_services_are_hardened() {
    let (_dir, paths) = units();
    for path in paths
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "service"))
    {
        let (ok, text) = analyze(
            &[
                "security",
                "--offline=yes",
                &format!("--threshold={EXPOSURE_THRESHOLD}"),
            ],
            &[path],
        );
        assert!(
            ok,
            "{} is more exposed than {EXPOSURE_THRESHOLD} tenths:\n{text}",
            path.display()
        );
        assert!(text.contains("Overall exposure level"), "{text}");
    }
}

#[test]
fn results_are_not_unit_failures_and_bad_configurations_do_not_restart() {
    let read = |u: &str| std::fs::read_to_string(root().join("deploy/systemd").join(u)).unwrap();
    let serve = read("vitals.service");
    assert!(
        serve.contains("\nRestartPreventExitStatus=64 78\n"),
        "{serve}"
    );
    assert!(
        serve.contains("\nExecReload=/bin/kill -HUP $MAINPID\n"),
        "{serve}"
    );
    let run = read("vitals-run.service");
    assert!(run.contains("\nSuccessExitStatus=1 2 3\n"), "{run}");
    assert!(
        run.contains("--textfile /var/lib/vitals/textfile/vitals.prom"),
        "{run}"
    );
    assert!(read("vitals-run.timer").contains("\nPersistent=true\n"));
}
