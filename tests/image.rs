//! The container image (`scripts/build-image`: buildah, FROM scratch), inspected
//! with skopeo, unpacked with umoci and run with runc as user 65532 on a
//! read-only root filesystem: `validate`, a `run` against a real etcd, `serve`
//! answering `/healthz`, `/readyz` and `/metrics`, the plugins loading
//! precompiled (no cold compile), and in-cluster mode against the fixture
//! Kubernetes API with a service-account token mounted where pods have it,
//! under the RBAC that `vitals rbac` prints.
//!
//! The Helm chart's pods run too, as `helm template` renders them (args, user,
//! ConfigMap, emptyDirs with the kubelet's modes, hostPath): `serve` answers its
//! probes and `/metrics`, compiles a plugin of its own into the emptyDir's cache,
//! and the CronJob's `vitals run` pushes to a real Pushgateway.
//!
//! Needs root, buildah, skopeo, umoci and runc (scripts/install-deps installs
//! them); where they cannot run, the test says so and does nothing.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{Value, json};
use support::etcd::EtcdCluster;
use support::kubernetes::ApiServer;
use support::process::{eventually, free_port, get, spawn_quiet};
use support::tools::helm_path;
use support::vitals::{plugin_wasm, root, target_dir, toml_list, vitals_bin};

/// Why containers cannot run here, if they cannot.
fn unavailable() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("runc needs root here".into());
    }
    for tool in ["buildah", "skopeo", "umoci", "runc"] {
        let ok = Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            return Some(format!("{tool} is not installed (scripts/install-deps)"));
        }
    }
    None
}

macro_rules! require_containers {
    () => {
        if let Some(why) = unavailable() {
            eprintln!("SKIPPED: containers cannot run here: {why}");
            return;
        }
    };
}

fn image_dir() -> PathBuf {
    target_dir().join("image-test")
}

/// Build the image once per test process, from the binary under test.
fn image() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let out = Command::new(root().join("scripts/build-image"))
            .env("VITALS_BIN", vitals_bin())
            .env("VITALS_IMAGE_DIR", image_dir())
            .env("VITALS_IMAGE", "vitals:test")
            .env("VITALS_CACHE_DIR", target_dir().join("test-cache"))
            .output()
            .expect("running scripts/build-image");
        assert!(out.status.success(), "build-image failed:\n{}", text(&out));
        image_dir().join("oci")
    })
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A container: an unpacked bundle whose config.json runs `args` as the
/// image's user on a read-only root, sharing the host's network (the test's
/// servers are on loopback), with the compile cache on a tmpfs owned by 65532.
struct Container {
    id: String,
    bundle: tempfile::TempDir,
    config: Value,
}

