//! A builder for [`Report`]s: findings raise the overall status as they are added.

use crate::{Finding, Label, Report, Sample, Status};

/// Accumulates findings and samples; [`ReportBuilder::finish`] produces the report.
#[derive(Default)]
pub struct ReportBuilder {
    status: Option<Status>,
    findings: Vec<Finding>,
    samples: Vec<Sample>,
}

impl ReportBuilder {
    /// An empty report (status ok until something says otherwise).
    pub fn new() -> Self {
        Self::default()
    }

    /// Record a finding about `subject`; the overall status becomes at least `status`.
    pub fn finding(
        &mut self,
        subject: impl Into<String>,
        status: Status,
        message: impl Into<String>,
    ) {
        self.raise(status);
        self.findings.push(Finding {
            subject: subject.into(),
            status,
            message: message.into(),
        });
    }

    /// Record a finding that does not by itself raise the overall status: a
    /// member that could not be observed (`unknown`) while the others speak for
    /// the cluster.
    pub fn note(&mut self, subject: impl Into<String>, status: Status, message: impl Into<String>) {
        self.findings.push(Finding {
            subject: subject.into(),
            status,
            message: message.into(),
        });
    }

    /// Raise the overall status to at least `status` without a finding.
    pub fn raise(&mut self, status: Status) {
        self.status = Some(self.status.unwrap_or(Status::Ok).max(status));
    }

    /// The overall status so far.
    pub fn status(&self) -> Status {
        self.status.unwrap_or(Status::Ok)
    }

    /// Add a sample; `labels` are `(name, value)` pairs.
    pub fn sample(&mut self, name: &str, help: &str, value: f64, labels: &[(&str, &str)]) {
        self.samples.push(Sample {
            name: name.into(),
            help: help.into(),
            value,
            labels: labels
                .iter()
                .map(|(n, v)| Label {
                    name: (*n).into(),
                    value: (*v).into(),
                })
                .collect(),
        });
    }

    /// Finish with a one-line summary.
    pub fn finish(self, summary: impl Into<String>) -> Report {
        Report {
            status: self.status(),
            summary: summary.into(),
            findings: self.findings,
            samples: self.samples,
        }
    }

    /// A report that says the system could not be observed.
    pub fn unknown(summary: impl Into<String>) -> Report {
        Report {
            status: Status::Unknown,
            summary: summary.into(),
            findings: vec![],
            samples: vec![],
        }
    }
}
