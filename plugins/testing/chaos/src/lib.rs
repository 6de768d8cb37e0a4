//! Test-only plugin that misbehaves on request (`mode` parameter), to prove that the
//! host contains it: `spin` loops forever, `hog` allocates without bound, `panic`
//! panics, `fetch` requests `url`, `snoop` looks for files, environment and
//! arguments, `chatty` prints far beyond the output limit, `redis` sends `command`
//! to the first URL of the first granted redis endpoint, `sql` runs `command` on
//! the first URL of the first granted mysql endpoint (its rows in the finding),
//! `fanout` fetches the space-separated URLs of `url` at once (`http::get_all`),
//! `smuggle` fetches `url` and
//! puts the answer everywhere a plugin can write (summary, a finding's subject and
//! message, a sample's name, help and labels, the log, stdout; with `command =
//! "panic"` a panic message), `garbage` reports every kind of bad sample and text
//! (reserved and invalid label names, escapes, non-finite values, duplicate
//! series, conflicting help, terminal escapes), `recurse` recurses without end,
//! `logflood` logs 200,000 lines, `hostloop` calls the host (a denied request)
//! without end, `sleep` sleeps for an hour inside a host call, `bigreport` reports
//! 20,000 findings of 1 KiB and 50,000 samples, `ok` reports ok.

use vitals_plugin::{
    LogLevel, Plugin, PluginInfo, Report, ReportBuilder, RunInput, Status, http, param,
    parse_params,
};

struct Chaos;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    mode: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    command: String,
}

