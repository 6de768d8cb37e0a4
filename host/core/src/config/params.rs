//! A check's parameters: TOML values as JSON, with the line of each key.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::source::Source;
use super::{ConfigError, Params};

/// Parameters from a file for `vitals test --params`: a JSON object (`*.json`), or
/// TOML whose `[params]` table (a check file) or top level holds them. Returns
/// the parameters and the line of each key (TOML).
pub fn load_params(path: &Path) -> Result<(Params, BTreeMap<String, usize>), ConfigError> {
    let src = Source::read(path, "cannot read")?;
    if path.extension().is_some_and(|e| e == "json") {
        return match serde_json::from_str::<serde_json::Value>(&src.text) {
            Ok(serde_json::Value::Object(m)) => Ok((m, BTreeMap::new())),
            Ok(_) => Err(ConfigError::file(
                path,
                "expected a JSON object of parameters",
            )),
            Err(e) => Err(src.error_on_line(e.line(), e.to_string())),
        };
    }
    #[derive(Deserialize)]
    struct CheckFile {
        params: BTreeMap<Spanned<String>, toml::Value>,
    }
    let doc: toml::Table = src.parse()?;
    let raw: BTreeMap<Spanned<String>, toml::Value> = if doc.contains_key("params") {
        src.parse::<CheckFile>()?.params
    } else {
        src.parse()?
    };
    to_json(&src, raw, "")
}

/// Convert parameters to JSON, noting each key's line; an error names the key
/// as `{prefix}{key}`.
pub(super) fn to_json(
    src: &Source,
    raw: BTreeMap<Spanned<String>, toml::Value>,
    prefix: &str,
) -> Result<(Params, BTreeMap<String, usize>), ConfigError> {
    let mut params = Params::new();
    let mut lines = BTreeMap::new();
    for (k, v) in raw {
        let line = src.line(k.span().start);
        let value = serde_json::to_value(&v)
            .map_err(|e| src.error_on_line(line, format!("`{prefix}{}`: {e}", k.get_ref())))?;
        lines.insert(k.get_ref().clone(), line);
        params.insert(k.into_inner(), value);
    }
    Ok((params, lines))
}
