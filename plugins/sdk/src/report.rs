//! A builder for [`Report`]s: findings raise the overall status as they are added.

use crate::{Finding, Label, Report, Sample, Status};

/// Accumulates findings and samples; [`ReportBuilder::finish`] produces the report.
#[derive(Default)]
pub struct ReportBuilder {
    status: Option<Status>,
    findings: Vec<Finding>,
    samples: Vec<Sample>,
    /// The first of the most severe findings worse than ok (notes aside).
    worst: Option<usize>,
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
        if status.rank() > self.worst().map_or(0, |w| w.status.rank()) {
            self.worst = Some(self.findings.len());
        }
        self.findings.push(Finding {
            subject: subject.into(),
            status,
            message: message.into(),
        });
    }

    /// The first of the most severe findings worse than ok; notes aside.
    pub fn worst(&self) -> Option<&Finding> {
        self.worst.map(|i| &self.findings[i])
    }

    /// [`ReportBuilder::finish`] with `head`, then the worst finding's subject
    /// and message (`head; subject: message`), as the host lists findings
    /// worst first; just `head` when every finding is ok.
    pub fn finish_naming_worst(self, head: impl Into<String>) -> Report {
        let head = head.into();
        let summary = match self.worst() {
            Some(w) => format!("{head}; {}: {}", w.subject, w.message),
            None => head,
        };
        self.finish(summary)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_the_first_of_the_worst_findings_and_no_note() {
        let mut r = ReportBuilder::new();
        r.finding("a", Status::Ok, "fine");
        assert!(r.worst().is_none());
        r.note("b", Status::Unknown, "not observed");
        r.finding("c", Status::Warning, "slow");
        r.finding("d", Status::Critical, "down");
        r.finding("e", Status::Critical, "also down");
        r.finding("f", Status::Warning, "slow too");
        let report = r.finish_naming_worst("5 judged");
        assert_eq!(report.summary, "5 judged; d: down");
        assert_eq!(report.status, Status::Critical);
        assert_eq!(report.findings.len(), 6);

        let mut r = ReportBuilder::new();
        r.finding("a", Status::Ok, "fine");
        r.note("b", Status::Critical, "a note");
        assert_eq!(r.finish_naming_worst("all ok").summary, "all ok");
    }
}
