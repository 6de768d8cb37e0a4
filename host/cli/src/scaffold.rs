//! `vitals plugin new`: a ready-to-build check plugin in Rust, Python, JavaScript
//! or C, with the contract, the language's SDK, a build script, an example check
//! and an offline test over recorded cassettes.

use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};
use serde_json::{Value, json};

use vitals_core::cassette::{
    Call, Cassette, EndpointRef, FORMAT, PluginRef, RecordedFinding, RecordedResult,
};
use vitals_runtime::contract;

static TEMPLATES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/templates");
static WIT: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../../wit");
static RUST_SDK: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../../plugins/sdk/src");
static PYTHON_SDK: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../../sdk/python");
static JS_SDK: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../../sdk/js");
static C_SDK: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../../sdk/c");
/// The versions the project's own plugins build with, for a Rust plugin's lock.
static RUST_LOCK: &str = include_str!("../../../plugins/Cargo.lock");

/// The languages a plugin can be made in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    Rust,
    Python,
    Js,
    C,
}

impl Lang {
    fn dir(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::Js => "js",
            Lang::C => "c",
        }
    }

    /// The example plugin probes an http endpoint (C's lists Kubernetes nodes:
    /// wasi:http is a long way round from C).
    fn http_example(self) -> bool {
        self != Lang::C
    }
}

/// Why a plugin could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    #[error(
        "invalid plugin name {0:?}: use lowercase letters, digits and `_`, starting with a letter (it names the metrics, vitals_<name>_*)"
    )]
    Name(String),
    #[error("{0} exists and is not empty: choose another --dir")]
    Exists(PathBuf),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Write a new plugin `name` in `lang` into `dir`; returns the files written.
pub fn new_plugin(name: &str, lang: Lang, dir: &Path) -> Result<Vec<PathBuf>, ScaffoldError> {
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(ScaffoldError::Name(name.into()));
    }
    if std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some()) {
        return Err(ScaffoldError::Exists(dir.to_owned()));
    }
    let mut written = Vec::new();
    // C: the preview1 adapter and the SDK's compiled bindings are not text.
    let mut binary: Vec<(PathBuf, &'static [u8])> = Vec::new();
    if lang == Lang::C {
        binary.push((
            PathBuf::from("wasi_snapshot_preview1.reactor.wasm"),
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        ));
        binary.extend(
            binary_files(&C_SDK)
                .into_iter()
                .map(|(p, b)| (Path::new("sdk").join(p), b)),
        );
    }
    for (rel, bytes) in binary {
        write(dir, &rel, bytes)?;
        written.push(rel);
    }
    for (rel, text) in project_files(name, lang) {
        write(dir, &rel, text.as_bytes())?;
        written.push(rel);
    }
    Ok(written)
}

/// The text files of a new project: the templates filled in, the contract, the
/// language's SDK and the example cassettes.
fn project_files(name: &str, lang: Lang) -> Vec<(PathBuf, String)> {
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    let fill = |text: &str| {
        text.replace("{{name}}", name).replace(
            "{{contract}}",
            &format!("{}@{}", contract::PACKAGE, contract::VERSION),
        )
    };
    let example = if lang.http_example() { "http" } else { "c" };
    for template in [
        TEMPLATES.get_dir("common"),
        TEMPLATES.get_dir(example).filter(|_| lang.http_example()),
        TEMPLATES.get_dir(lang.dir()),
    ]
    .into_iter()
    .flatten()
    {
        for (path, text) in text_files(template) {
            let path = path
                .strip_prefix(template.path())
                .unwrap_or(&path)
                .to_owned();
            files.push((PathBuf::from(fill(&path.to_string_lossy())), fill(&text)));
        }
    }
    files.extend(
        text_files(&WIT)
            .into_iter()
            .map(|(p, t)| (Path::new("wit").join(p), t)),
    );
    files.extend(sdk_files(lang));
    for (scenario, cassette) in cassettes(name, lang) {
        files.push((
            PathBuf::from(format!("cassettes/{scenario}.json")),
            cassette.to_text(&Default::default()),
        ));
    }
    files
}

/// The SDK of `lang`, where the project's build finds it.
fn sdk_files(lang: Lang) -> Vec<(PathBuf, String)> {
    let under = |dir: &Dir<'_>, root: &str| -> Vec<(PathBuf, String)> {
        text_files(dir)
            .into_iter()
            .map(|(p, t)| (Path::new(root).join(p), t))
            .collect()
    };
    match lang {
        // The generated bindings find the contract from the SDK crate's root.
        Lang::Rust => {
            let mut files: Vec<(PathBuf, String)> = under(&RUST_SDK, "vitals-plugin/src")
                .into_iter()
                .map(|(p, t)| (p, t.replace("path: \"../../wit\"", "path: \"../wit\"")))
                .collect();
            // Cargo drops the entries of the project's own plugins and adds this one.
            files.push((PathBuf::from("Cargo.lock"), RUST_LOCK.to_string()));
            files
        }
        Lang::Python => under(&PYTHON_SDK, "sdk"),
        Lang::Js => under(&JS_SDK, "sdk"),
        Lang::C => under(&C_SDK, "sdk"),
    }
}

