//! Test-only plugin built against the older contract `vitals:check@0.4.0` (its
//! own `wit/`, without the SDK, which speaks 0.4.1): a host speaking 0.4.1 must
//! load it and answer its capability calls (a 0.4.y plugin keeps working).
//! It sends `PING` to every URL of its granted redis endpoints.

wit_bindgen::generate!({
    path: "wit",
    world: "check",
});

use exports::vitals::check::plugin::Guest;
use vitals::check::redis;
use vitals::check::types::{Finding, PluginInfo, Report, RunInput, Status};

struct Older;

impl Guest for Older {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "test_contract_0_4_0".into(),
            version: "0.1.0".into(),
            description: "test plugin built against vitals:check@0.4.0".into(),
            params: Vec::new(),
        }
    }

    fn run(input: RunInput) -> Report {
        let mut findings = Vec::new();
        for ep in input.endpoints.iter().filter(|e| e.kind == "redis") {
            for url in &ep.urls {
                let (status, message) = match redis::command(&ep.name, url, &["PING".into()]) {
                    Ok(reply) => (Status::Ok, reply),
                    Err(e) => (Status::Critical, format!("{e:?}")),
                };
                findings.push(Finding {
                    subject: url.clone(),
                    status,
                    message,
                });
            }
        }
        let status = if findings.iter().all(|f| f.status == Status::Ok) && !findings.is_empty() {
            Status::Ok
        } else {
            Status::Critical
        };
        Report {
            status,
            summary: format!("{} PINGs", findings.len()),
            findings,
            samples: Vec::new(),
        }
    }
}

export!(Older);
