//! Test support for processes: free loopback ports, children killed on drop,
//! HTTP polling, and `promtool check metrics`.

use std::collections::HashSet;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

/// Ports handed out so far in this process; never handed out twice, so
/// clusters started by parallel tests cannot pick the same port.
static USED_PORTS: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// Where test servers listen: below Linux's ephemeral range (32768 and up), from
/// which the kernel picks the source ports of outgoing connections. A port taken
/// from that range (`bind(:0)`) could be grabbed by some client connection (an
/// SST, a scrape) before the server that was to listen on it starts.
const PORTS: std::ops::Range<u16> = 20_000..32_768;

/// A pseudo-random candidate port in [`PORTS`] (xorshift, seeded per process).
fn candidate() -> u16 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static STATE: AtomicU64 = AtomicU64::new(0);
    let mut x = STATE.load(Ordering::Relaxed);
    if x == 0 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        x = nanos ^ (u64::from(std::process::id()) << 32) | 1;
    }
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    STATE.store(x, Ordering::Relaxed);
    PORTS.start + (x % u64::from(PORTS.end - PORTS.start)) as u16
}

/// `count` distinct free loopback ports: bind them all at once, then release.
pub fn free_ports(count: usize) -> Result<Vec<u16>> {
    let mut used = USED_PORTS.lock().unwrap_or_else(|e| e.into_inner());
    let used = used.get_or_insert_with(HashSet::new);
    let mut listeners = Vec::new();
    let mut ports = Vec::new();
    let mut tries = 0;
    while ports.len() < count {
        tries += 1;
        if tries > count * 200 {
            bail!("could not find {count} free loopback ports in {PORTS:?}");
        }
        let port = candidate();
        let Ok(l) = TcpListener::bind(("127.0.0.1", port)) else {
            continue;
        };
        // Keep them all bound until enough are found.
        listeners.push(l);
        if used.insert(port) {
            ports.push(port);
        }
    }
    drop(listeners);
    Ok(ports)
}

/// One free loopback port.
pub fn free_port() -> u16 {
    free_ports(1).expect("a free port")[0]
}

/// A child process, killed and reaped when dropped.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Stop `child` as an operator does, with SIGTERM, and wait for it to exit.
pub fn terminate(mut child: Child) {
    // SAFETY: kill(2) on our own child's pid, which it still is (not reaped).
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let _ = child.wait();
}

/// Start `cmd` with its output discarded; killed on drop.
pub fn spawn_quiet(cmd: &mut Command) -> Killed {
    let program = cmd.get_program().to_string_lossy().into_owned();
    Killed(
        cmd.stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}")),
    )
}

/// Try `attempt` every `every` until it returns `Ok` (for at most `timeout`), and
/// return its value; panic with its last error when time runs out.
pub fn eventually<T>(
    timeout: Duration,
    every: Duration,
    mut attempt: impl FnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match attempt() {
            Ok(v) => return v,
            Err(e) if Instant::now() > deadline => panic!("after {timeout:?}: {e}"),
            Err(_) => std::thread::sleep(every),
        }
    }
}

/// GET a URL until it answers 200 (for at most 15 s), returning the body.
pub fn get(url: &str) -> String {
    eventually(Duration::from_secs(15), Duration::from_millis(100), || {
        ureq::get(url)
            .call()
            .map(|mut r| r.body_mut().read_to_string().unwrap())
            .map_err(|e| format!("GET {url}: {e}"))
    })
}

/// Run a tool to completion: whether it succeeded, and its stdout then stderr.
pub fn outcome(cmd: &mut Command) -> (bool, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", cmd.get_program()));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// Assert that `promtool check metrics` accepts an exposition.
pub fn promtool_check(exposition: &str) {
    let (code, said) = promtool(exposition);
    assert!(
        code == Some(0),
        "promtool rejects the exposition:\n{said}\n---\n{exposition}"
    );
}

/// `promtool check metrics` parses the exposition: exit 0, or 3 for lint
/// advice (which a plugin's naming may earn), never 1 (a parse error).
pub fn promtool_parses(exposition: &str) {
    let (code, said) = promtool(exposition);
    assert!(
        matches!(code, Some(0 | 3)),
        "promtool cannot parse the exposition ({code:?}):\n{said}\n---\n{exposition}"
    );
}

/// `promtool check metrics` of an exposition: its exit code and what it said.
fn promtool(exposition: &str) -> (Option<i32>, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus)");
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), exposition.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), said)
}

/// A bare HTTP/1.1 server on a free loopback port, a thread per connection: each
/// request's head (request line and headers) goes to `answer`, which returns the
/// whole response (status line, headers, body); the connection stays open for the
/// next request until the client closes it. For servers no library would be: one
/// that echoes what it was sent, one that holds requests back.
pub fn raw_http_server(answer: impl Fn(&[u8]) -> Vec<u8> + Send + Sync + 'static) -> u16 {
    raw_http_server_counting(answer).0
}

/// [`raw_http_server`], and the number of connections it accepted so far.
pub fn raw_http_server_counting(
    answer: impl Fn(&[u8]) -> Vec<u8> + Send + Sync + 'static,
) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let answer = std::sync::Arc::new(answer);
    let accepted = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            counter.fetch_add(1, Ordering::SeqCst);
            let answer = answer.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 1024];
                let mut read = Vec::new();
                loop {
                    let end = loop {
                        if let Some(i) = read.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        match conn.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => read.extend_from_slice(&buf[..n]),
                        }
                    };
                    let head: Vec<u8> = read.drain(..end).collect();
                    if conn.write_all(&answer(&head)).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, accepted)
}
