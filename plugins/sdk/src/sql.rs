//! SQL queries (MySQL protocol) through the host's read-only `sql` capability.

use std::collections::BTreeMap;

use crate::bindings::vitals::check::sql::Request;
pub use crate::bindings::vitals::check::sql::{Error, Rows};

crate::capability_error!(Error);

/// Run one read-only statement (`SHOW ...` or `SELECT`) on `url` of the granted
/// mysql endpoint `endpoint`.
pub fn query(endpoint: &str, url: &str, statement: &str) -> Result<Rows, Error> {
    crate::bindings::vitals::check::sql::query(endpoint, url, statement)
}

/// Several statements at once, each `(endpoint, url, statement)` as for [`query`]:
/// the results in the same order, after about the slowest one's time (ask every
/// node together).
pub fn query_all(calls: &[(&str, &str, &str)]) -> Vec<Result<Rows, Error>> {
    let requests: Vec<Request> = calls
        .iter()
        .map(|(endpoint, url, statement)| Request {
            endpoint: endpoint.to_string(),
            url: url.to_string(),
            statement: statement.to_string(),
        })
        .collect();
    crate::bindings::vitals::check::sql::query_all(&requests)
}

/// Each row as a map from column name to value (`None` is SQL NULL), for
/// results read by name (`SELECT ... FROM information_schema...`).
pub fn records(rows: &Rows) -> Vec<BTreeMap<String, Option<String>>> {
    rows.rows
        .iter()
        .map(|row| {
            rows.columns
                .iter()
                .cloned()
                .zip(row.iter().cloned())
                .collect()
        })
        .collect()
}

/// The rows of a two-column result (`SHOW STATUS`, `SHOW VARIABLES`) as a map from
/// the first column to the second.
pub fn name_values(rows: &Rows) -> BTreeMap<String, String> {
    rows.rows
        .iter()
        .filter_map(|r| match r.as_slice() {
            [Some(k), v, ..] => Some((k.clone(), v.clone().unwrap_or_default())),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_records_by_column() {
        let rows = Rows {
            columns: vec!["host".into(), "state".into()],
            rows: vec![
                vec![Some("db-1".into()), Some("Synced".into())],
                vec![Some("db-2".into()), None],
            ],
        };
        let r = records(&rows);
        assert_eq!(r[0]["host"].as_deref(), Some("db-1"));
        assert_eq!(r[1]["state"], None);
    }
}