impl Container {
    fn new(args: &[&str]) -> Container {
        let bundle = tempfile::tempdir().unwrap();
        let dir = bundle.path().join("b");
        let out = Command::new("umoci")
            .args(["unpack", "--image"])
            .arg(format!("{}:test", image().display()))
            .arg(&dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "umoci unpack: {}", text(&out));
        let mut config: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap())
                .unwrap();
        let image_args = config["process"]["args"].as_array().unwrap().clone();
        assert_eq!(image_args[0], "/usr/bin/vitals", "the entrypoint");
        let mut process_args = vec![json!("/usr/bin/vitals")];
        process_args.extend(args.iter().map(|a| json!(a)));
        config["process"]["args"] = json!(process_args);
        config["process"]["terminal"] = json!(false);
        config["process"]["noNewPrivileges"] = json!(true);
        config["process"]["capabilities"] = json!({"bounding": [], "effective": [], "inheritable": [], "permitted": [], "ambient": []});
        config["root"]["readonly"] = json!(true);
        let namespaces: Vec<Value> = config["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["type"] != "network")
            .cloned()
            .collect();
        config["linux"]["namespaces"] = json!(namespaces);
        config["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/var/cache/vitals", "type": "tmpfs", "source": "tmpfs",
            "options": ["nosuid", "nodev", "mode=0700", "uid=65532", "gid=65532"]
        }));
        let id = format!(
            "vitals-test-{}-{}",
            std::process::id(),
            bundle_id(bundle.path())
        );
        Container { id, bundle, config }
    }

    /// Bind-mount a host path read-only.
    fn mount(self, host: &Path, at: &str) -> Self {
        self.bind(host, at, true)
    }

    fn bind(mut self, host: &Path, at: &str, read_only: bool) -> Self {
        let mounts = self.config["mounts"].as_array_mut().unwrap();
        mounts.retain(|m| m["destination"] != at);
        mounts.push(json!({
            "destination": at, "type": "bind", "source": host,
            "options": ["rbind", if read_only { "ro" } else { "rw" }]
        }));
        self
    }

    fn user(mut self, uid: u64, gid: u64, additional: &[u64]) -> Self {
        self.config["process"]["user"] =
            json!({"uid": uid, "gid": gid, "additionalGids": additional});
        self
    }

    fn env(mut self, name: &str, value: &str) -> Self {
        let env = self.config["process"]["env"].as_array_mut().unwrap();
        env.retain(|e| !e.as_str().unwrap().starts_with(&format!("{name}=")));
        env.push(json!(format!("{name}={value}")));
        self
    }

    fn write_config(&self) -> PathBuf {
        let dir = self.bundle.path().join("b");
        std::fs::write(
            dir.join("config.json"),
            serde_json::to_string_pretty(&self.config).unwrap(),
        )
        .unwrap();
        dir
    }

    /// Run to completion.
    fn run(self) -> Output {
        let dir = self.write_config();
        let out = Command::new("runc")
            .args(["run", "--bundle"])
            .arg(&dir)
            .arg(&self.id)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let _ = Command::new("runc")
            .args(["delete", "--force", &self.id])
            .output();
        out
    }

    /// Start in the background; stopped (SIGTERM) and deleted on drop.
    fn start(self) -> Running {
        let dir = self.write_config();
        let log = self.bundle.path().join("log");
        let child = Command::new("runc")
            .args(["run", "--bundle"])
            .arg(&dir)
            .arg(&self.id)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::options().append(true).open(&log).unwrap())
            .spawn()
            .unwrap();
        Running {
            container: self,
            child,
            log,
        }
    }
}

/// A distinct suffix per container (its bundle's temp name).
fn bundle_id(p: &Path) -> String {
    p.file_name()
        .unwrap()
        .to_string_lossy()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

struct Running {
    container: Container,
    child: std::process::Child,
    log: PathBuf,
}

impl Running {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, then the exit code.
    fn stop(&mut self) -> Option<i32> {
        let _ = Command::new("runc")
            .args(["kill", &self.container.id, "TERM"])
            .output();
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = Command::new("runc")
            .args(["kill", &self.container.id, "KILL"])
            .output();
        let _ = self.child.wait();
        let _ = Command::new("runc")
            .args(["delete", "--force", &self.container.id])
            .output();
    }
}

/// A configuration directory for the container, its plugins those of the image.
fn config_dir(main: &str, checks: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("vitals.toml"),
        format!("plugin_dir = \"/usr/lib/vitals/plugins\"\n{main}"),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("checks.d")).unwrap();
    for (name, toml) in checks {
        std::fs::write(dir.path().join(format!("checks.d/{name}.toml")), toml).unwrap();
    }
    // The container's user reads it.
    for p in [dir.path().to_path_buf(), dir.path().join("checks.d")] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

/// GET a URL: its status and body, or `None` while nothing answers.
fn http_get(url: &str) -> Option<(u16, String)> {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let mut r = agent.get(url).call().ok()?;
    Some((
        r.status().as_u16(),
        r.body_mut().read_to_string().unwrap_or_default(),
    ))
}

const ETCD_CHECK: &str = "plugin = \"etcd\"\n[grants]\nendpoints = [\"etcd\"]\n";

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(out)))
}

