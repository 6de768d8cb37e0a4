//! The judgement of the `usage` check, without I/O: each node's CPU and memory
//! usage (metrics.k8s.io NodeMetrics) against its allocatable, as `kubectl top
//! nodes` shows them, and the node's age.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use vitals_plugin::kubernetes::{parse_time, str_at};
use vitals_plugin::units::{human, parse_duration};
use vitals_plugin::{Report, ReportBuilder, Status};

/// The check's parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(default = "default_endpoint")]
    pub endpoint: String,
    pub label_selector: Option<String>,
    #[serde(default = "default_warning")]
    pub cpu_warning: f64,
    #[serde(default = "default_critical")]
    pub cpu_critical: f64,
    #[serde(default = "default_warning")]
    pub memory_warning: f64,
    #[serde(default = "default_critical")]
    pub memory_critical: f64,
    pub max_node_age: Option<String>,
}

fn default_endpoint() -> String {
    "kubernetes".into()
}
fn default_warning() -> f64 {
    0.8
}
fn default_critical() -> f64 {
    0.9
}

impl Params {
    /// `max_node_age` in seconds (None: not judged), or an error naming the
    /// parameter that is wrong.
    pub fn validate(&self) -> Result<Option<f64>, String> {
        for (name, warn, crit) in [
            ("cpu", self.cpu_warning, self.cpu_critical),
            ("memory", self.memory_warning, self.memory_critical),
        ] {
            if !(warn > 0.0 && crit > 0.0) {
                return Err(format!(
                    "{name}_warning and {name}_critical must be ratios above 0 (0.8 is 80 %)"
                ));
            }
            if warn > crit {
                return Err(format!(
                    "{name}_warning ({warn}) is above {name}_critical ({crit})"
                ));
            }
        }
        self.max_node_age
            .as_deref()
            .map(|d| match parse_duration(d) {
                Ok(s) if s > 0.0 => Ok(s),
                _ => Err(format!(
                    "max_node_age {d:?} is not a duration such as \"30d\" or \"720h\""
                )),
            })
            .transpose()
    }
}

/// The value of a Kubernetes quantity (`250m`, `1234567n`, `2`, `1024Ki`, `3Gi`,
/// `1e3`, `1.5G`, `-2`): in base units, cores for CPU and bytes for memory.
pub fn quantity(s: &str) -> Result<f64, String> {
    let bad = || format!("{s:?} is not a Kubernetes quantity");
    let t = s.trim();
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    let digits = body
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(body.len());
    let (number, suffix) = body.split_at(digits);
    if number.is_empty() || number == "." || number.matches('.').count() > 1 {
        return Err(bad());
    }
    let value: f64 = number.parse().map_err(|_| bad())?;
    let scale = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        // A decimal exponent: 1e3, 1E-2 (a lone E is exa, above).
        e if e.len() > 1 && e.starts_with(['e', 'E']) => {
            let exp: i32 = e[1..].parse().map_err(|_| bad())?;
            10f64.powi(exp)
        }
        _ => return Err(bad()),
    };
    let sign = if t.starts_with('-') { -1.0 } else { 1.0 };
    Ok(sign * value * scale)
}

fn gib(bytes: f64) -> String {
    format!("{:.1}", bytes / 1024f64.powi(3))
}

/// The status of a ratio against its thresholds.
fn level(ratio: f64, warning: f64, critical: f64) -> Status {
    if ratio >= critical {
        Status::Critical
    } else if ratio >= warning {
        Status::Warning
    } else {
        Status::Ok
    }
}

