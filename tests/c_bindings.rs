//! The C bindings committed in `sdk/c/bindings` (the C plugins, the C SDK and the
//! projects `vitals plugin new --lang c` writes build from them, so neither a
//! newcomer nor a C plugin author needs wit-bindgen) are exactly what wit-bindgen
//! generates from `wit/` today.

mod support;

use support::tools::tools_dir;
use support::vitals::root;

#[test]
fn the_committed_c_bindings_are_generated_from_the_current_wit() {
    let wit_bindgen = tools_dir().join("bin/wit-bindgen");
    assert!(
        wit_bindgen.exists(),
        "{} is missing: run scripts/install-deps",
        wit_bindgen.display()
    );
    let out = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(&wit_bindgen)
        .args(["c", "wit", "--world", "check", "--out-dir"])
        .arg(out.path())
        .current_dir(root())
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run wit-bindgen");
    assert!(status.success());
    let committed = root().join("sdk/c/bindings");
    let mut names: Vec<String> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["check.c", "check.h", "check_component_type.o"]);
    for name in names {
        let fresh = std::fs::read(out.path().join(&name)).unwrap();
        let kept = std::fs::read(committed.join(&name)).unwrap_or_default();
        assert!(
            fresh == kept,
            "sdk/c/bindings/{name} is stale: regenerate with\n  {} c wit --world check --out-dir sdk/c/bindings",
            wit_bindgen.display()
        );
    }
}