#[test]
fn the_image_is_minimal_non_root_and_runs_checks_warm_on_a_read_only_root() {
    require_containers!();
    let layout = image();
    let inspect = Command::new("skopeo")
        .args(["inspect", "--config"])
        .arg(format!("oci:{}:test", layout.display()))
        .output()
        .unwrap();
    assert!(inspect.status.success(), "{}", text(&inspect));
    let cfg = json_of(&inspect);
    assert_eq!(cfg["config"]["User"], "65532:65532", "{cfg}");
    assert_eq!(cfg["config"]["Entrypoint"], json!(["/usr/bin/vitals"]));
    let env = cfg["config"]["Env"].to_string();
    assert!(
        env.contains("VITALS_PRECOMPILED_DIR=/usr/lib/vitals/precompiled"),
        "{env}"
    );
    assert!(
        cfg["config"]["ExposedPorts"]["9927/tcp"].is_object(),
        "{cfg}"
    );

    // Every plugin of the image loads from its precompiled code: nothing compiles
    // on a pod's first run (Python and JavaScript plugins take seconds and
    // hundreds of MB cold).
    let plugins: Vec<(String, String)> = std::fs::read_dir(target_dir().join("plugins"))
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let name = name.strip_suffix(".wasm")?.to_string();
            // The parameters a plugin requires (the conditions check's resource,
            // the backups check's source, the dns check's names).
            let required = match name.as_str() {
                "conditions" => "[params]\napi_version = \"v1\"\nresource = \"pods\"\n",
                "backups" => "[params]\nsource = \"velero\"\n",
                "dns" => {
                    "[params]\nnames = [{ name = \"kubernetes.default.svc.cluster.local\" }]\n"
                }
                _ => "",
            };
            (!name.starts_with("test_")).then(|| {
                (
                    name.clone(),
                    format!("plugin = \"{name}\"\nenabled = false\n{required}"),
                )
            })
        })
        .collect();
    assert!(plugins.len() >= 8, "{plugins:?}");
    let checks: Vec<(&str, &str)> = plugins
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let cfg = config_dir("[clusters.none]\n", &checks);
    let out = Container::new(&["list", "--format", "json"])
        .mount(cfg.path(), "/etc/vitals")
        .run();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let listed = json_of(&out);
    for check in listed["checks"].as_array().unwrap() {
        let plugin = &check["plugin"];
        assert_eq!(
            plugin["compiled_from_cache"], true,
            "{} compiled cold in the container: {plugin}",
            check["check"]
        );
    }
    // Without the precompiled directory the same plugin compiles (into the
    // writable cache): the flag above is not always true.
    let etcd_only = config_dir("[clusters.none]\n", &[("etcd", "plugin = \"etcd\"\n")]);
    let out = Container::new(&["list", "--format", "json"])
        .mount(etcd_only.path(), "/etc/vitals")
        .env("VITALS_PRECOMPILED_DIR", "")
        .run();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        json_of(&out)["checks"][0]["plugin"]["compiled_from_cache"],
        false
    );

    // validate, and a run against a real etcd on the host's loopback.
    let etcd = EtcdCluster::start(1, None, None).unwrap();
    let main = format!(
        "[clusters.local.endpoints.etcd]\nkind = \"http\"\nurls = {}\n",
        toml_list(&etcd.client_urls())
    );
    let cfg = config_dir(&main, &[("etcd", ETCD_CHECK)]);
    let out = Container::new(&["validate"])
        .mount(cfg.path(), "/etc/vitals")
        .run();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("configuration ok: 1 checks"),
        "{}",
        text(&out)
    );
    let out = Container::new(&["run", "--format", "json"])
        .mount(cfg.path(), "/etc/vitals")
        .run();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        json_of(&out)["results"][0]["status"],
        "ok",
        "{}",
        text(&out)
    );

    // The root filesystem is read-only: a report can go to the cache volume,
    // not elsewhere.
    for (path, code, says) in [
        ("/var/cache/vitals/r.xml", 0, ""),
        ("/usr/lib/vitals/r.xml", 73, "Read-only file system"),
    ] {
        let out = Container::new(&["run", "--format", "junit", "--output", path])
            .mount(cfg.path(), "/etc/vitals")
            .run();
        assert_eq!(out.status.code(), Some(code), "{path}: {}", text(&out));
        assert!(out.stdout.is_empty(), "no report on stdout: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{}",
            text(&out)
        );
    }

    // serve: /healthz, /readyz and /metrics answer; SIGTERM stops it with 0.
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut served = Container::new(&["serve", "--listen", &listen])
        .mount(cfg.path(), "/etc/vitals")
        .start();
    let get = |path: &str| http_get(&format!("http://{listen}{path}"));
    eventually(
        Duration::from_secs(60),
        Duration::from_millis(200),
        || match get("/readyz") {
            Some((200, _)) => Ok(()),
            other => Err(format!("not ready: {other:?}\n{}", served.log())),
        },
    );
    assert_eq!(get("/healthz").unwrap(), (200, "ok\n".to_string()));
    let (code, metrics) = get("/metrics").unwrap();
    assert_eq!(code, 200);
    assert!(
        metrics.contains("vitals_check_status{check=\"etcd\",cluster=\"local\"} 0"),
        "{metrics}"
    );
    assert_eq!(served.stop(), Some(0), "{}", served.log());
}

