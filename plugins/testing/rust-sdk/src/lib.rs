//! Test-only plugin: the Rust SDK's helpers (report verbs, `granted_endpoint`,
//! Redis, SQL, net, Kubernetes, log), step by step. It is the reference for the
//! test plugins of the other SDKs (`plugins/testing/{py,js,c}-sdk`), which take
//! the same steps and must report the same findings (`tests/sdk_helpers.rs`).
//!
//! Endpoints: `redis` (its first URL a server, its second a closed port), `db`
//! (mysql), `kubernetes` and, when granted, `dns` (its first URL a resolver for
//! cluster.local, its second one that never answers).
//! Each step is one finding: `ok` with what the helper returned, or a note
//! (`unknown`) with the error as `kind: message`.

use serde_json::Value;
use vitals_plugin::{
    LogLevel, Plugin, PluginInfo, Report, ReportBuilder, RunInput, Status, dns, export_plugin,
    granted_endpoint, kubernetes, log, net, optional_param, parse_params, redis, sql,
};

#[derive(serde::Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct Params {
    tcp_open: String,
    tcp_closed: String,
    tcp_denied: String,
    arp: Vec<String>,
}

/// A step's outcome: its finding's message, or the error's kind and message.
type Step = Result<String, (String, String)>;

fn step(r: &mut ReportBuilder, subject: &str, outcome: Step) {
    match outcome {
        Ok(message) => r.finding(subject, Status::Ok, message),
        Err((kind, message)) => r.note(subject, Status::Unknown, format!("{kind}: {message}")),
    }
}

fn redis_err(e: redis::Error) -> (String, String) {
    (e.kind().into(), e.message().into())
}

fn sql_err(e: sql::Error) -> (String, String) {
    (e.kind().into(), e.message().into())
}

fn net_err(e: net::Error) -> (String, String) {
    (e.kind().into(), e.message().into())
}

fn dns_err(e: dns::Error) -> (String, String) {
    (e.kind().into(), e.message().into())
}

/// `RCODE TYPE data...`: `NOERROR A 10.43.0.1`, `NXDOMAIN`.
fn answer_text(a: &dns::Answer) -> String {
    std::iter::once(a.rcode.clone())
        .chain(a.records.iter().map(|r| format!("{} {}", r.type_, r.data)))
        .collect::<Vec<_>>()
        .join(" ")
}

fn k8s_err(e: kubernetes::Error) -> (String, String) {
    (e.kind().into(), e.message())
}

/// `columns a,b; rows 1|NULL;...`
fn rows_text(rows: &sql::Rows) -> String {
    let rows_text: Vec<String> = rows
        .rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|v| v.as_deref().unwrap_or("NULL"))
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect();
    format!(
        "columns {}; rows {}",
        rows.columns.join(","),
        rows_text.join(";")
    )
}

struct SdkTest;

