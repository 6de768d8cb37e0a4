//! Test support: a real Redis Sentinel topology (Debian's `redis-server` and
//! `redis-sentinel`): a master, two replicas and three sentinels on loopback ports,
//! with short `down-after-milliseconds` and `failover-timeout`, optionally
//! password-protected, with an ACL user, or TLS-only with client certificates.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::etcd::Tls;
use super::process::{eventually, free_ports};

/// The master name the sentinels monitor.
pub const MASTER: &str = "mymaster";
/// `failover-timeout` of the sentinels, in milliseconds.
pub const FAILOVER_TIMEOUT_MS: u64 = 10_000;

/// A running topology; every process is killed when dropped.
pub struct Topology {
    /// Data node ports: [master, replica, replica] at start.
    pub node_ports: Vec<u16>,
    pub sentinel_ports: Vec<u16>,
    pub password: Option<String>,
    /// With TLS, every port is a TLS port and clients must present a certificate.
    pub tls: Option<Tls>,
    nodes: Vec<Option<Child>>,
    sentinels: Vec<Option<Child>>,
    dir: tempfile::TempDir,
}

fn wait_until(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    eventually(timeout, Duration::from_millis(100), || {
        ok().then_some(()).ok_or(format!("waiting for {what}"))
    })
}

impl Topology {
    /// Start the nodes, wait for replication, start the sentinels and wait until
    /// each knows both replicas and the two other sentinels.
    pub fn start(password: Option<&str>) -> Topology {
        Self::start_with(password, None)
    }

    /// Like [`Topology::start`]; with `tls`, TLS only (mutual, `tls-replication`).
    pub fn start_with(password: Option<&str>, tls: Option<Tls>) -> Topology {
        let ports = free_ports(6).expect("free ports");
        let mut t = Topology {
            node_ports: ports[..3].to_vec(),
            sentinel_ports: ports[3..].to_vec(),
            password: password.map(String::from),
            tls,
            nodes: Vec::new(),
            sentinels: Vec::new(),
            dir: tempfile::tempdir().unwrap(),
        };
        for i in 0..3 {
            let child = t.spawn_node(i);
            t.nodes.push(Some(child));
        }
        for &port in &t.node_ports[1..] {
            wait_until("replication link up", Duration::from_secs(30), || {
                t.cli(port, &["INFO", "replication"])
                    .contains("master_link_status:up")
            });
        }
        for i in 0..3 {
            let child = t.spawn_sentinel(i);
            t.sentinels.push(Some(child));
        }
        for &port in &t.sentinel_ports.clone() {
            wait_until(
                "sentinels to discover replicas and each other",
                Duration::from_secs(60),
                || {
                    let m = t.cli(port, &["SENTINEL", "MASTER", MASTER]);
                    let lines: Vec<&str> = m.lines().collect();
                    let field = |k: &str| {
                        lines
                            .iter()
                            .position(|l| *l == k)
                            .and_then(|i| lines.get(i + 1))
                            .copied()
                            .unwrap_or("")
                    };
                    field("num-slaves") == "2" && field("num-other-sentinels") == "2"
                },
            );
        }
        t
    }

    fn auth_args(&self) -> Vec<String> {
        match &self.password {
            Some(p) => vec![
                "--requirepass".into(),
                p.clone(),
                "--masterauth".into(),
                p.clone(),
            ],
            None => vec![],
        }
    }

    /// Server-side TLS options, as `(name, value)` pairs.
    fn tls_options(&self, port: u16) -> Vec<(String, String)> {
        let Some(tls) = &self.tls else {
            return vec![("port".into(), port.to_string())];
        };
        let path = |p: &std::path::Path| p.display().to_string();
        vec![
            ("port".into(), "0".into()),
            ("tls-port".into(), port.to_string()),
            ("tls-cert-file".into(), path(&tls.server_cert)),
            ("tls-key-file".into(), path(&tls.server_key)),
            ("tls-ca-cert-file".into(), path(&tls.ca_file)),
            ("tls-replication".into(), "yes".into()),
        ]
    }

