//! Test support: a real MariaDB Galera cluster (Debian's `mariadb-server`,
//! `galera-4`, `rsync`) on loopback. Each node has its own datadir (initialised by
//! `mariadb-install-db`, owned by the `mysql` user: rsync SST fails as root), port,
//! socket, Galera and IST ports and SST address. The first node bootstraps with
//! `--wsrep-new-cluster`; the others join one at a time once the previous is Synced.
//! Each node keeps its temporary files in its own directory: nodes are killed, and
//! a stale `/tmp/#sql-temptable-<pid>-…` left by one breaks a later
//! `mariadb-install-db` that happens to get the same pid.
//! Clients may use TLS (`ssl_cert`, `ssl_key`, `ssl_ca`); the rsync SST does not
//! (`[sst] ssl-mode=DISABLED`: it would need stunnel).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::etcd::Tls;
use super::process::{eventually, free_ports, terminate};

const PROVIDER: &str = "/usr/lib/galera/libgalera_smm.so";
/// A user the checks log in as, allowed to read status (created on the cluster).
pub const USER: &str = "vitals";
pub const PASSWORD: &str = "galera-s3cret";

struct GNode {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

/// A running cluster; every node is killed when dropped.
pub struct Galera {
    nodes: Vec<GNode>,
    /// Server certificates (every node serves TLS; clients choose), a client
    /// certificate and an unrelated CA.
    pub tls: Tls,
    // Declared last: removed after the nodes are gone.
    dir: tempfile::TempDir,
}

fn as_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// `cmd` run as the `mysql` user when we are root.
fn as_mysql(program: &str) -> Command {
    if as_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "mysql", "--", program]);
        c
    } else {
        Command::new(program)
    }
}

