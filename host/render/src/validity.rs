//! Whether every output of some results is valid, by real parsers: the
//! Prometheus text format and OpenMetrics with `openmetrics-parser` plus the rules
//! it does not check (reserved label names, HELP escapes), JSON with serde_json,
//! JUnit as XML (roxmltree), and the human table without a control character but
//! newlines. The oracle of the property test and of the fuzz target `render`.

use prometheus_client::registry::Registry;

use crate::metrics::RunnerMetrics;
use crate::prometheus::{Exposition, encode, register_results, render};
use crate::{human, json, junit};
use vitals_core::report::{CheckResult, Status};

/// Render `results` in every format and parse each output; the error names the
/// format, what is wrong and the output.
pub fn check(results: &[CheckResult]) -> Result<(), String> {
    let text = render(results, &RunnerMetrics::default());
    if let Err(e) = openmetrics_parser::prometheus::parse_prometheus(&uniform_label_names(&text)) {
        return Err(format!("text format: {e:?}\n{text}"));
    }
    check_rules(&text).map_err(|e| format!("{e}\n{text}"))?;

    let mut registry = Registry::default();
    register_results(&mut registry, results);
    RunnerMetrics::default().register(&mut registry);
    let om = encode(&registry, Exposition::OpenMetrics);
    if let Err(e) = openmetrics_parser::openmetrics::parse_openmetrics(&uniform_label_names(&om)) {
        return Err(format!("OpenMetrics: {e:?}\n{om}"));
    }
    check_rules(&om).map_err(|e| format!("{e}\n{om}"))?;

    let doc = json::render(results);
    if let Err(e) = serde_json::from_str::<serde_json::Value>(&doc) {
        return Err(format!("JSON: {e}\n{doc}"));
    }
    for fail_at in [Status::Warning, Status::Critical] {
        let xml = junit::render(results, fail_at);
        if let Err(e) = roxmltree::Document::parse(&xml) {
            return Err(format!("JUnit: {e}\n{xml}"));
        }
    }
    for verbose in [false, true] {
        // Without the host's own colours, which anstream strips off a terminal.
        let mut table = human::render(results, verbose);
        let statuses = [
            Status::Ok,
            Status::Warning,
            Status::Critical,
            Status::Unknown,
        ];
        for style in statuses.map(human::style).into_iter().chain([human::DIM]) {
            table = table
                .replace(&style.to_string(), "")
                .replace(&format!("{style:#}"), "");
        }
        if table.chars().any(|c| c.is_control() && c != '\n') {
            return Err(format!("a control character in the table: {table:?}"));
        }
    }
    Ok(())
}

/// A sample line taken apart: name, label pairs (values as written, escapes
/// and all), and what follows the labels (` value`).
fn split_sample(line: &str) -> (&str, Vec<(String, String)>, &str) {
    let Some((name, rest)) = line.split_once('{') else {
        let (name, value) = line.split_once(' ').unwrap_or((line, ""));
        return (name, Vec::new(), value);
    };
    let mut labels = Vec::new();
    let (mut label, mut value) = (String::new(), String::new());
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '=' => {
                chars.next(); // the opening quote
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\\' => {
                            value.push(c);
                            value.extend(chars.next().map(|(_, c)| c));
                        }
                        '"' => break,
                        c => value.push(c),
                    }
                }
                labels.push((std::mem::take(&mut label), std::mem::take(&mut value)));
            }
            ',' => {}
            '}' => return (name, labels, &rest[i + 1..]),
            c => label.push(c),
        }
    }
    (name, labels, "")
}

/// The exposition with every series of a family given the family's label names
/// (`name=""` where it has none, which Prometheus reads as the same series):
/// openmetrics-parser wants one label set per family, which the formats do not.
fn uniform_label_names(exposition: &str) -> String {
    let mut names: std::collections::BTreeMap<&str, std::collections::BTreeSet<String>> =
        Default::default();
    for line in exposition.lines().filter(|l| !l.starts_with('#')) {
        let (name, labels, _) = split_sample(line);
        names
            .entry(name)
            .or_default()
            .extend(labels.into_iter().map(|(l, _)| l));
    }
    let mut out = String::new();
    for line in exposition.lines() {
        if line.starts_with('#') {
            out.push_str(line);
        } else {
            let (name, labels, rest) = split_sample(line);
            let mut all: std::collections::BTreeMap<String, String> = labels.into_iter().collect();
            for label in &names[name] {
                all.entry(label.clone()).or_default();
            }
            let pairs: Vec<String> = all.iter().map(|(l, v)| format!("{l}=\"{v}\"")).collect();
            if pairs.is_empty() {
                out.push_str(&format!("{name} {}", rest.trim_start()));
            } else {
                out.push_str(&format!("{name}{{{}}}{rest}", pairs.join(",")));
            }
        }
        out.push('\n');
    }
    out
}

/// What the parser does not check: label names (none reserved: `__name__` would
/// make Prometheus fail the scrape) and HELP escapes (only `\\` and `\n`, no
/// `"`). Quoted label values are skipped with their escapes.
fn check_rules(exposition: &str) -> Result<(), String> {
    for line in exposition.lines() {
        if let Some(help) = line.strip_prefix("# HELP ") {
            let text = help.split_once(' ').map_or("", |(_, t)| t);
            let mut chars = text.chars();
            while let Some(c) = chars.next() {
                match c {
                    '"' => return Err(format!("a double quote in HELP: {line}")),
                    '\\' if !matches!(chars.next(), Some('\\' | 'n')) => {
                        return Err(format!("a bad escape in HELP: {line}"));
                    }
                    _ => {}
                }
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let Some((_, labels)) = line.split_once('{') else {
            continue;
        };
        let mut chars = labels.chars();
        let mut name = String::new();
        while let Some(c) = chars.next() {
            match c {
                '=' => {
                    if name.starts_with('_') || name.is_empty() {
                        return Err(format!("label name {name:?}: {line}"));
                    }
                    name.clear();
                    chars.next(); // the opening quote
                    while let Some(c) = chars.next() {
                        match c {
                            '\\' => {
                                chars.next();
                            }
                            '"' => break,
                            _ => {}
                        }
                    }
                }
                ',' => {}
                '}' => break,
                c => name.push(c),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_names_are_made_uniform_for_the_parser() {
        let text = "# TYPE a gauge\na{x=\"1\"} 1\na{y=\"a\\\"b,c=\\\\\"} 2\nb 3\n";
        assert_eq!(
            uniform_label_names(text),
            "# TYPE a gauge\na{x=\"1\",y=\"\"} 1\na{x=\"\",y=\"a\\\"b,c=\\\\\"} 2\nb 3\n"
        );
    }

    #[test]
    fn the_rules_checker_finds_what_it_looks_for() {
        assert!(check_rules("a{__name__=\"x\"} 1\n").is_err());
        assert!(check_rules("a{ok=\"_x, __name__=\\\"y\"} 1\n").is_ok());
        assert!(check_rules("# HELP a back\\slash\n").is_err());
        assert!(check_rules("# HELP a \"q\"\n").is_err());
        assert!(check_rules("# HELP a ok\\\\ \\n\n").is_ok());
    }
}
