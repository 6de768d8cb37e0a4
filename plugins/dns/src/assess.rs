//! The judgement of the `dns` check, without I/O: each (name, resolver) answer
//! against what the name expects.

use std::collections::BTreeSet;
use std::net::IpAddr;

use serde::Deserialize;
use vitals_plugin::dns::{Answer, Error, QueryType};
use vitals_plugin::{Report, ReportBuilder, Status};

/// The check's parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(default = "default_endpoint")]
    pub endpoint: String,
    pub names: Vec<Name>,
    #[serde(default = "default_slow")]
    pub slow_seconds: f64,
}

/// One name to resolve and what its answer must be.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Name {
    pub name: String,
    /// The query type, `A` by default.
    #[serde(rename = "type", default = "default_type")]
    pub type_: String,
    /// The exact set of data the answer must hold (addresses for A/AAAA).
    #[serde(default)]
    pub expect: Vec<String>,
    /// The name must not exist (NXDOMAIN), e.g. a retired service.
    #[serde(default)]
    pub absent: bool,
    /// The status when the name does not resolve as expected.
    #[serde(default = "default_status")]
    pub status: String,
}

fn default_endpoint() -> String {
    "dns".into()
}
fn default_slow() -> f64 {
    0.5
}
fn default_type() -> String {
    "A".into()
}
fn default_status() -> String {
    "critical".into()
}

impl Params {
    /// Parameters that cannot work, named.
    pub fn validate(&self) -> Result<(), String> {
        if self.names.is_empty() {
            return Err("names: give at least one name to resolve".into());
        }
        for (i, n) in self.names.iter().enumerate() {
            let at = format!("names[{i}] ({:?})", n.name);
            if n.name.trim().is_empty() {
                return Err(format!("names[{i}]: the name is empty"));
            }
            if QueryType::parse(&n.type_).is_none() {
                return Err(format!(
                    "{at}: type {:?}: expected A, AAAA, CNAME, SRV, TXT, PTR, NS, MX or SOA",
                    n.type_
                ));
            }
            if n.status != "critical" && n.status != "warning" {
                return Err(format!(
                    "{at}: status {:?}: expected \"critical\" or \"warning\"",
                    n.status
                ));
            }
            if n.absent && !n.expect.is_empty() {
                return Err(format!("{at}: absent and expect contradict each other"));
            }
        }
        if self.slow_seconds.is_nan() || self.slow_seconds <= 0.0 {
            return Err(format!(
                "slow_seconds {}: expected a positive number",
                self.slow_seconds
            ));
        }
        Ok(())
    }
}

impl Name {
    /// The query type (validated).
    pub fn query_type(&self) -> QueryType {
        QueryType::parse(&self.type_).unwrap_or(QueryType::A)
    }

    fn failing(&self) -> Status {
        if self.status == "warning" {
            Status::Warning
        } else {
            Status::Critical
        }
    }
}

/// One resolver's answer to one name.
pub struct Asked<'a> {
    pub name: &'a Name,
    pub resolver: &'a str,
    pub answer: Result<Answer, Error>,
}

/// Data compared as addresses when they are (`fd00:0::10` = `fd00::10`), else
/// without case or a trailing dot (`Web.Example.` = `web.example`).
fn normal(s: &str) -> String {
    match s.trim().parse::<IpAddr>() {
        Ok(ip) => ip.to_string(),
        Err(_) => s.trim().trim_end_matches('.').to_ascii_lowercase(),
    }
}

/// Whether an answer is what the name expects, and if not, why.
fn verdict(name: &Name, answer: &Answer) -> Result<String, String> {
    let qtype = name.query_type().name();
    let data = answer.data_of(qtype);
    if name.absent {
        return match answer.rcode.as_str() {
            "NXDOMAIN" => Ok("does not exist, as expected".into()),
            "NOERROR" if data.is_empty() => Ok(format!("no {qtype} records, as expected")),
            "NOERROR" => Err(format!(
                "resolves to {} but should not exist",
                data.join(", ")
            )),
            other => Err(format!("{other} (expected NXDOMAIN)")),
        };
    }
    match answer.rcode.as_str() {
        "NOERROR" => {}
        "NXDOMAIN" => return Err("NXDOMAIN: the name does not exist".into()),
        other => return Err(format!("{other}: the resolver could not answer")),
    }
    if data.is_empty() {
        return Err(format!("no {qtype} records (NOERROR, empty answer)"));
    }
    if !name.expect.is_empty() {
        let got: BTreeSet<String> = data.iter().map(|d| normal(d)).collect();
        let want: BTreeSet<String> = name.expect.iter().map(|d| normal(d)).collect();
        if got != want {
            return Err(format!(
                "resolves to {}, expected {}",
                data.join(", "),
                name.expect.join(", ")
            ));
        }
    }
    Ok(data.join(", "))
}