#[test]
fn in_cluster_the_node_check_passes_with_the_mounted_service_account_under_generated_rbac() {
    require_containers!();
    image();
    let api = ApiServer::start(ApiServer::rke2_cilium());
    // Where a pod has its service account: token, CA and namespace.
    let sa = tempfile::tempdir().unwrap();
    std::fs::write(sa.path().join("token"), api.token()).unwrap();
    std::fs::copy(api.ca_file(), sa.path().join("ca.crt")).unwrap();
    std::fs::write(sa.path().join("namespace"), "vitals").unwrap();
    for f in ["token", "ca.crt", "namespace"] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(sa.path().join(f), std::fs::Permissions::from_mode(0o644))
            .unwrap();
    }
    let node = std::fs::read_to_string(root().join("checks.d/node.toml")).unwrap();
    let cfg = config_dir(
        "[clusters.rke2.endpoints.kubernetes]\nkind = \"kubernetes\"\nin_cluster = true\n",
        &[("node", &node)],
    );
    let port = api.url().rsplit(':').next().unwrap().to_string();

    // The RBAC the configuration needs, printed by the image's own vitals.
    let in_cluster = |c: Container| {
        c.mount(cfg.path(), "/etc/vitals")
            .mount(sa.path(), "/var/run/secrets/kubernetes.io/serviceaccount")
            .env("KUBERNETES_SERVICE_HOST", "127.0.0.1")
            .env("KUBERNETES_SERVICE_PORT", &port)
    };
    let out = in_cluster(Container::new(&["rbac", "--namespace", "vitals"])).run();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let rbac = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        rbac.contains("- nodes") && rbac.contains("- leases"),
        "{rbac}"
    );
    api.enforce_rbac(&rbac);

    let out = in_cluster(Container::new(&["run", "--format", "json"])).run();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let result = &json_of(&out)["results"][0];
    assert_eq!(result["check"], "node");
    assert_eq!(result["status"], "ok", "{result}");
    assert_eq!(api.forbidden(), Vec::<String>::new());
    assert!(
        api.requests()
            .iter()
            .any(|r| r.starts_with("/api/v1/nodes")),
        "{:?}",
        api.requests()
    );
}

// ---------------------------------------------------------------------------
// The chart's pods

const CHART: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/helm/vitals");

/// `helm template` of the chart: its objects.
fn chart(args: &[&str]) -> Vec<Value> {
    let out = Command::new(helm_path())
        .args(["template", "vitals", CHART, "--namespace", "monitoring"])
        .args(args)
        .output()
        .expect("helm (scripts/install-deps)");
    assert!(out.status.success(), "helm template: {}", text(&out));
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(&String::from_utf8_lossy(&out.stdout)).unwrap();
    docs.into_iter().filter(Value::is_object).collect()
}

fn object<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} rendered"))
}