    fn spawn_node(&self, i: usize) -> Child {
        let port = self.node_ports[i];
        let dir = self.dir.path().join(format!("node{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut cmd = Command::new("redis-server");
        for (k, v) in self.tls_options(port) {
            cmd.arg(format!("--{k}")).arg(v);
        }
        cmd.args(["--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(&dir)
            .args(self.auth_args());
        if i > 0 {
            cmd.args(["--replicaof", "127.0.0.1", &self.node_ports[0].to_string()]);
        }
        self.spawn_answering(&mut cmd, &dir, port)
    }

    /// Start `cmd` with its output in `dir/log` and wait until `port` answers PING.
    fn spawn_answering(&self, cmd: &mut Command, dir: &std::path::Path, port: u16) -> Child {
        let program = cmd.get_program().to_string_lossy().into_owned();
        let child = cmd
            .stdout(std::fs::File::create(dir.join("log")).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("{program} (Debian packages redis-server, redis-sentinel): {e}")
            });
        wait_until(
            &format!("{program} to answer"),
            Duration::from_secs(20),
            || self.cli(port, &["PING"]).contains("PONG"),
        );
        child
    }

    fn spawn_sentinel(&self, i: usize) -> Child {
        let port = self.sentinel_ports[i];
        let dir = self.dir.path().join(format!("sentinel{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("sentinel.conf");
        if !conf.exists() {
            let mut text: String = self
                .tls_options(port)
                .iter()
                .map(|(k, v)| format!("{k} {v}\n"))
                .collect();
            text.push_str(&format!(
                "bind 127.0.0.1\ndir {}\n\
                 sentinel monitor {MASTER} 127.0.0.1 {} 2\n\
                 sentinel down-after-milliseconds {MASTER} 1000\n\
                 sentinel failover-timeout {MASTER} {FAILOVER_TIMEOUT_MS}\n\
                 sentinel parallel-syncs {MASTER} 1\n",
                dir.display(),
                self.node_ports[0]
            ));
            if let Some(p) = &self.password {
                text.push_str(&format!(
                    "sentinel auth-pass {MASTER} {p}\nrequirepass {p}\n"
                ));
            }
            std::fs::write(&conf, text).unwrap();
        }
        self.spawn_answering(Command::new("redis-sentinel").arg(&conf), &dir, port)
    }

    /// `redis-cli -p PORT ARGS...` (with the password when there is one); stdout.
    pub fn cli(&self, port: u16, args: &[&str]) -> String {
        let mut cmd = Command::new("redis-cli");
        cmd.args(["-h", "127.0.0.1", "-p", &port.to_string()]);
        if let Some(tls) = &self.tls {
            cmd.arg("--tls")
                .arg("--cacert")
                .arg(&tls.ca_file)
                .arg("--cert")
                .arg(&tls.client_cert)
                .arg("--key")
                .arg(&tls.client_key);
        }
        if let Some(p) = &self.password {
            cmd.args(["-a", p, "--no-auth-warning"]);
        }
        let out = cmd.args(args).output().expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The master address the sentinel on `port` reports, host:port.
    pub fn master_addr(&self, sentinel: usize) -> String {
        let out = self.cli(
            self.sentinel_ports[sentinel],
            &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER],
        );
        out.lines().collect::<Vec<_>>().join(":")
    }

    fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "rediss"
        } else {
            "redis"
        }
    }

    /// redis:// (rediss:// with TLS) URLs of the sentinels and of the data nodes.
    pub fn sentinel_urls(&self) -> Vec<String> {
        let scheme = self.scheme();
        self.sentinel_ports
            .iter()
            .map(|p| format!("{scheme}://127.0.0.1:{p}"))
            .collect()
    }

    pub fn node_urls(&self) -> Vec<String> {
        let scheme = self.scheme();
        self.node_ports
            .iter()
            .map(|p| format!("{scheme}://127.0.0.1:{p}"))
            .collect()
    }

    /// Kill sentinel `i`.
    pub fn stop_sentinel(&mut self, i: usize) {
        if let Some(mut c) = self.sentinels[i].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Start sentinel `i` again (with the configuration it rewrote).
    pub fn restart_sentinel(&mut self, i: usize) {
        self.stop_sentinel(i);
        let child = self.spawn_sentinel(i);
        self.sentinels[i] = Some(child);
    }

    /// Start data node `i` again as it was first started: node 0 comes back as
    /// a master, as a rebooted master does until Sentinel reconfigures it.
    pub fn restart_node(&mut self, i: usize) {
        self.stop_node(i);
        let child = self.spawn_node(i);
        self.nodes[i] = Some(child);
    }

    /// Kill data node `i` (0 is the master at start).
    pub fn stop_node(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        for c in self
            .nodes
            .iter_mut()
            .chain(self.sentinels.iter_mut())
            .flatten()
        {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A single Redis server on a free loopback port: no password, no replicas, no
/// sentinels, nothing saved. Killed when dropped.
pub struct Server {
    pub port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Server {
    pub fn start() -> Server {
        let port = free_ports(1).expect("a free port")[0];
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(std::fs::File::create(dir.path().join("log")).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("redis-server (Debian package redis-server): {e}"));
        let server = Server {
            port,
            child,
            _dir: dir,
        };
        wait_until("redis-server to answer", Duration::from_secs(20), || {
            Command::new("redis-cli")
                .args(["-h", "127.0.0.1", "-p", &port.to_string(), "PING"])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("PONG"))
        });
        server
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