impl Plugin for Chaos {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "chaos".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Test-only plugin that misbehaves on request".into(),
            params: vec![
                param(
                    "mode",
                    "string",
                    "spin | hog | panic | fetch | fanout | snoop | chatty | redis | sql | kube | net | smuggle | garbage | recurse | logflood | hostloop | sleep | bigreport | ok",
                    None,
                ),
                param(
                    "url",
                    "string",
                    "URL requested in fetch and smuggle modes; space-separated URLs fetched at once in fanout mode",
                    Some("\"\""),
                ),
                param(
                    "command",
                    "string",
                    "Redis command (space-separated) in redis mode, statement in sql mode, `get PATH` or `list PATH` in kube mode, `tcp IP:PORT` or `arp IP` in net mode",
                    Some("\"\""),
                ),
            ],
        }
    }

    fn run(input: RunInput) -> Report {
        let p: Params = match parse_params(&input.params) {
            Ok(p) => p,
            Err(e) => return ReportBuilder::unknown(e),
        };
        let mut r = ReportBuilder::new();
        match p.mode.as_str() {
            "spin" => {
                let mut x: u64 = 0;
                loop {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            }
            "hog" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "panic" => panic!("chaos plugin panicked on purpose"),
            "fetch" => match http::get(&p.url, http::Options::default()) {
                Ok(resp) => r.finding(&p.url, Status::Ok, format!("HTTP {}", resp.status)),
                Err(e) => r.finding(&p.url, Status::Critical, format!("{:?}: {e}", e.kind)),
            },
            // One request after the other, each answer read before the next.
            "fetches" => {
                for url in p.url.split(' ') {
                    match http::get(url, http::Options::default()) {
                        Ok(resp) => r.finding(url, Status::Ok, format!("HTTP {}", resp.status)),
                        Err(e) => r.finding(url, Status::Critical, format!("{:?}: {e}", e.kind)),
                    }
                }
            }
            "fanout" => {
                let urls: Vec<&str> = p.url.split(' ').collect();
                for (url, answer) in urls
                    .iter()
                    .zip(http::get_all(&urls, http::Options::default()))
                {
                    match answer {
                        Ok(resp) => r.finding(
                            *url,
                            Status::Ok,
                            format!("HTTP {}: {}", resp.status, resp.text()),
                        ),
                        Err(e) => r.finding(*url, Status::Critical, format!("{:?}: {e}", e.kind)),
                    }
                }
            }
            "smuggle" => {
                let text = match http::get(&p.url, http::Options::default()) {
                    Ok(resp) => String::from_utf8_lossy(&resp.body).into_owned(),
                    Err(e) => return ReportBuilder::unknown(format!("{:?}: {e}", e.kind)),
                };
                vitals_plugin::log(LogLevel::Warn, &text);
                println!("{text}");
                if p.command == "panic" {
                    panic!("smuggled: {text}");
                }
                r.finding(&text, Status::Warning, text.clone());
                r.sample(&text, &text, 1.0, &[("leak", &text), (&text, "x")]);
                return r.finish(text);
            }
            "recurse" => {
                r.finding("depth", Status::Ok, deep(u64::MAX).to_string());
            }
            "logflood" => {
                let line = "x".repeat(1024);
                for _ in 0..200_000 {
                    vitals_plugin::log(LogLevel::Info, &line);
                }
            }
            "hostloop" => loop {
                let _ = std::hint::black_box(http::get(
                    "http://192.0.2.1/never-granted",
                    http::Options::default(),
                ));
            },
            "sleep" => std::thread::sleep(std::time::Duration::from_secs(3600)),
            "bigreport" => {
                let message = "m".repeat(1024);
                for i in 0..20_000 {
                    r.finding(format!("subject {i}"), Status::Warning, message.clone());
                }
                for i in 0..50_000 {
                    r.sample("big", "One of many", f64::from(i), &[("i", &i.to_string())]);
                }
            }
            "garbage" => {
                let help = "back\\slash \"quoted\" trailing\\";
                let evil = [
                    ("__name__", "up"),
                    ("check", "forged"),
                    ("cluster", "forged"),
                    ("_private", "x"),
                    ("a-b", "x"),
                    ("", "x"),
                    ("empty", ""),
                    ("quote", "a\"b\\c\nd"),
                ];
                r.sample("bad_labels", help, 1.0, &evil);
                r.sample("bad_labels", "conflicting help", 2.0, &evil);
                r.sample("bad_labels", "", 3.0, &[("quote", "a\"b\\c\nd")]);
                r.sample("not_a_number", "", f64::NAN, &[]);
                r.sample("infinite", "", f64::INFINITY, &[("sign", "plus")]);
                r.sample("infinite", "", f64::NEG_INFINITY, &[("sign", "minus")]);
                r.sample("negative_zero", "", -0.0, &[]);
                r.sample("weird name/\u{fc}.x", "\u{1b}[31mred\u{1b}[0m", 1.0, &[]);
                r.sample("", "", 1.0, &[]);
                r.finding("\u{1b}[2J\nforged", Status::Warning, "line\nbreak\u{7}");
                return r.finish("garbage\u{1b}[0m\r\nFAKE: ok");
            }
            "snoop" => {
                let env: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
                let args: Vec<String> = std::env::args().collect();
                let files = ["/", "/etc/passwd", "."]
                    .iter()
                    .filter(|p| std::fs::metadata(p).is_ok())
                    .count();
                let seen = !env.is_empty() || !args.is_empty() || files > 0;
                r.finding(
                    "sandbox",
                    if seen { Status::Critical } else { Status::Ok },
                    format!("env={} args={} files={files}", env.len(), args.len()),
                );
            }
            "chatty" => {
                for i in 0..20_000 {
                    println!("line {i}: a plugin that prints far more than the output limit");
                }
            }
            "redis" => {
                let Some(ep) = input.endpoints.iter().find(|e| e.kind == "redis") else {
                    return ReportBuilder::unknown("no redis endpoint granted");
                };
                let args: Vec<&str> = p.command.split(' ').collect();
                match vitals_plugin::redis::command(&ep.name, &ep.urls[0], &args) {
                    Ok(v) => r.finding(&p.command, Status::Ok, format!("reply {v}")),
                    Err(e) => {
                        return ReportBuilder::unknown(format!("{}: {}", e.kind(), e.message()));
                    }
                }
            }
            "sql" => {
                let Some(ep) = input.endpoints.iter().find(|e| e.kind == "mysql") else {
                    return ReportBuilder::unknown("no mysql endpoint granted");
                };
                match vitals_plugin::sql::query(&ep.name, &ep.urls[0], &p.command) {
                    Ok(rows) => r.finding(
                        &p.command,
                        Status::Ok,
                        format!("{} rows: {:?}", rows.rows.len(), rows.rows),
                    ),
                    Err(e) => {
                        return ReportBuilder::unknown(format!("{}: {}", e.kind(), e.message()));
                    }
                }
            }
            "kube" => {
                let Some(ep) = input.endpoints.iter().find(|e| e.kind == "kubernetes") else {
                    return ReportBuilder::unknown("no kubernetes endpoint granted");
                };
                let answer = match p.command.split_once(' ') {
                    Some(("get", path)) => vitals_plugin::kubernetes::get(&ep.name, path),
                    Some(("list", path)) => {
                        vitals_plugin::kubernetes::list_all(&ep.name, path, None)
                            .map(|items| serde_json::Value::from(items.len()))
                    }
                    _ => return ReportBuilder::unknown("command: `get PATH` or `list PATH`"),
                };
                match answer {
                    Ok(v) => r.finding(&p.command, Status::Ok, format!("answer {v}")),
                    Err(e) => {
                        return ReportBuilder::unknown(format!("{}: {}", e.kind(), e.message()));
                    }
                }
            }
            "kube-batch" => {
                // `command`: reads separated by `; `, each `get PATH` or `list PATH`,
                // sent as one batch; one finding per read, in order.
                use vitals_plugin::kubernetes::{ListOptions, Read};
                let Some(ep) = input.endpoints.iter().find(|e| e.kind == "kubernetes") else {
                    return ReportBuilder::unknown("no kubernetes endpoint granted");
                };
                let mut reads = Vec::new();
                for read in p.command.split("; ") {
                    let (verb, path) = read.split_once(' ').unwrap_or((read, ""));
                    reads.push(Read {
                        endpoint: ep.name.clone(),
                        path: path.to_string(),
                        list: (verb == "list").then_some(ListOptions {
                            label_selector: None,
                            field_selector: None,
                            limit: None,
                            continue_token: None,
                        }),
                    });
                }
                let answers = vitals_plugin::bindings::vitals::check::kubernetes::batch(&reads);
                for (read, answer) in p.command.split("; ").zip(answers) {
                    match answer {
                        Ok(text) => r.finding(read, Status::Ok, format!("{} bytes", text.len())),
                        Err(e) => r.finding(
                            read,
                            Status::Critical,
                            format!("{}: {}", e.kind(), e.message()),
                        ),
                    }
                }
            }
            "net" => {
                let answer = match p.command.split_once(' ') {
                    Some(("tcp", addr)) => vitals_plugin::net::tcp_connect(addr)
                        .map(|s| format!("connected in {s:.3}s")),
                    Some(("arp", addr)) => vitals_plugin::net::arp_probe(addr).map(|replies| {
                        let macs: Vec<String> = replies.into_iter().map(|r| r.mac).collect();
                        format!("{} replies: {}", macs.len(), macs.join(", "))
                    }),
                    _ => return ReportBuilder::unknown("command: `tcp IP:PORT` or `arp IP`"),
                };
                match answer {
                    Ok(v) => r.finding(&p.command, Status::Ok, v),
                    Err(e) => {
                        return ReportBuilder::unknown(format!("{}: {}", e.kind(), e.message()));
                    }
                }
            }
            "ok" => {}
            other => return ReportBuilder::unknown(format!("unknown mode {other:?}")),
        }
        r.sample(
            "runs",
            "Runs of the chaos plugin",
            1.0,
            &[("mode", &p.mode)],
        );
        r.finish(format!("mode {}", p.mode))
    }
}

/// Recursion the optimiser cannot turn into a loop: exhausts the stack.
#[inline(never)]
fn deep(n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    std::hint::black_box(deep(std::hint::black_box(n - 1))) + 1
}

vitals_plugin::export_plugin!(Chaos);