/// The `vitals` container of a rendered workload's pod, as the kubelet would
/// start it here: its args and user, read-only root when it says so, each volume
/// laid out under `volumes` (a ConfigMap's items as files of mode 0644, an
/// emptyDir as the kubelet makes one: root's, mode 2777, group fsGroup, a
/// hostPath as it is). Returns the container and its port by name.
fn pod_container(objects: &[Value], pod: &Value, volumes: &Path) -> (Container, Option<u16>) {
    use std::os::unix::fs::{PermissionsExt, chown};
    let c = pod["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "vitals")
        .expect("the vitals container");
    assert!(c["command"].is_null(), "the image's entrypoint runs");
    let args: Vec<&str> = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let psc = &pod["securityContext"];
    let sc = &c["securityContext"];
    let id = |field: &str| sc[field].as_u64().or(psc[field].as_u64());
    let (uid, gid) = (id("runAsUser").unwrap(), id("runAsGroup").unwrap());
    let fs_group = psc["fsGroup"].as_u64();
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    let mut container =
        Container::new(&args).user(uid, gid, &fs_group.into_iter().collect::<Vec<_>>());
    for m in c["volumeMounts"].as_array().unwrap() {
        let name = m["name"].as_str().unwrap();
        let volume = pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("no volume {name}"));
        let dir = volumes.join(name);
        let source = if let Some(cm) = volume.get("configMap") {
            let data = &objects
                .iter()
                .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == cm["name"])
                .expect("the ConfigMap")["data"];
            for item in cm["items"].as_array().unwrap() {
                let file = dir.join(item["path"].as_str().unwrap());
                std::fs::create_dir_all(file.parent().unwrap()).unwrap();
                std::fs::write(&file, data[item["key"].as_str().unwrap()].as_str().unwrap())
                    .unwrap();
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
            }
            for d in [dir.clone(), dir.join("checks.d")] {
                if d.exists() {
                    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
                }
            }
            dir
        } else if volume.get("emptyDir").is_some() {
            std::fs::create_dir_all(&dir).unwrap();
            chown(&dir, Some(0), fs_group.map(|g| g as u32)).unwrap();
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o2777)).unwrap();
            dir
        } else if let Some(path) = volume["hostPath"]["path"].as_str() {
            PathBuf::from(path)
        } else {
            panic!("volume kind not emulated: {volume}");
        };
        container = container.bind(
            &source,
            m["mountPath"].as_str().unwrap(),
            m["readOnly"] == true,
        );
    }
    for e in c["env"].as_array().into_iter().flatten() {
        if let Some(v) = e["value"].as_str() {
            container = container.env(e["name"].as_str().unwrap(), v);
        }
    }
    let port = c["ports"]
        .as_array()
        .and_then(|p| p.first())
        .and_then(|p| p["containerPort"].as_u64())
        .map(|p| p as u16);
    (container, port)
}