impl Plugin for SdkTest {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "test_rust_sdk".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "test plugin: the Rust SDK's helpers".into(),
            params: vec![
                optional_param("tcp_open", "string", "an address that accepts TCP"),
                optional_param("tcp_closed", "string", "an address that refuses TCP"),
                optional_param("tcp_denied", "string", "an address not granted"),
                optional_param("arp", "list<string>", "addresses to ARP-probe"),
            ],
        }
    }

    fn run(input: RunInput) -> Report {
        let p: Params = match parse_params(&input.params) {
            Ok(p) => p,
            Err(e) => return ReportBuilder::unknown(e),
        };
        let mut r = ReportBuilder::new();
        log(LogLevel::Info, "sdk test: start");

        // Endpoints.
        let ep = match granted_endpoint(&input, "redis", "redis") {
            Ok(ep) => ep,
            Err(report) => return report,
        };
        step(
            &mut r,
            "endpoint redis",
            Ok(format!("{} {} {}", ep.name, ep.kind, ep.urls.join(" "))),
        );
        let missing = granted_endpoint(&input, "nope", "redis")
            .map(|e| e.name.clone())
            .map_err(|report| ("denied".to_string(), report.summary));
        step(&mut r, "endpoint nope", missing);

        // Redis.
        let url = &ep.urls[0];
        let json = |args: &[&str]| -> Step {
            redis::command(&ep.name, url, args)
                .map(|v| v.to_string())
                .map_err(redis_err)
        };
        step(&mut r, "redis PING", json(&["PING"]));
        step(&mut r, "redis ECHO", json(&["ECHO", "vitals sdk"]));
        step(&mut r, "redis DBSIZE", json(&["DBSIZE"]));
        step(&mut r, "redis ROLE", json(&["ROLE"]));
        let info = redis::command(&ep.name, url, &["INFO", "server"])
            .map(|v| {
                let info = redis::parse_info(v.as_str().unwrap_or_default());
                format!(
                    "redis_mode={}",
                    info.get("redis_mode").map_or("", String::as_str)
                )
            })
            .map_err(redis_err);
        step(&mut r, "redis INFO", info);
        let fields = redis::parse_fields(&serde_json::json!(["a", "1", "b", "2", "c"]));
        let fields: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
        step(&mut r, "redis fields", Ok(fields.join(" ")));
        step(&mut r, "redis SET", json(&["SET", "k", "v"]));
        step(&mut r, "redis SENTINEL", json(&["SENTINEL", "MASTERS"]));
        let down = redis::command(&ep.name, &ep.urls[1], &["PING"])
            .map(|v| v.to_string())
            .map_err(redis_err);
        step(&mut r, "redis down", down);
        // All at once: each reply as JSON, each error by its kind.
        let all = redis::command_all(&[
            (&ep.name, url, &["PING"]),
            (&ep.name, url, &["ECHO", "together"]),
            (&ep.name, &ep.urls[1], &["PING"]),
            (&ep.name, url, &["SET", "k", "v"]),
        ]);
        let all: Vec<String> = all
            .into_iter()
            .map(|a| a.map_or_else(|e| e.kind().to_string(), |v| v.to_string()))
            .collect();
        step(&mut r, "redis all", Ok(all.join(" ")));

        // SQL.
        let db = match granted_endpoint(&input, "db", "mysql") {
            Ok(ep) => ep,
            Err(report) => return report,
        };
        let url = &db.urls[0];
        let select = sql::query(
            &db.name,
            url,
            "SELECT 1 AS one, NULL AS nothing, 'x' AS letter",
        );
        step(
            &mut r,
            "sql SELECT",
            select
                .as_ref()
                .map(rows_text)
                .map_err(|e| sql_err(e.clone())),
        );
        let records = select
            .map(|rows| {
                let first = sql::records(&rows).into_iter().next().unwrap_or_default();
                rows.columns
                    .iter()
                    .map(|c| {
                        let v = first.get(c).cloned().flatten();
                        format!("{c}={}", v.as_deref().unwrap_or("NULL"))
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .map_err(sql_err);
        step(&mut r, "sql records", records);
        let show = sql::query(&db.name, url, "SHOW VARIABLES LIKE 'port'")
            .map(|rows| {
                let vars = sql::name_values(&rows);
                format!("port={}", vars.get("port").map_or("", String::as_str))
            })
            .map_err(sql_err);
        step(&mut r, "sql SHOW", show);
        let q = |statement: &str| -> Step {
            sql::query(&db.name, url, statement)
                .map(|rows| rows_text(&rows))
                .map_err(sql_err)
        };
        step(&mut r, "sql DELETE", q("DELETE FROM mysql.user"));
        step(
            &mut r,
            "sql missing",
            q("SELECT * FROM mysql.no_such_table"),
        );
        // All at once: each result's first value, each error by its kind.
        let all = sql::query_all(&[
            (&db.name, url, "SELECT 1 AS one"),
            (&db.name, url, "SELECT 'x' AS letter"),
            (&db.name, url, "DELETE FROM mysql.user"),
        ]);
        let all: Vec<String> = all
            .into_iter()
            .map(|a| {
                a.map_or_else(
                    |e| e.kind().to_string(),
                    |rows| {
                        let first = rows.rows.first().and_then(|row| row.first()).cloned();
                        first.flatten().unwrap_or_else(|| "NULL".into())
                    },
                )
            })
            .collect();
        step(&mut r, "sql all", Ok(all.join(" ")));

        // Net.
        let tcp = |subject: &str, address: &str, r: &mut ReportBuilder| {
            if address.is_empty() {
                return;
            }
            let outcome = net::tcp_connect(address).map_err(net_err);
            if let Ok(seconds) = outcome {
                r.sample(
                    "tcp_connect_seconds",
                    "Seconds a TCP connect took",
                    seconds,
                    &[("address", address)],
                );
            }
            let outcome = outcome.map(|s| {
                if (0.0..5.0).contains(&s) {
                    "connected".to_string()
                } else {
                    format!("odd seconds: {s}")
                }
            });
            step(r, subject, outcome);
        };
        tcp("tcp open", &p.tcp_open, &mut r);
        tcp("tcp closed", &p.tcp_closed, &mut r);
        tcp("tcp denied", &p.tcp_denied, &mut r);
        for address in &p.arp {
            let outcome = net::arp_probe(address)
                .map(|replies| {
                    let mut macs: Vec<&str> = replies.iter().map(|a| a.mac.as_str()).collect();
                    macs.sort();
                    if replies.iter().any(|a| a.seconds < 0.0) {
                        "odd seconds".to_string()
                    } else {
                        format!("{} replies: {}", replies.len(), macs.join(" "))
                    }
                })
                .map_err(net_err);
            step(&mut r, &format!("arp {address}"), outcome);
        }
        // All at once: each outcome by a word (TCP) or its number of replies (ARP).
        let tcp: Vec<&str> = [&p.tcp_open, &p.tcp_closed, &p.tcp_denied]
            .into_iter()
            .map(String::as_str)
            .filter(|a| !a.is_empty())
            .collect();
        if !tcp.is_empty() {
            let all: Vec<&str> = net::tcp_connect_all(&tcp)
                .iter()
                .map(|a| a.as_ref().map_or_else(|e| e.kind(), |_| "connected"))
                .collect();
            step(&mut r, "tcp all", Ok(all.join(" ")));
        }
        if !p.arp.is_empty() {
            let arp: Vec<&str> = p.arp.iter().map(String::as_str).collect();
            let all: Vec<String> = net::arp_probe_all(&arp)
                .iter()
                .map(|a| {
                    a.as_ref()
                        .map_or_else(|e| e.kind().to_string(), |r| r.len().to_string())
                })
                .collect();
            step(&mut r, "arp all", Ok(all.join(" ")));
        }

        // DNS, when a `dns` endpoint is granted: its first URL a resolver for
        // cluster.local.
        if let Ok(ep) = granted_endpoint(&input, "dns", "dns") {
            let url = ep.urls[0].clone();
            let api = "kubernetes.default.svc.cluster.local";
            let srv = "_https._tcp.kubernetes.default.svc.cluster.local";
            let q = |url: &str, name: &str, t: dns::QueryType| {
                dns::query("dns", url, name, t)
                    .map(|a| answer_text(&a))
                    .map_err(dns_err)
            };
            step(&mut r, "dns A", q(&url, api, dns::QueryType::A));
            step(&mut r, "dns SRV", q(&url, srv, dns::QueryType::Srv));
            step(
                &mut r,
                "dns NXDOMAIN",
                q(&url, "nope.cluster.local", dns::QueryType::A),
            );
            step(
                &mut r,
                "dns denied",
                q("dns://10.9.9.9", api, dns::QueryType::A),
            );
            let silent = ep.urls[1].clone();
            step(&mut r, "dns silent", q(&silent, api, dns::QueryType::A));
            let all: Vec<String> = dns::query_all(&[
                ("dns", &url, api, dns::QueryType::A),
                ("dns", &url, "nope.cluster.local", dns::QueryType::A),
                ("dns", "dns://10.9.9.9", api, dns::QueryType::A),
                ("dns", &silent, api, dns::QueryType::A),
            ])
            .into_iter()
            .map(|a| match a {
                Ok(a) => answer_text(&a),
                Err(e) => e.kind().to_string(),
            })
            .collect();
            step(&mut r, "dns all", Ok(all.join("; ")));
        }

        // Kubernetes.
        let cm = kubernetes::get(
            "kubernetes",
            "/api/v1/namespaces/kube-system/configmaps/cilium-config",
        )
        .map(|cm| {
            format!(
                "enable-l2-announcements={}",
                kubernetes::str_at(&cm, "/data/enable-l2-announcements")
            )
        })
        .map_err(k8s_err);
        step(&mut r, "k8s get", cm);
        let nodes = kubernetes::list_all("kubernetes", "/api/v1/nodes", None)
            .map(|nodes| {
                let mut names: Vec<&str> = nodes
                    .iter()
                    .map(|n| kubernetes::str_at(n, "/metadata/name"))
                    .collect();
                names.sort();
                names.join(" ")
            })
            .map_err(k8s_err);
        step(&mut r, "k8s list", nodes);
        let secret = kubernetes::get("kubernetes", "/api/v1/namespaces/kube-system/secrets/token")
            .map(|v: Value| v.to_string())
            .map_err(k8s_err);
        step(&mut r, "k8s secret", secret);
        let missing = kubernetes::get(
            "kubernetes",
            "/api/v1/namespaces/kube-system/configmaps/nope",
        )
        .map(|v: Value| v.to_string())
        .map_err(|e| {
            let code = match &e {
                kubernetes::Error::Api(s) => s.code,
                _ => 0,
            };
            (format!("{} {code}", e.kind()), e.message())
        });
        step(&mut r, "k8s missing", missing);
        // Reads at once: each answer in order, an object by its name, a list by
        // its items' names, an error by its kind (and code).
        fn name(v: &Value) -> String {
            kubernetes::str_at(v, "/metadata/name").to_string()
        }
        fn failed(e: &kubernetes::Error) -> String {
            match e {
                kubernetes::Error::Api(s) => format!("api {}", s.code),
                e => e.kind().to_string(),
            }
        }
        let gets: Vec<String> = kubernetes::get_all(&[
            (
                "kubernetes",
                "/api/v1/namespaces/kube-system/configmaps/cilium-config",
            ),
            ("kubernetes", "/api/v1/namespaces/kube-system/secrets/token"),
            (
                "kubernetes",
                "/api/v1/namespaces/kube-system/configmaps/nope",
            ),
        ])
        .iter()
        .map(|a| a.as_ref().map_or_else(failed, name))
        .collect();
        // Two nodes a page: the later pages read in rounds of their own.
        let lists: Vec<String> = kubernetes::list_all_of_paged(
            &[
                ("kubernetes", "/api/v1/nodes", None),
                ("kubernetes", "/api/v1/pods", None),
            ],
            2,
        )
        .iter()
        .map(|a| {
            a.as_ref().map_or_else(failed, |items| {
                let mut names: Vec<String> = items.iter().map(name).collect();
                names.sort();
                names.join(" ")
            })
        })
        .collect();
        step(
            &mut r,
            "k8s batch",
            Ok(format!(
                "get: {}; list: {}",
                gets.join(", "),
                lists.join(", ")
            )),
        );

        r.raise(Status::Ok); // the errors above are notes: the status stays ok
        log(LogLevel::Info, "sdk test: done");
        let report = r.finish("");
        Report {
            summary: format!("{} steps", report.findings.len()),
            ..report
        }
    }
}

export_plugin!(SdkTest);
