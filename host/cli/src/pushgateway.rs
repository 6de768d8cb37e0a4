//! `--pushgateway URL`: push the exposition to a Prometheus Pushgateway, one group
//! per cluster: `/metrics/job/vitals/instance/<host>/cluster/<cluster>`. `PUT`
//! replaces the group, so series of checks that no longer run disappear, while other
//! clusters and other hosts (other groups) are left alone.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use base64::Engine as _;

use vitals_core::report::CheckResult;

/// This host's name, for the `instance` grouping label.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// A grouping-key path segment `name/value`; values that are not plain are sent
/// base64url-encoded (`name@base64/...`), as the Pushgateway defines.
fn segment(name: &str, value: &str) -> String {
    if !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        format!("{name}/{value}")
    } else {
        format!(
            "{name}@base64/{}",
            base64::engine::general_purpose::URL_SAFE.encode(value)
        )
    }
}

/// Push each cluster's results, rendered by `render`, to its own group. Blocking:
/// call from a blocking task.
pub fn push(
    base: &str,
    instance: &str,
    results: &[CheckResult],
    render: impl Fn(&[CheckResult]) -> String,
) -> anyhow::Result<()> {
    let mut by_cluster: BTreeMap<&str, Vec<CheckResult>> = BTreeMap::new();
    for r in results {
        by_cluster
            .entry(r.cluster.as_str())
            .or_default()
            .push(r.clone());
    }
    let agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .build()
        .new_agent();
    for (cluster, results) in by_cluster {
        let url = format!(
            "{}/metrics/job/vitals/{}/{}",
            base.trim_end_matches('/'),
            segment("instance", instance),
            segment("cluster", cluster)
        );
        let body = render(&results);
        let mut resp = agent
            .put(&url)
            .header("Content-Type", "text/plain; version=0.0.4")
            .send(body.as_bytes())
            .with_context(|| format!("PUT {url}"))?;
        if !resp.status().is_success() {
            let text = resp.body_mut().read_to_string().unwrap_or_default();
            anyhow::bail!("PUT {url}: HTTP {}: {}", resp.status(), text.trim());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::segment;

    #[test]
    fn grouping_values_are_encoded_when_needed() {
        assert_eq!(segment("cluster", "prod-1"), "cluster/prod-1");
        assert_eq!(segment("cluster", "eu/prod"), "cluster@base64/ZXUvcHJvZA==");
        assert_eq!(segment("cluster", ""), "cluster@base64/");
    }
}