/// Judge every answer. A resolver that answered none of its queries is a
/// warning while another answers, critical when none does.
pub fn assess(params: &Params, asked: &[Asked]) -> Report {
    let mut r = ReportBuilder::new();
    let mut failed = 0;
    let mut resolvers: Vec<&str> = asked.iter().map(|a| a.resolver).collect();
    resolvers.dedup();
    let mut silent = Vec::new();
    for resolver in &resolvers {
        let mine = asked.iter().filter(|a| a.resolver == *resolver);
        let errors: Vec<&Error> = mine
            .clone()
            .filter_map(|a| a.answer.as_ref().err())
            .collect();
        if !errors.is_empty() && errors.len() == mine.count() {
            silent.push((*resolver, errors[0]));
        }
    }
    let all_silent = silent.len() == resolvers.len();
    for a in asked {
        let qtype = a.name.query_type().name();
        let who = format!("{} {qtype} @{}", a.name.name, a.resolver);
        let labels = [
            ("name", a.name.name.as_str()),
            ("type", qtype),
            ("resolver", a.resolver),
        ];
        let (status, message) = match &a.answer {
            Err(Error::Denied(m)) => (Status::Unknown, format!("denied: {m}")),
            Err(e) => {
                let status = if all_silent {
                    Status::Critical
                } else {
                    Status::Warning
                };
                (status, format!("{}: {}", e.kind(), e.message()))
            }
            Ok(answer) => {
                r.sample(
                    "answer_seconds",
                    "Seconds the resolver took to answer",
                    answer.seconds,
                    &labels,
                );
                match verdict(a.name, answer) {
                    Err(why) => (a.name.failing(), why),
                    Ok(what) if answer.seconds > params.slow_seconds => (
                        Status::Warning,
                        format!(
                            "slow: answered in {:.0} ms (slow_seconds {}): {what}",
                            answer.seconds * 1000.0,
                            params.slow_seconds
                        ),
                    ),
                    Ok(what) => (
                        Status::Ok,
                        format!("{what} ({:.1} ms)", answer.seconds * 1000.0),
                    ),
                }
            }
        };
        r.sample(
            "resolved",
            "1 when the name resolved as expected through the resolver, else 0",
            if status == Status::Ok { 1.0 } else { 0.0 },
            &labels,
        );
        if status != Status::Ok {
            failed += 1;
        }
        r.finding(&who, status, message);
    }
    r.sample(
        "resolvers_answering",
        "Resolvers that answered at least one query",
        (resolvers.len() - silent.len()) as f64,
        &[],
    );
    let ok = asked.len() - failed;
    let mut summary = format!(
        "{ok}/{} lookups ok through {} resolver{}",
        asked.len(),
        resolvers.len(),
        if resolvers.len() == 1 { "" } else { "s" }
    );
    if !silent.is_empty() {
        let names: Vec<&str> = silent.iter().map(|(r, _)| *r).collect();
        summary.push_str(&format!("; not answering: {}", names.join(", ")));
    }
    r.finish_naming_worst(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use vitals_plugin::dns::DnsRecord;

    fn params(names: serde_json::Value) -> Params {
        let p: Params = serde_json::from_value(json!({ "names": names })).unwrap();
        p.validate().unwrap();
        p
    }

    fn answer(rcode: &str, records: &[(&str, &str)], seconds: f64) -> Result<Answer, Error> {
        Ok(Answer {
            rcode: rcode.into(),
            authoritative: false,
            records: records
                .iter()
                .map(|(t, d)| DnsRecord {
                    name: "x.".into(),
                    type_: (*t).into(),
                    ttl: 30,
                    data: (*d).into(),
                })
                .collect(),
            seconds,
        })
    }

    fn judge(p: &Params, answers: Vec<(usize, &'static str, Result<Answer, Error>)>) -> Report {
        let asked: Vec<Asked> = answers
            .into_iter()
            .map(|(i, resolver, answer)| Asked {
                name: &p.names[i],
                resolver,
                answer,
            })
            .collect();
        assess(p, &asked)
    }

    fn messages(r: &Report) -> String {
        r.findings
            .iter()
            .map(|f| format!("{:?} {}: {}", f.status, f.subject, f.message))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn expected_addresses_in_any_order_are_ok_and_others_are_not() {
        let p = params(json!([
            {"name": "web.apps.svc.cluster.local", "expect": ["10.0.0.2", "10.0.0.1"]},
        ]));
        let r = judge(
            &p,
            vec![(
                0,
                "10.43.0.10:53",
                answer(
                    "NOERROR",
                    &[("CNAME", "w."), ("A", "10.0.0.1"), ("A", "10.0.0.2")],
                    0.002,
                ),
            )],
        );
        assert_eq!(r.status, Status::Ok, "{}", messages(&r));
        let r = judge(
            &p,
            vec![(
                0,
                "10.43.0.10:53",
                answer("NOERROR", &[("A", "10.0.0.1")], 0.002),
            )],
        );
        assert_eq!(r.status, Status::Critical);
        assert!(
            messages(&r).contains("resolves to 10.0.0.1, expected 10.0.0.2, 10.0.0.1"),
            "{}",
            messages(&r)
        );
    }

    #[test]
    fn expected_data_is_compared_as_addresses_or_names() {
        let p = params(json!([
            {"name": "v6.example", "type": "AAAA", "expect": ["FD00:0::10"]},
            {"name": "_x._tcp.example", "type": "SRV", "expect": ["0 100 443 Target.Example"]},
        ]));
        let r = judge(
            &p,
            vec![
                (0, "r:53", answer("NOERROR", &[("AAAA", "fd00::10")], 0.001)),
                (
                    1,
                    "r:53",
                    answer("NOERROR", &[("SRV", "0 100 443 target.example.")], 0.001),
                ),
            ],
        );
        assert_eq!(r.status, Status::Ok, "{}", messages(&r));
    }

    #[test]
    fn nxdomain_nodata_servfail_and_absent_names() {
        let p = params(json!([
            {"name": "gone.example", "absent": true},
            {"name": "db.example", "type": "srv", "status": "warning"},
            {"name": "api.example"},
        ]));
        let r = judge(
            &p,
            vec![
                (0, "r:53", answer("NXDOMAIN", &[], 0.001)),
                (1, "r:53", answer("NOERROR", &[], 0.001)),
                (2, "r:53", answer("SERVFAIL", &[], 0.001)),
            ],
        );
        let text = messages(&r);
        assert!(
            text.contains("Ok gone.example A @r:53: does not exist, as expected"),
            "{text}"
        );
        assert!(
            text.contains("Warning db.example SRV @r:53: no SRV records (NOERROR, empty answer)"),
            "{text}"
        );
        assert!(
            text.contains("Critical api.example A @r:53: SERVFAIL: the resolver could not answer"),
            "{text}"
        );
        assert_eq!(r.status, Status::Critical);
        let r = judge(
            &p,
            vec![(0, "r:53", answer("NOERROR", &[("A", "10.1.1.1")], 0.001))],
        );
        assert!(messages(&r).contains("resolves to 10.1.1.1 but should not exist"));
    }

    #[test]
    fn a_slow_answer_warns() {
        let p = params(json!([{"name": "api.example"}]));
        let r = judge(
            &p,
            vec![(0, "r:53", answer("NOERROR", &[("A", "10.1.1.1")], 0.75))],
        );
        assert_eq!(r.status, Status::Warning);
        assert!(
            messages(&r).contains("slow: answered in 750 ms (slow_seconds 0.5)"),
            "{}",
            messages(&r)
        );
    }

    #[test]
    fn one_silent_resolver_warns_and_all_silent_is_critical() {
        let p = params(json!([{"name": "api.example"}]));
        let timeout = || Err(Error::Timeout("no answer within 1s".into()));
        let r = judge(
            &p,
            vec![
                (0, "a:53", answer("NOERROR", &[("A", "10.1.1.1")], 0.001)),
                (0, "b:53", timeout()),
            ],
        );
        assert_eq!(r.status, Status::Warning, "{}", messages(&r));
        assert!(r.summary.contains("not answering: b:53"), "{}", r.summary);
        let r = judge(&p, vec![(0, "a:53", timeout()), (0, "b:53", timeout())]);
        assert_eq!(r.status, Status::Critical);
        assert!(
            r.summary.starts_with("0/2 lookups ok through 2 resolvers"),
            "{}",
            r.summary
        );
    }

    #[test]
    fn bad_parameters_are_named() {
        for (names, why) in [
            (json!([]), "at least one name"),
            (json!([{"name": "a", "type": "AXFR"}]), "type \"AXFR\""),
            (json!([{"name": "a", "status": "page"}]), "status \"page\""),
            (
                json!([{"name": "a", "absent": true, "expect": ["1.1.1.1"]}]),
                "contradict",
            ),
            (json!([{"name": " "}]), "empty"),
        ] {
            let p: Params = serde_json::from_value(json!({ "names": names })).unwrap();
            let e = p.validate().unwrap_err();
            assert!(e.contains(why), "{e}");
        }
        let e = vitals_plugin::parse_params::<Params>(r#"{"names": [{"nmae": "a"}]}"#).unwrap_err();
        assert!(e.contains("nmae"), "{e}");
    }
}
