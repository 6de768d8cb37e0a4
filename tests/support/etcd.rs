//! Test support: real etcd 3.4 clusters (`/usr/bin/etcd`, `/usr/bin/etcdctl`)
//! on loopback ports, optionally with client TLS (certificates made with rcgen).
//!
//! Everything here is synchronous and `std::process` based, so it can be used
//! from plain `#[test]`s as well as from `#[tokio::test]`s (it blocks the
//! calling thread while waiting).

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};

use super::pki::{new_ca, new_leaf};
use super::process::{free_ports, terminate};
use rcgen::ExtendedKeyUsagePurpose;

const ETCD_BIN: &str = "/usr/bin/etcd";
const ETCDCTL_BIN: &str = "/usr/bin/etcdctl";
/// How long `EtcdCluster::start` waits for every member to report healthy.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// Attempts at starting a cluster when a member loses a race for its port.
const START_ATTEMPTS: usize = 3;

// ---------------------------------------------------------------------------
// TLS material
// ---------------------------------------------------------------------------

/// PEM files for a client-cert-authenticated etcd: a CA, a server cert/key
/// (SANs `127.0.0.1` and `localhost`) and a client cert/key signed by it, plus
/// an unrelated CA (`wrong_ca_file`) for negative tests.
#[derive(Debug, Clone)]
pub struct Tls {
    pub ca_file: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    pub wrong_ca_file: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

impl Tls {
    /// Generate all certificates and keys (ECDSA P-256) as PEM files in `dir`.
    pub fn generate(dir: &Path) -> Result<Tls> {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;

        let (ca_pem, ca_issuer) = new_ca("vitals test CA")?;
        let (wrong_ca_pem, _) = new_ca("vitals unrelated (wrong) CA")?;

        // The server cert also carries the client-auth EKU: etcd's HTTP/JSON
        // gRPC gateway dials the member's own gRPC port presenting the server
        // certificate, which `--client-cert-auth` then verifies as a client.
        let (server_cert, server_key) = new_leaf(
            &ca_issuer,
            "etcd-server",
            vec!["127.0.0.1".into(), "localhost".into()],
            &[
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ],
        )?;
        let (client_cert, client_key) = new_leaf(
            &ca_issuer,
            "vitals-client",
            Vec::new(),
            &[ExtendedKeyUsagePurpose::ClientAuth],
        )?;

        let tls = Tls {
            ca_file: dir.join("ca.pem"),
            client_cert: dir.join("client.pem"),
            client_key: dir.join("client-key.pem"),
            wrong_ca_file: dir.join("wrong-ca.pem"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server-key.pem"),
        };
        for (path, pem) in [
            (&tls.ca_file, &ca_pem),
            (&tls.client_cert, &client_cert),
            (&tls.client_key, &client_key),
            (&tls.wrong_ca_file, &wrong_ca_pem),
            (&tls.server_cert, &server_cert),
            (&tls.server_key, &server_key),
        ] {
            fs::write(path, pem).with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(tls)
    }

    /// TLS flags for `etcdctl`.
    fn etcdctl_args(&self) -> Vec<String> {
        vec![
            format!("--cacert={}", self.ca_file.display()),
            format!("--cert={}", self.client_cert.display()),
            format!("--key={}", self.client_key.display()),
        ]
    }
}

// ---------------------------------------------------------------------------
// Ports
// ---------------------------------------------------------------------------

// ---------------------------------------------------------------------------
// Cluster
// ---------------------------------------------------------------------------

struct Member {
    name: String,
    client_url: String,
    log_file: PathBuf,
    /// The command line it was started with, to start it again.
    args: Vec<std::ffi::OsString>,
    child: Option<Child>,
}

/// Start one etcd member with `args`, its output to `log`.
fn spawn_member(args: &[std::ffi::OsString], log: File) -> Result<Child> {
    let mut cmd = Command::new(ETCD_BIN);
    scrub_env(&mut cmd);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    cmd.spawn().with_context(|| format!("spawning {ETCD_BIN}"))
}

/// A running etcd cluster; all members are killed when it is dropped.
pub struct EtcdCluster {
    members: Vec<Member>,
    tls: Option<Tls>,
    // Declared last: dropped after the children are gone (see `Drop`).
    dir: tempfile::TempDir,
}

impl EtcdCluster {
    /// Start `n` members (names `m1`..`mn`) forming one cluster on free
    /// loopback ports, each with its own data dir in a fresh temp dir.
    ///
    /// With `tls`, client URLs are `https` and require a client certificate
    /// signed by `tls.ca_file` (peer traffic stays plain http). With
    /// `quota_backend_bytes`, `--quota-backend-bytes` is passed.
    ///
    /// Returns once every member reports healthy (`etcdctl endpoint health`),
    /// or fails after ~20 s with the tail of each member's log.
    pub fn start(
        n: usize,
        tls: Option<&Tls>,
        quota_backend_bytes: Option<u64>,
    ) -> Result<EtcdCluster> {
        assert!(n >= 1, "an etcd cluster needs at least one member");
        let mut last_err = None;
        for _ in 0..START_ATTEMPTS {
            match Self::try_start(n, tls, quota_backend_bytes) {
                Ok(cluster) => return Ok(cluster),
                // Another process may have grabbed a port between our release and
                // etcd's bind: retry on fresh ports.
                Err(e) if format!("{e:#}").contains("address already in use") => last_err = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap())
    }

    fn try_start(
        n: usize,
        tls: Option<&Tls>,
        quota_backend_bytes: Option<u64>,
    ) -> Result<EtcdCluster> {
        let dir = tempfile::Builder::new().prefix("vitals-etcd-").tempdir()?;
        let ports = free_ports(2 * n)?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let names: Vec<String> = (1..=n).map(|k| format!("m{k}")).collect();
        let client_urls: Vec<String> = (0..n)
            .map(|i| format!("{scheme}://127.0.0.1:{}", ports[2 * i]))
            .collect();
        let peer_urls: Vec<String> = (0..n)
            .map(|i| format!("http://127.0.0.1:{}", ports[2 * i + 1]))
            .collect();
        let initial_cluster = names
            .iter()
            .zip(&peer_urls)
            .map(|(name, url)| format!("{name}={url}"))
            .collect::<Vec<_>>()
            .join(",");
        let token = unique_token();

        let mut cluster = EtcdCluster {
            members: Vec::new(),
            tls: tls.cloned(),
            dir,
        };
        for i in 0..n {
            let data_dir = cluster.dir.path().join(format!("{}.etcd", names[i]));
            let log_file = cluster.dir.path().join(format!("{}.log", names[i]));
            let log = File::create(&log_file)?;
            let mut cmd = Command::new(ETCD_BIN);
            cmd.arg("--name")
                .arg(&names[i])
                .arg("--data-dir")
                .arg(&data_dir)
                .arg("--listen-client-urls")
                .arg(&client_urls[i])
                .arg("--advertise-client-urls")
                .arg(&client_urls[i])
                .arg("--listen-peer-urls")
                .arg(&peer_urls[i])
                .arg("--initial-advertise-peer-urls")
                .arg(&peer_urls[i])
                .arg("--initial-cluster")
                .arg(&initial_cluster)
                .arg("--initial-cluster-state")
                .arg("new")
                .arg("--initial-cluster-token")
                .arg(&token)
                .arg("--heartbeat-interval")
                .arg("50")
                .arg("--election-timeout")
                .arg("500")
                .arg("--logger")
                .arg("zap")
                .arg("--log-outputs")
                .arg("stderr");
            if let Some(tls) = tls {
                cmd.arg("--cert-file")
                    .arg(&tls.server_cert)
                    .arg("--key-file")
                    .arg(&tls.server_key)
                    .arg("--trusted-ca-file")
                    .arg(&tls.ca_file)
                    .arg("--client-cert-auth");
            }
            if let Some(q) = quota_backend_bytes {
                cmd.arg("--quota-backend-bytes").arg(q.to_string());
            }
            let args: Vec<std::ffi::OsString> = cmd.get_args().map(|a| a.to_owned()).collect();
            let child = spawn_member(&args, log)?;
            cluster.members.push(Member {
                name: names[i].clone(),
                client_url: client_urls[i].clone(),
                log_file,
                args,
                child: Some(child),
            });
        }
        cluster.wait_healthy(START_TIMEOUT)?;
        Ok(cluster)
    }

    fn wait_healthy(&mut self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let endpoints = self.client_urls().join(",");
        loop {
            let mut exited = None;
            for m in &mut self.members {
                if let Some(child) = m.child.as_mut()
                    && let Some(status) = child.try_wait()?
                {
                    m.child = None;
                    exited = Some(format!(
                        "etcd member {} exited during startup ({status})",
                        m.name
                    ));
                    break;
                }
            }
            if let Some(msg) = exited {
                return Err(anyhow!("{}", self.logs_tail(40))).context(msg);
            }
            // etcdctl's gRPC client backs off ~1 s after a refused connection, so
            // only ask it once every member accepts TCP connections.
            if !self.all_listening() {
                if Instant::now() >= deadline {
                    return Err(anyhow!("{}", self.logs_tail(40)))
                        .context(format!("etcd client ports not listening after {timeout:?}"));
                }
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            let out = self.etcdctl_raw(
                &[
                    "endpoint",
                    "health",
                    "--dial-timeout=1s",
                    "--command-timeout=1s",
                ],
                Some(&endpoints),
                None,
            )?;
            if out.status.success() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let msg = format!(
                    "etcd cluster not healthy after {timeout:?}; last `etcdctl endpoint health`:\n{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
                return Err(anyhow!("{}", self.logs_tail(40))).context(msg);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn all_listening(&self) -> bool {
        self.members.iter().all(|m| {
            let addr = m.client_url.rsplit('/').next().unwrap_or_default();
            addr.parse::<SocketAddr>()
                .is_ok_and(|a| TcpStream::connect_timeout(&a, Duration::from_millis(200)).is_ok())
        })
    }

    /// Client URLs of all members (killed ones included), in member order.
    pub fn client_urls(&self) -> Vec<String> {
        self.members.iter().map(|m| m.client_url.clone()).collect()
    }

    /// Name of member `i` (0-based): `m1`, `m2`, ...
    pub fn member_name(&self, i: usize) -> String {
        self.members[i].name.clone()
    }

    /// Directory holding data dirs and logs (`mK.log`) of the members.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Stop member `i` (0-based) as an operator would, with SIGTERM, and wait for
    /// it to exit. No-op if it is not running.
    pub fn stop(&mut self, i: usize) {
        if let Some(child) = self.members[i].child.take() {
            terminate(child);
        }
    }

    /// Start member `i` again with its data directory and flags, and wait until
    /// every member is healthy.
    pub fn restart(&mut self, i: usize) -> Result<()> {
        let m = &mut self.members[i];
        if m.child.is_none() {
            let log = File::options().append(true).open(&m.log_file)?;
            m.child = Some(spawn_member(&m.args, log)?);
        }
        self.wait_healthy(START_TIMEOUT)
    }

    /// SIGKILL member `i` (0-based) and reap it. No-op if already killed.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.members[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Put large values until etcd refuses with "database space exceeded",
    /// then wait until `etcdctl alarm list` shows the NOSPACE alarm.
    /// Needs a cluster started with a small `quota_backend_bytes`.
    pub fn fill_until_nospace(&self) -> Result<()> {
        const MAX_PUTS: usize = 3000;
        let endpoints = self.live_endpoints();
        let value: Vec<u8> = (0..80 * 1024).map(|i| b'a' + (i % 26) as u8).collect();
        let mut refused = false;
        for k in 0..MAX_PUTS {
            let key = format!("/vitals-test/fill/{k:06}");
            let out = self.etcdctl_raw(&["put", &key], Some(&endpoints), Some(&value))?;
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            if text.contains("database space exceeded") {
                refused = true;
                break;
            }
            if !out.status.success() {
                bail!("etcdctl put {key} failed unexpectedly: {text}");
            }
        }
        if !refused {
            bail!(
                "etcd still accepted writes after {MAX_PUTS} puts of {} bytes",
                value.len()
            );
        }
        // The alarm is raised through a raft proposal after the refusal; poll.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let out = self.etcdctl_raw(&["alarm", "list"], Some(&endpoints), None)?;
            let stdout = String::from_utf8_lossy(&out.stdout);
            if out.status.success() && stdout.contains("NOSPACE") {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "put refused with 'database space exceeded' but `etcdctl alarm list` shows no NOSPACE: {stdout}{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Wait (up to 10 s) until every live member follows the same leader and that
    /// leader is alive: the state after an election has settled.
    pub fn wait_for_stable_leader(&self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let out = self.etcdctl(&["endpoint", "status", "--write-out=json"])?;
            if let Ok(list) = serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout) {
                let alive = self.members.iter().filter(|m| m.child.is_some()).count();
                let ids: Vec<u64> = list
                    .iter()
                    .filter_map(|e| e["Status"]["header"]["member_id"].as_u64())
                    .collect();
                let leaders: Vec<u64> = list
                    .iter()
                    .filter_map(|e| e["Status"]["leader"].as_u64())
                    .collect();
                if list.len() == alive
                    && leaders.len() == alive
                    && leaders.iter().all(|l| *l != 0 && *l == leaders[0])
                    && ids.contains(&leaders[0])
                {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                bail!("no stable leader after 10 s:\n{}", self.logs_tail(20));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Run `etcdctl` (API v3, TLS flags when needed) against the live members.
    /// Returns the output whatever the exit status.
    pub fn etcdctl(&self, args: &[&str]) -> Result<Output> {
        self.etcdctl_raw(args, Some(&self.live_endpoints()), None)
    }

    fn live_endpoints(&self) -> String {
        self.members
            .iter()
            .filter(|m| m.child.is_some())
            .map(|m| m.client_url.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    fn etcdctl_raw(
        &self,
        args: &[&str],
        endpoints: Option<&str>,
        stdin: Option<&[u8]>,
    ) -> Result<Output> {
        let mut cmd = Command::new(ETCDCTL_BIN);
        scrub_env(&mut cmd);
        cmd.env("ETCDCTL_API", "3");
        if let Some(ep) = endpoints {
            cmd.arg(format!("--endpoints={ep}"));
        }
        if let Some(tls) = &self.tls {
            cmd.args(tls.etcdctl_args());
        }
        cmd.args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .with_context(|| format!("spawning {ETCDCTL_BIN}"))?;
        if let Some(data) = stdin {
            let mut pipe = child.stdin.take().unwrap();
            pipe.write_all(data).context("writing etcdctl stdin")?;
        }
        child.wait_with_output().context("waiting for etcdctl")
    }

    /// The last `lines` lines of every member's log, for error messages.
    pub fn logs_tail(&self, lines: usize) -> String {
        let mut s = String::new();
        for m in &self.members {
            s.push_str(&format!(
                "----- {} ({}) -----\n",
                m.name,
                m.log_file.display()
            ));
            s.push_str(&tail(&m.log_file, lines));
            s.push('\n');
        }
        s
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for i in 0..self.members.len() {
            self.kill(i);
        }
    }
}

/// Keep inherited `ETCD_*` / `ETCDCTL_*` variables from configuring our processes.
fn scrub_env(cmd: &mut Command) {
    for (k, _) in std::env::vars_os() {
        if let Some(k) = k.to_str()
            && (k.starts_with("ETCD_") || k.starts_with("ETCDCTL_"))
        {
            cmd.env_remove(k);
        }
    }
}

fn unique_token() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "vitals-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn tail(path: &Path, lines: usize) -> String {
    let Ok(mut f) = File::open(path) else {
        return "(no log)".into();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
