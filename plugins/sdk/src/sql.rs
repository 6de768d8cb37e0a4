//! SQL queries (MySQL protocol) through the host's read-only `sql` capability.

use std::collections::BTreeMap;

pub use crate::bindings::vitals::check::sql::{Error, Rows};

crate::capability_error!(Error);

/// Run one read-only statement (`SHOW ...` or `SELECT`) on `url` of the granted
/// mysql endpoint `endpoint`.
pub fn query(endpoint: &str, url: &str, statement: &str) -> Result<Rows, Error> {
    crate::bindings::vitals::check::sql::query(endpoint, url, statement)
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
