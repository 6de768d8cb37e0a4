//! The human report: one line per (check x cluster), then its findings; colour
//! when the output is a terminal (anstream strips it otherwise).

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};

use vitals_core::report::{CheckResult, Status};

/// The header's style.
pub(crate) const DIM: Style = Style::new().dimmed();

/// The colour of a status (with [`DIM`], the only escape sequences in the table).
pub(crate) fn style(status: Status) -> Style {
    let color = match status {
        Status::Ok => AnsiColor::Green,
        Status::Warning => AnsiColor::Yellow,
        Status::Critical => AnsiColor::Red,
        Status::Unknown => AnsiColor::Magenta,
    };
    Style::new().fg_color(Some(color.into())).bold()
}

fn painted(status: Status, width: usize) -> String {
    let s = style(status);
    format!("{s}{:<width$}{s:#}", status.as_str().to_uppercase())
}

/// Render results as a table. `verbose`: also list the findings of ok results.
pub fn render(results: &[CheckResult], verbose: bool) -> String {
    let mut out = String::new();
    if results.is_empty() {
        out.push_str("no checks to run\n");
        return out;
    }
    let wc = results
        .iter()
        .map(|r| r.check.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let wl = results
        .iter()
        .map(|r| r.cluster.len())
        .max()
        .unwrap_or(7)
        .max(7);
    let dim = DIM;
    let _ = writeln!(
        out,
        "{dim}{:<8}  {:<wc$}  {:<wl$}  {:>8}  SUMMARY{dim:#}",
        "STATUS", "CHECK", "CLUSTER", "TIME"
    );
    for r in results {
        let _ = writeln!(
            out,
            "{}  {:<wc$}  {:<wl$}  {:>7.2}s  {}",
            painted(r.status, 8),
            r.check,
            r.cluster,
            r.duration_seconds,
            r.summary
        );
        for f in &r.findings {
            if f.status == Status::Ok && !verbose {
                continue;
            }
            let _ = writeln!(
                out,
                "          {} {}: {}",
                painted(f.status, 8),
                f.subject,
                f.message
            );
        }
        if r.failure.is_some() && verbose && !r.output.trim().is_empty() {
            for line in r.output.trim_end().lines() {
                let _ = writeln!(out, "          {dim}| {line}{dim:#}");
            }
        }
    }
    let count = |s: Status| results.iter().filter(|r| r.status == s).count();
    let _ = writeln!(
        out,
        "\n{} runs: {} ok, {} warning, {} critical, {} unknown",
        results.len(),
        count(Status::Ok),
        count(Status::Warning),
        count(Status::Critical),
        count(Status::Unknown)
    );
    out
}