/// Write `bytes` into `dir/rel`, making its folder; shell scripts executable.
fn write(dir: &Path, rel: &Path, bytes: &[u8]) -> Result<(), ScaffoldError> {
    let path = dir.join(rel);
    let write = || -> std::io::Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, bytes)?;
        if rel.extension().is_some_and(|e| e == "sh") {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
        }
        Ok(())
    };
    write().map_err(|source| ScaffoldError::Write {
        path: path.clone(),
        source,
    })
}

/// Every file under `dir` that is not text, with its path relative to the
/// embedded root.
fn binary_files(dir: &Dir<'static>) -> Vec<(PathBuf, &'static [u8])> {
    let mut out: Vec<(PathBuf, &'static [u8])> = dir
        .files()
        .filter(|f| f.contents_utf8().is_none())
        .map(|f| (f.path().to_owned(), f.contents()))
        .collect();
    for sub in dir.dirs() {
        out.extend(binary_files(sub));
    }
    out
}

/// Every text file under `dir`, with its path relative to the embedded root.
fn text_files(dir: &Dir<'_>) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for file in dir.files() {
        if let Some(text) = file.contents_utf8() {
            out.push((file.path().to_owned(), text.to_string()));
        }
    }
    for sub in dir.dirs().filter(|d| !d.path().ends_with("__pycache__")) {
        out.extend(text_files(sub));
    }
    out
}

/// The example's cassettes: healthy, and down (the service refusing
/// connections; for C, a node NotReady).
fn cassettes(name: &str, lang: Lang) -> Vec<(&'static str, Cassette)> {
    let url = "http://127.0.0.1:8080";
    let (endpoint, call, request) = if lang.http_example() {
        (
            EndpointRef {
                name: "service".into(),
                kind: "http".into(),
                urls: vec![url.into()],
            },
            "http",
            json!({"method": "GET", "url": format!("{url}/healthz")}),
        )
    } else {
        (
            EndpointRef {
                name: "kubernetes".into(),
                kind: "kubernetes".into(),
                urls: vec!["https://127.0.0.1:6443".into()],
            },
            "kubernetes.list",
            json!({"endpoint": "kubernetes", "path": "/api/v1/nodes", "query": "limit=500"}),
        )
    };
    let node = |name: &str, ready: &str, reason: &str| {
        json!({"metadata": {"name": name}, "status": {"conditions": [
            {"type": "Ready", "status": ready, "reason": reason}]}})
    };
    let nodes = |second: Value| {
        json!({"ok": {"apiVersion": "v1", "kind": "NodeList", "metadata": {"resourceVersion": "1042"},
            "items": [node("node-1", "True", "KubeletReady"), second]}})
    };
    let finding = |subject: &str, status: &str, message: &str| RecordedFinding {
        subject: subject.into(),
        status: status.into(),
        message: message.into(),
    };
    let (healthy, down) = if lang.http_example() {
        (
            (
                "1/1 URLs answered",
                json!({"ok": {"status": 200, "headers": {"content-type": "text/plain"}, "body": {"$text": "ok\n"}}}),
                vec![finding(url, "ok", "HTTP 200")],
            ),
            (
                "0/1 URLs answered",
                json!({"error": {"kind": "ConnectionRefused", "message": "connection refused"}}),
                vec![finding(url, "critical", "unreachable: connection refused")],
            ),
        )
    } else {
        (
            (
                "2/2 nodes Ready",
                nodes(node("node-2", "True", "KubeletReady")),
                vec![],
            ),
            (
                "1/2 nodes Ready",
                nodes(node("node-2", "Unknown", "NodeStatusUnknown")),
                vec![finding(
                    "node-2",
                    "critical",
                    "not Ready: NodeStatusUnknown",
                )],
            ),
        )
    };
    let cassette =
        |status: &str, (summary, answer, findings): (&str, Value, Vec<RecordedFinding>)| Cassette {
            vitals_cassette: FORMAT,
            contract: format!("{}@{}", contract::PACKAGE, contract::VERSION),
            recorded_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64().floor()),
            check: name.into(),
            cluster: "example".into(),
            plugin: PluginRef {
                name: name.into(),
                version: "0.1.0".into(),
                file: format!("{name}.wasm"),
            },
            params: serde_json::Map::new(),
            endpoints: vec![endpoint.clone()],
            result: Some(RecordedResult {
                status: status.into(),
                summary: summary.into(),
                findings,
            }),
            calls: vec![Call {
                call: call.into(),
                request: request.clone(),
                answer,
            }],
        };
    vec![
        ("healthy", cassette("ok", healthy)),
        ("down", cassette("critical", down)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_directories_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        for bad in ["Bad", "1x", "a-b", ""] {
            assert!(matches!(
                new_plugin(bad, Lang::Rust, dir.path()),
                Err(ScaffoldError::Name(_))
            ));
        }
        let files = new_plugin("ok_check", Lang::Python, dir.path()).unwrap();
        assert!(files.contains(&PathBuf::from("app.py")), "{files:?}");
        assert!(files.contains(&PathBuf::from("wit/check.wit")), "{files:?}");
        assert!(
            files.contains(&PathBuf::from("checks.d/ok_check.toml")),
            "{files:?}"
        );
        let app = std::fs::read_to_string(dir.path().join("app.py")).unwrap();
        assert!(app.contains("name=\"ok_check\""));
        assert!(matches!(
            new_plugin("again", Lang::Js, dir.path()),
            Err(ScaffoldError::Exists(_))
        ));
    }
}