impl Galera {
    /// Start an `n`-node cluster and create [`USER`]; panics with the error logs if
    /// it does not form.
    pub fn start(n: usize) -> Galera {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let ports = free_ports(5 * n).expect("free ports");
        let gports: Vec<u16> = (0..n).map(|i| ports[5 * i + 1]).collect();
        let members = gports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",");
        let tls = Tls::generate(&dir.path().join("tls")).expect("certificates");
        let mut g = Galera {
            nodes: Vec::new(),
            tls,
            dir,
        };
        for i in 0..n {
            let (port, gport, ist, sst) = (
                ports[5 * i],
                ports[5 * i + 1],
                ports[5 * i + 2],
                ports[5 * i + 3],
            );
            let ndir = g.dir.path().join(format!("n{}", i + 1));
            std::fs::create_dir_all(&ndir).unwrap();
            let cnf = format!(
                "[mysqld]\n\
                 datadir={d}/data\nsocket={d}/sock\nport={port}\nbind-address=127.0.0.1\n\
                 pid-file={d}/pid\nlog-error={d}/err.log\ntmpdir={d}\n{user}\
                 binlog_format=ROW\ndefault_storage_engine=InnoDB\ninnodb_autoinc_lock_mode=2\n\
                 innodb_buffer_pool_size=32M\nskip-name-resolve\n\
                 wsrep_on=ON\nwsrep_provider={PROVIDER}\nwsrep_cluster_name=vitals-test\n\
                 wsrep_cluster_address=gcomm://{members}\n\
                 wsrep_node_address=127.0.0.1:{gport}\nwsrep_node_name=n{num}\n\
                 wsrep_node_incoming_address=127.0.0.1:{port}\n\
                 wsrep_provider_options=\"gmcast.listen_addr=tcp://127.0.0.1:{gport};ist.recv_addr=127.0.0.1:{ist}\"\n\
                 wsrep_sst_receive_address=127.0.0.1:{sst}\nwsrep_sst_method=rsync\n\
                 ssl_cert={cert}\nssl_key={key}\nssl_ca={ca}\n\
                 [sst]\nssl-mode=DISABLED\n",
                d = ndir.display(),
                user = if as_root() { "user=mysql\n" } else { "" },
                num = i + 1,
                cert = g.tls.server_cert.display(),
                key = g.tls.server_key.display(),
                ca = g.tls.ca_file.display(),
            );
            std::fs::write(ndir.join("my.cnf"), cnf).unwrap();
            if as_root() {
                let ok = Command::new("chown")
                    .args(["-R", "mysql:mysql"])
                    .arg(&ndir)
                    .arg(g.dir.path().join("tls"))
                    .status()
                    .unwrap();
                assert!(ok.success());
            }
            let out = as_mysql("mariadb-install-db")
                .arg(format!("--defaults-file={}/my.cnf", ndir.display()))
                .arg("--auth-root-authentication-method=normal")
                .output()
                .expect("mariadb-install-db (Debian package mariadb-server)");
            assert!(
                out.status.success(),
                "mariadb-install-db: {}\n{}\nerr.log:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                std::fs::read_to_string(ndir.join("err.log")).unwrap_or_default()
            );
            g.nodes.push(GNode {
                port,
                dir: ndir,
                child: None,
            });
        }
        for i in 0..n {
            g.start_node(i, i == 0);
        }
        g.sql(
            0,
            &format!(
                "CREATE USER '{USER}'@'%' IDENTIFIED BY '{PASSWORD}'; GRANT USAGE ON *.* TO '{USER}'@'%'"
            ),
        );
        g
    }

    /// Start node `i` (`bootstrap`: a new cluster) and wait until it is Synced.
    pub fn start_node(&mut self, i: usize, bootstrap: bool) {
        let node = &self.nodes[i];
        let mut cmd = Command::new("mariadbd");
        cmd.arg(format!("--defaults-file={}/my.cnf", node.dir.display()));
        if bootstrap {
            cmd.arg("--wsrep-new-cluster");
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mariadbd (Debian package mariadb-server)");
        self.nodes[i].child = Some(child);
        self.wait_status(
            i,
            "wsrep_local_state_comment",
            "Synced",
            Duration::from_secs(90),
        );
    }

    /// Node `i`'s whole error log.
    pub fn log_text(&self, i: usize) -> String {
        std::fs::read_to_string(self.nodes[i].dir.join("err.log")).unwrap_or_default()
    }

    /// The tail of node `i`'s error log.
    pub fn log(&self, i: usize) -> String {
        let text = self.log_text(i);
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Run SQL on node `i` as root over its socket; the output (tab-separated, no
    /// column names).
    pub fn sql(&self, i: usize, statement: &str) -> String {
        let out = Command::new("mariadb")
            .args(["--defaults-file=/dev/null", "-uroot", "-N", "-B"])
            .arg("-S")
            .arg(self.nodes[i].dir.join("sock"))
            .args(["-e", statement])
            .output()
            .expect("mariadb client");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Send `text` to node `i` as root as one query, as the host's SQL capability
    /// does (the client's delimiter is never in it; multi-statements are on):
    /// whether the server accepted it, and what it said.
    pub fn query_as_one(&self, i: usize, text: &str) -> (bool, String) {
        let out = Command::new("mariadb")
            .args(["--defaults-file=/dev/null", "-uroot", "-N", "-B"])
            .arg("--delimiter=#vitals-end-of-query#")
            .arg("-S")
            .arg(self.nodes[i].dir.join("sock"))
            .args(["-e", text])
            .output()
            .expect("mariadb client");
        let said = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), said)
    }

    /// A status variable of node `i` ("" when the node does not answer).
    pub fn status(&self, i: usize, name: &str) -> String {
        let out = self.sql(i, &format!("SHOW GLOBAL STATUS LIKE '{name}'"));
        out.split('\t').nth(1).unwrap_or("").to_string()
    }

    /// Wait until `name` of node `i` is `value`.
    pub fn wait_status(&self, i: usize, name: &str, value: &str, timeout: Duration) {
        eventually(timeout, Duration::from_millis(250), || {
            let now = self.status(i, name);
            if now == value {
                Ok(())
            } else {
                Err(format!(
                    "node {}: {name} is {now:?}, not {value:?}; its log:\n{}",
                    i + 1,
                    self.log(i)
                ))
            }
        })
    }

    /// Stop node `i` as an operator does (SIGTERM: it leaves the cluster
    /// cleanly) and wait for it to exit.
    pub fn stop(&mut self, i: usize) {
        if let Some(c) = self.nodes[i].child.take() {
            terminate(c);
        }
    }

    /// Make stopped node `i` forget its position in the cluster's history (its
    /// `grastate.dat`), as a rebuilt node has: it then rejoins by a full state
    /// transfer (SST) instead of IST.
    pub fn forget_state(&self, i: usize) {
        assert!(self.nodes[i].child.is_none(), "node {} is running", i + 1);
        std::fs::remove_file(self.nodes[i].dir.join("data/grastate.dat")).unwrap();
    }

    /// Kill node `i` (SIGKILL: no clean leave).
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// mysql:// URLs of the nodes.
    pub fn urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| format!("mysql://127.0.0.1:{}", n.port))
            .collect()
    }

    /// The Unix socket of node `i`, as a mysql:// URL.
    pub fn socket_url(&self, i: usize) -> String {
        format!(
            "mysql://localhost{}",
            self.nodes[i].dir.join("sock").display()
        )
    }

    /// host:port of node `i`.
    pub fn addr(&self, i: usize) -> String {
        format!("127.0.0.1:{}", self.nodes[i].port)
    }
}

impl Drop for Galera {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            if let Some(c) = &mut n.child {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}