#[test]
fn the_charts_serve_and_cronjob_pods_run_in_the_image_as_rendered() {
    require_containers!();
    image();
    let etcd = EtcdCluster::start(1, None, None).unwrap();
    let gw_port = free_port();
    let _gw = spawn_quiet(
        Command::new("prometheus-pushgateway")
            .arg(format!("--web.listen-address=127.0.0.1:{gw_port}")),
    );
    let gw = format!("http://127.0.0.1:{gw_port}");
    get(&format!("{gw}/-/ready"));
    // A plugin of the operator's own, not precompiled in the image, on a hostPath.
    let extra = tempfile::tempdir().unwrap();
    std::fs::copy(plugin_wasm("test_chaos"), extra.path().join("chaos.wasm")).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(extra.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(
            extra.path().join("chaos.wasm"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
    }
    let port = free_port();
    let values_dir = tempfile::tempdir().unwrap();
    let values = values_dir.path().join("values.yaml");
    std::fs::write(
        &values,
        format!(
            "serve:\n  port: {port}\n\
             config:\n  clusterName: local\n  vitalsToml: |\n    [clusters.local.endpoints.etcd]\n    kind = \"http\"\n    urls = {urls}\n\
             \x20 checks:\n    node.toml: null\n    workloads.toml: null\n\
             \x20   etcd.toml: |\n      plugin = \"etcd\"\n      [grants]\n      endpoints = [\"etcd\"]\n\
             \x20   chaos.toml: |\n      plugin = \"/opt/vitals-extra/chaos.wasm\"\n      [params]\n      mode = \"ok\"\n\
             extraVolumes:\n  - name: extra\n    hostPath: {{path: {extra}, type: Directory}}\n\
             extraVolumeMounts:\n  - name: extra\n    mountPath: /opt/vitals-extra\n    readOnly: true\n\
             cronjob:\n  pushgateway:\n    url: {gw}\n",
            urls = toml_list(&etcd.client_urls()),
            extra = extra.path().display(),
        ),
    )
    .unwrap();
    let values = values.to_str().unwrap();

    // serve: the Deployment's pod answers its probes and /metrics.
    let objects = chart(&["-f", values]);
    let pod = &object(&objects, "Deployment")["spec"]["template"]["spec"];
    let volumes = tempfile::tempdir().unwrap();
    let (container, container_port) = pod_container(&objects, pod, volumes.path());
    assert_eq!(container_port, Some(port));
    let mut served = container.start();
    let http = |path: &str| http_get(&format!("http://127.0.0.1:{port}{path}"));
    let vitals = &pod["containers"][0];
    for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
        let path = vitals[probe]["httpGet"]["path"].as_str().unwrap();
        assert_eq!(vitals[probe]["httpGet"]["port"], "http-metrics");
        eventually(
            Duration::from_secs(60),
            Duration::from_millis(200),
            || match http(path) {
                Some((200, _)) => Ok(()),
                other => Err(format!("{probe} {path}: {other:?}\n{}", served.log())),
            },
        );
    }
    let (_, metrics) = http("/metrics").unwrap();
    for check in ["etcd", "chaos"] {
        assert!(
            metrics.contains(&format!(
                "vitals_check_status{{check=\"{check}\",cluster=\"local\"}} 0"
            )),
            "{check}: {metrics}"
        );
    }
    assert_eq!(served.stop(), Some(0), "{}", served.log());
    // The plugin of its own was compiled into a private cache inside the emptyDir
    // (which is group-writable, so never a cache itself).
    let cache = volumes.path().join("cache/compiled");
    let entries: Vec<_> = std::fs::read_dir(&cache)
        .unwrap_or_else(|e| panic!("{}: {e}\n{}", cache.display(), served.log()))
        .flatten()
        .collect();
    // One compiled plugin, and the digests remembered for warm runs.
    let compiled = entries
        .iter()
        .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
        .count();
    assert_eq!(compiled, 1, "{entries:?}");
    assert!(
        entries
            .iter()
            .all(|e| e.path().extension().is_some_and(|x| x == "cwasm")
                || e.file_name() == "digests"),
        "{entries:?}"
    );
    {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(&cache).unwrap();
        assert_eq!((meta.uid(), meta.mode() & 0o777), (65532, 0o700));
    }
    assert!(!served.log().contains("WARN"), "{}", served.log());

    // cronjob: the CronJob's pod runs once, pushes to the Pushgateway and writes
    // its JUnit report to the output volume.
    let objects = chart(&[
        "-f",
        values,
        "--set",
        "mode=cronjob",
        "--set",
        "cronjob.format=junit",
        "--set",
        "cronjob.output.enabled=true",
    ]);
    let pod = &object(&objects, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    let volumes = tempfile::tempdir().unwrap();
    let (container, _) = pod_container(&objects, pod, volumes.path());
    let out = container.run();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report = std::fs::read_to_string(volumes.path().join("output/vitals-report.xml"))
        .unwrap_or_else(|e| panic!("the JUnit report: {e}\n{}", text(&out)));
    assert!(
        report.contains("<testsuite name=\"local\"") && report.contains("name=\"etcd\""),
        "{report}"
    );
    let pushed = get(&format!("{gw}/metrics"));
    for check in ["etcd", "chaos"] {
        let line = pushed
            .lines()
            .find(|l| l.starts_with(&format!("vitals_check_status{{check=\"{check}\"")))
            .unwrap_or_else(|| panic!("{check} not pushed:\n{pushed}"));
        assert!(
            line.contains("instance=\"vitals\"")
                && line.contains("job=\"vitals\"")
                && line.ends_with(" 0"),
            "{line}"
        );
    }
}