/// Judge every node with its metrics (NodeMetrics items, by name).
pub fn assess(
    params: &Params,
    max_node_age: Option<f64>,
    nodes: &[Value],
    metrics: &[Value],
    now: f64,
) -> Report {
    let mut r = ReportBuilder::new();
    let usage: BTreeMap<&str, &Value> = metrics
        .iter()
        .map(|m| (str_at(m, "/metadata/name"), m))
        .collect();
    let (mut good, mut busiest_cpu, mut busiest_mem) = (0, (0.0, ""), (0.0, ""));
    for node in nodes {
        let name = str_at(node, "/metadata/name");
        let labels = [("node", name)];
        let mut status: Status;
        let mut parts = Vec::new();
        match usage.get(name) {
            None => {
                status = Status::Warning;
                parts.push("no metrics (kubelet or metrics-server not reporting it)".to_string());
            }
            Some(m) => {
                let read = |p: &str| quantity(str_at(m, p));
                let alloc = |p: &str| quantity(str_at(node, p));
                match (
                    read("/usage/cpu"),
                    read("/usage/memory"),
                    alloc("/status/allocatable/cpu"),
                    alloc("/status/allocatable/memory"),
                ) {
                    (Ok(cpu), Ok(mem), Ok(cpu_alloc), Ok(mem_alloc))
                        if cpu_alloc > 0.0 && mem_alloc > 0.0 =>
                    {
                        let (cr, mr) = (cpu / cpu_alloc, mem / mem_alloc);
                        r.sample("cpu_usage_cores", "CPU in use (NodeMetrics)", cpu, &labels);
                        r.sample(
                            "memory_usage_bytes",
                            "Memory in use (NodeMetrics working set)",
                            mem,
                            &labels,
                        );
                        r.sample(
                            "cpu_usage_ratio",
                            "CPU in use over allocatable",
                            cr,
                            &labels,
                        );
                        r.sample(
                            "memory_usage_ratio",
                            "Memory in use over allocatable",
                            mr,
                            &labels,
                        );
                        if cr > busiest_cpu.0 {
                            busiest_cpu = (cr, name);
                        }
                        if mr > busiest_mem.0 {
                            busiest_mem = (mr, name);
                        }
                        let cs = level(cr, params.cpu_warning, params.cpu_critical);
                        let ms = level(mr, params.memory_warning, params.memory_critical);
                        status = cs.max(ms);
                        if status != Status::Ok {
                            parts.push(format!(
                                "cpu {:.2}/{} cores ({:.0}%), memory {}/{} GiB ({:.0}%)",
                                cpu,
                                cpu_alloc,
                                cr * 100.0,
                                gib(mem),
                                gib(mem_alloc),
                                mr * 100.0
                            ));
                        }
                    }
                    (u, m, a, b) => {
                        status = Status::Warning;
                        let why = [u, m, a, b]
                            .into_iter()
                            .find_map(Result::err)
                            .unwrap_or_else(|| "allocatable cpu or memory is 0".into());
                        parts.push(format!("cannot read its usage: {why}"));
                    }
                }
            }
        }
        if let Some(created) = node
            .pointer("/metadata/creationTimestamp")
            .and_then(Value::as_str)
            .and_then(parse_time)
        {
            let age = now - created;
            r.sample(
                "node_age_seconds",
                "Time since the node object was created",
                age,
                &labels,
            );
            if let Some(max) = max_node_age.filter(|m| age > *m) {
                status = status.max(Status::Warning);
                parts.push(format!(
                    "{} old, more than max_node_age {}",
                    human(age),
                    human(max)
                ));
            }
        }
        if status == Status::Ok {
            good += 1;
        } else {
            r.finding(name, status, parts.join("; "));
        }
    }
    let mut summary = format!("{good}/{} nodes ok", nodes.len());
    if !busiest_cpu.1.is_empty() {
        summary.push_str(&format!(
            ", busiest: cpu {:.0}% ({}), memory {:.0}% ({})",
            busiest_cpu.0 * 100.0,
            busiest_cpu.1,
            busiest_mem.0 * 100.0,
            busiest_mem.1
        ));
    }
    r.finish_naming_worst(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: f64 = 1_800_000_000.0; // 2027-01-15T08:00:00Z

    #[test]
    fn quantities() {
        let close = |s: &str, want: f64| {
            let got = quantity(s).unwrap();
            assert!(
                (got - want).abs() <= want.abs() * 1e-12,
                "{s}: {got} != {want}"
            );
        };
        close("250m", 0.25);
        close("1234567n", 0.001_234_567);
        close("2", 2.0);
        close("1024Ki", 1_048_576.0);
        close("3Gi", 3.0 * 1_073_741_824.0);
        close("8131468Ki", 8_326_623_232.0);
        close("1e3", 1000.0);
        close("1E3", 1000.0);
        close("5e-3", 0.005);
        close("1.5G", 1.5e9);
        close("100M", 1e8);
        close("12u", 12e-6);
        close("1E", 1e18);
        close("0.5", 0.5);
        close("-2", -2.0);
        close("+3k", 3000.0);
        for bad in [
            "", "m", "1.2.3", "3gi", "3 Gi", "1e", "1ex", "Gi", "1KiB", ".",
        ] {
            assert!(quantity(bad).is_err(), "{bad:?}");
        }
    }

    fn params(p: Value) -> (Params, Option<f64>) {
        let p: Params = serde_json::from_value(p).unwrap();
        let age = p.validate().unwrap();
        (p, age)
    }

    fn node(name: &str, cpu: &str, mem: &str, created: &str) -> Value {
        json!({"metadata": {"name": name, "creationTimestamp": created},
               "status": {"allocatable": {"cpu": cpu, "memory": mem, "pods": "110"}}})
    }

    fn metric(name: &str, cpu: &str, mem: &str) -> Value {
        json!({"metadata": {"name": name}, "timestamp": "2027-01-15T07:59:50Z",
               "window": "10.012s", "usage": {"cpu": cpu, "memory": mem}})
    }

    #[test]
    fn ratios_against_allocatable() {
        let (p, age) = params(json!({}));
        let nodes = [
            node("a", "4", "8Gi", "2027-01-01T00:00:00Z"),
            node("b", "8", "16Gi", "2027-01-01T00:00:00Z"),
            node("c", "4", "8Gi", "2027-01-01T00:00:00Z"),
        ];
        let metrics = [
            metric("a", "1000m", "2Gi"),
            metric("b", "6800000000n", "8Gi"),
            metric("c", "3900m", "7.5Gi"),
        ];
        let r = assess(&p, age, &nodes, &metrics, NOW);
        assert_eq!(r.status, Status::Critical, "{}", r.summary);
        let f: Vec<_> = r
            .findings
            .iter()
            .map(|f| (f.subject.as_str(), f.status, f.message.as_str()))
            .collect();
        assert_eq!(
            f,
            [
                (
                    "b",
                    Status::Warning,
                    "cpu 6.80/8 cores (85%), memory 8.0/16.0 GiB (50%)"
                ),
                (
                    "c",
                    Status::Critical,
                    "cpu 3.90/4 cores (98%), memory 7.5/8.0 GiB (94%)"
                ),
            ]
        );
        assert_eq!(
            r.summary,
            "1/3 nodes ok, busiest: cpu 98% (c), memory 94% (c); c: cpu 3.90/4 cores (98%), memory 7.5/8.0 GiB (94%)"
        );
        let ratio = r
            .samples
            .iter()
            .find(|s| s.name == "cpu_usage_ratio" && s.labels[0].value == "a")
            .unwrap();
        assert_eq!(ratio.value, 0.25);
    }

    #[test]
    fn missing_metrics_and_old_nodes() {
        let (p, age) = params(json!({"max_node_age": "30d", "cpu_warning": 0.5}));
        let nodes = [
            node("old", "4", "8Gi", "2026-11-01T00:00:00Z"),
            node("new", "4", "8Gi", "2027-01-10T00:00:00Z"),
            node("odd", "4", "8Gi", "2027-01-10T00:00:00Z"),
        ];
        let metrics = [metric("old", "100m", "1Gi"), metric("odd", "lots", "1Gi")];
        let r = assess(&p, age, &nodes, &metrics, NOW);
        assert_eq!(r.status, Status::Warning, "{}", r.summary);
        let messages: Vec<_> = r.findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "75d8h old, more than max_node_age 30d",
                "no metrics (kubelet or metrics-server not reporting it)",
                "cannot read its usage: \"lots\" is not a Kubernetes quantity",
            ]
        );
        // Off by default.
        let (p, age) = params(json!({}));
        let r = assess(&p, age, &nodes[..1], &metrics[..1], NOW);
        assert_eq!(r.status, Status::Ok, "{}", r.summary);
    }

    #[test]
    fn bad_parameters_are_named() {
        for (p, want) in [
            (
                json!({"cpu_warning": 0.95}),
                "cpu_warning (0.95) is above cpu_critical",
            ),
            (
                json!({"memory_critical": 0}),
                "memory_warning and memory_critical",
            ),
            (
                json!({"max_node_age": "a month"}),
                "max_node_age \"a month\"",
            ),
        ] {
            let p: Params = serde_json::from_value(p).unwrap();
            let e = p.validate().unwrap_err();
            assert!(e.contains(want), "{e}");
        }
        assert_eq!(parse_duration("1d12h"), Ok(129_600.0));
    }
}
