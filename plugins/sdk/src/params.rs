//! Parameter parsing: the check's `[params]` arrive as a JSON object.

use serde::de::DeserializeOwned;

/// Parse the params document into `T` (use `#[serde(default, deny_unknown_fields)]`
/// on `T` so that defaults apply and typos are reported). The error is one line
/// that names the offending parameter, suitable for an `unknown` report.
pub fn parse_params<T: DeserializeOwned>(json: &str) -> Result<T, String> {
    let json = if json.trim().is_empty() { "{}" } else { json };
    serde_json::from_str(json).map_err(|e| format!("invalid parameters: {e}"))
}
