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
    /// `string`, `integer`, `number`, `boolean`, `table`, `list` or `list<KIND>`.
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
        if let Err(why) = check_kind(&spec.kind, value) {
            return Err(err(
                key,
                format!(
                    "`params.{key}`: expected {} but found {value}{why}",
                    spec.kind
                ),
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

/// Whether `value` is of `kind`: `string`, `integer`, `number`, `boolean`,
/// `table`, `list` (any elements) or `list<KIND>` (every element of KIND). An
/// unknown kind accepts anything. The error explains a wrong element.
fn check_kind(kind: &str, value: &Value) -> Result<(), String> {
    let ok = match kind {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "list" => value.is_array(),
        "table" => value.is_object(),
        _ => match kind.strip_prefix("list<").and_then(|k| k.strip_suffix('>')) {
            Some(element) => {
                let Value::Array(items) = value else {
                    return Err(String::new());
                };
                for (i, item) in items.iter().enumerate() {
                    check_kind(element, item)
                        .map_err(|_| format!(" (element {} is {item}, not {element})", i + 1))?;
                }
                true
            }
            None => true,
        },
    };
    if ok { Ok(()) } else { Err(String::new()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_checked_against_their_kind_and_list_elements_too() {
        let good = [
            ("string", json!("a")),
            ("integer", json!(3)),
            ("number", json!(2.5)),
            ("boolean", json!(true)),
            ("table", json!({"a": 1})),
            ("list", json!([1, "a"])),
            ("list<string>", json!(["a", "b"])),
            ("list<integer>", json!([])),
            ("list<list<integer>>", json!([[1], [2, 3]])),
            ("something-new", json!(null)),
        ];
        for (kind, value) in good {
            assert_eq!(check_kind(kind, &value), Ok(()), "{kind} {value}");
        }
        assert_eq!(check_kind("integer", &json!(2.5)), Err(String::new()));
        assert_eq!(check_kind("list<string>", &json!("a")), Err(String::new()));
        assert_eq!(
            check_kind("list<string>", &json!(["a", 1])),
            Err(" (element 2 is 1, not string)".into())
        );
    }
}
