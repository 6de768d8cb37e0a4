//! Checking a check's `[params]` against the parameter schema its plugin describes:
//! unknown names, missing required ones and values of the wrong kind are
//! configuration errors that name the file, line and key.

use std::path::Path;

use serde_json::{Map, Value};

use crate::config::{Check, ConfigError};

/// What a plugin says about itself (`describe`): name, version and parameters.
#[derive(Debug, Clone, Default)]
pub struct PluginDescription {
    pub name: String,
    pub version: String,
    pub description: String,
    pub params: Vec<ParamSpec>,
}

/// One parameter a plugin takes.
#[derive(Debug, Clone)]
pub struct ParamSpec {
    pub name: String,
    /// `string`, `integer`, `number`, `boolean`, `list` or `table`.
    pub kind: String,
    pub description: String,
    /// The default, as the plugin shows it.
    pub default_value: Option<String>,
    pub required: bool,
}

/// Validate `check.params` against `info.params`.
pub fn check_params(check: &Check, info: &PluginDescription) -> Result<(), ConfigError> {
    check_values(&check.params, info, &check.file, |key| {
        check.param_lines.get(key).copied()
    })
}

/// Validate `params` (from `file`, where `line_of` finds a key's line) against
/// `info.params`.
pub fn check_values(
    params: &Map<String, Value>,
    info: &PluginDescription,
    file: &Path,
    line_of: impl Fn(&str) -> Option<usize>,
) -> Result<(), ConfigError> {
    let err = |key: &str, message: String| ConfigError {
        path: file.to_owned(),
        line: line_of(key),
        message,
    };
    for (key, value) in params {
        let Some(spec) = info.params.iter().find(|p| &p.name == key) else {
            let known: Vec<&str> = info.params.iter().map(|p| p.name.as_str()).collect();
            return Err(err(
                key,
                format!(
                    "`params.{key}`: plugin {} has no parameter {key:?} (known: {})",
                    info.name,
                    if known.is_empty() {
                        "none".into()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        };
        let ok = match spec.kind.as_str() {
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "list" => value.is_array(),
            "table" => value.is_object(),
            _ => true,
        };
        if !ok {
            return Err(err(
                key,
                format!("`params.{key}`: expected {} but found {value}", spec.kind),
            ));
        }
    }
    if let Some(missing) = info
        .params
        .iter()
        .find(|p| p.required && !params.contains_key(&p.name))
    {
        return Err(ConfigError {
            path: file.to_owned(),
            line: None,
            message: format!(
                "`params.{}` is required by plugin {}: {}",
                missing.name, info.name, missing.description
            ),
        });
    }
    Ok(())
}
