//! Kubernetes API reads through the host's read-only `kubernetes` capability, plus
//! the helpers checks over Kubernetes objects need: paginated lists, label
//! selector matching and API timestamps.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde_json::Value;

pub use crate::bindings::vitals::check::kubernetes::{ApiStatus, Error, ListOptions, Read};

/// Page size of [`list_all`].
const PAGE: u32 = 500;

impl Error {
    /// The message, whatever the kind.
    pub fn message(&self) -> String {
        match self {
            Self::Denied(m) | Self::Unreachable(m) | Self::Timeout(m) | Self::Tls(m) => m.clone(),
            Self::Api(s) => format!("HTTP {} {}: {}", s.code, s.reason, s.message),
        }
    }

    /// The kind as a word: denied, unreachable, timeout, tls, api.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Denied(_) => "denied",
            Self::Unreachable(_) => "unreachable",
            Self::Timeout(_) => "timeout",
            Self::Tls(_) => "tls",
            Self::Api(_) => "api",
        }
    }

    /// The API server answered 404: the object, or the resource in that API
    /// version, does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Api(s) if s.code == 404)
    }
}

impl std::fmt::Display for ApiStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {} {}: {}", self.code, self.reason, self.message)
    }
}

fn decode(path: &str, text: &str) -> Result<Value, Error> {
    serde_json::from_str(text).map_err(|e| {
        Error::Api(ApiStatus {
            code: 0,
            reason: "InvalidJSON".into(),
            message: format!("{path}: the answer is not JSON: {e}"),
        })
    })
}

/// GET one object or discovery document of the granted kubernetes endpoint
/// `endpoint`, e.g. `/api/v1/namespaces/kube-system/configmaps/cilium-config`.
pub fn get(endpoint: &str, path: &str) -> Result<Value, Error> {
    let text = crate::bindings::vitals::check::kubernetes::get(endpoint, path)?;
    decode(path, &text)
}

/// LIST every object of a collection, following `metadata.continue` page by page.
pub fn list_all(
    endpoint: &str,
    path: &str,
    label_selector: Option<&str>,
) -> Result<Vec<Value>, Error> {
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let options = ListOptions {
            label_selector: label_selector.map(str::to_string),
            field_selector: None,
            limit: Some(PAGE),
            continue_token: token.take(),
        };
        let text = crate::bindings::vitals::check::kubernetes::list(endpoint, path, &options)?;
        let mut page = decode(path, &text)?;
        if let Some(Value::Array(a)) = page.get_mut("items").map(Value::take) {
            items.extend(a);
        }
        match page.pointer("/metadata/continue").and_then(Value::as_str) {
            Some(c) if !c.is_empty() => token = Some(c.to_string()),
            _ => return Ok(items),
        }
    }
}

/// GET several objects at once (`(endpoint, path)` each, see [`get`]): the
/// answers in order, after about the slowest one's time.
pub fn get_all(gets: &[(&str, &str)]) -> Vec<Result<Value, Error>> {
    let reads: Vec<Read> = gets
        .iter()
        .map(|(endpoint, path)| Read {
            endpoint: endpoint.to_string(),
            path: path.to_string(),
            list: None,
        })
        .collect();
    let mut answers = crate::bindings::vitals::check::kubernetes::batch(&reads).into_iter();
    gets.iter()
        .map(|(_, path)| decode(path, &answers.next().unwrap_or_else(no_answer)?))
        .collect()
}

/// What stands for an answer the host did not give (it gives one per read).
fn no_answer<T>() -> Result<T, Error> {
    Err(Error::Denied("the host gave no answer to this read".into()))
}

/// [`list_all_of`] for a fixed number of collections:
/// `let [nodes, leases] = list_each([(ep, "/api/v1/nodes", None), (ep, LEASES, None)]);`
pub fn list_each<const N: usize>(
    lists: [(&str, &str, Option<&str>); N],
) -> [Result<Vec<Value>, Error>; N] {
    let mut all = list_all_of(&lists).into_iter();
    std::array::from_fn(|_| all.next().unwrap_or_else(no_answer))
}

/// LIST several collections at once, every page of each (`(endpoint, path,
/// label_selector)` each, see [`list_all`]): first pages together, then the
/// next pages of those that have more, together, round by round. The items in
/// the order of `lists`, after about the slowest collection's time.
pub fn list_all_of(lists: &[(&str, &str, Option<&str>)]) -> Vec<Result<Vec<Value>, Error>> {
    list_all_of_paged(lists, PAGE)
}

/// [`list_all_of`], `page` objects a request (at least 1).
pub fn list_all_of_paged(
    lists: &[(&str, &str, Option<&str>)],
    page: u32,
) -> Vec<Result<Vec<Value>, Error>> {
    let mut items: Vec<Result<Vec<Value>, Error>> = lists.iter().map(|_| Ok(Vec::new())).collect();
    // `Some(token)`: a page still to read (`None`: the first).
    let mut next: Vec<Option<Option<String>>> = vec![Some(None); lists.len()];
    loop {
        let pending: Vec<usize> = (0..lists.len()).filter(|&i| next[i].is_some()).collect();
        if pending.is_empty() {
            return items;
        }
        let reads: Vec<Read> = pending
            .iter()
            .map(|&i| {
                let (endpoint, path, selector) = lists[i];
                Read {
                    endpoint: endpoint.to_string(),
                    path: path.to_string(),
                    list: Some(ListOptions {
                        label_selector: selector.map(str::to_string),
                        field_selector: None,
                        limit: Some(page.max(1)),
                        continue_token: next[i].take().flatten(),
                    }),
                }
            })
            .collect();
        let mut answers = crate::bindings::vitals::check::kubernetes::batch(&reads).into_iter();
        for &i in &pending {
            let answer = answers.next().unwrap_or_else(no_answer);
            let mut page = match answer.and_then(|text| decode(lists[i].1, &text)) {
                Ok(page) => page,
                Err(e) => {
                    items[i] = Err(e);
                    continue;
                }
            };
            if let (Ok(all), Some(Value::Array(a))) =
                (&mut items[i], page.get_mut("items").map(Value::take))
            {
                all.extend(a);
            }
            if let Some(c) = page
                .pointer("/metadata/continue")
                .and_then(Value::as_str)
                .filter(|c| !c.is_empty())
            {
                next[i] = Some(Some(c.to_string()));
            }
        }
    }
}

/// GET one object into a type of the plugin's own: a serde struct with just the
/// fields the check reads (`#[serde(rename_all = "camelCase")]`, `Option` for
/// fields that may be absent).
pub fn get_as<T: DeserializeOwned>(endpoint: &str, path: &str) -> Result<T, Error> {
    typed(path, get(endpoint, path)?)
}

/// LIST every object of a collection (all pages) into the plugin's own type.
pub fn list_as<T: DeserializeOwned>(
    endpoint: &str,
    path: &str,
    label_selector: Option<&str>,
) -> Result<Vec<T>, Error> {
    list_all(endpoint, path, label_selector)?
        .into_iter()
        .map(|v| typed(path, v))
        .collect()
}

/// An object as `T`; a shape that does not fit is an `api` error naming the path.
pub fn typed<T: DeserializeOwned>(path: &str, v: Value) -> Result<T, Error> {
    serde_json::from_value(v).map_err(|e| {
        Error::Api(ApiStatus {
            code: 0,
            reason: "UnexpectedObject".into(),
            message: format!("{path}: {e}"),
        })
    })
}

/// A string at a JSON pointer (`/metadata/name`), or "".
pub fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// `namespace/name`, or `name` for cluster-scoped objects.
pub fn object_ref(v: &Value) -> String {
    match str_at(v, "/metadata/namespace") {
        "" => str_at(v, "/metadata/name").to_string(),
        ns => format!("{ns}/{}", str_at(v, "/metadata/name")),
    }
}

/// Whether the labels of an object match a `LabelSelector`
/// (`matchLabels` and `matchExpressions` with In, NotIn, Exists, DoesNotExist).
/// An empty or absent selector matches everything, as in the API.
pub fn selector_matches(selector: Option<&Value>, labels: Option<&Value>) -> bool {
    let Some(sel) = selector.filter(|s| !s.is_null()) else {
        return true;
    };
    let label = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
    if let Some(Value::Object(m)) = sel.get("matchLabels")
        && !m.iter().all(|(k, v)| label(k) == v.as_str())
    {
        return false;
    }
    if let Some(Value::Array(exprs)) = sel.get("matchExpressions") {
        for e in exprs {
            let key = str_at(e, "/key");
            let values: Vec<&str> = e
                .get("values")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let have = label(key);
            let ok = match str_at(e, "/operator") {
                "In" => have.is_some_and(|h| values.contains(&h)),
                "NotIn" => !have.is_some_and(|h| values.contains(&h)),
                "Exists" => have.is_some(),
                "DoesNotExist" => have.is_none(),
                _ => false,
            };
            if !ok {
                return false;
            }
        }
    }
    true
}

/// Seconds since the Unix epoch of an API timestamp (RFC 3339 in UTC, as the API
/// server writes them: `2026-11-20T09:14:03Z`, `2026-11-20T09:14:03.512345Z`).
pub fn parse_time(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let rest = &s[19..];
    let (frac, zone) = match rest.strip_prefix('.') {
        Some(r) => {
            let digits = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
            (
                format!("0.{}", &r[..digits]).parse::<f64>().ok()?,
                &r[digits..],
            )
        }
        None => (0.0, rest),
    };
    let offset = match zone {
        "Z" | "z" => 0,
        z if z.len() == 6 && (z.starts_with('+') || z.starts_with('-')) => {
            let hh: i64 = z[1..3].parse().ok()?;
            let mm: i64 = z[4..6].parse().ok()?;
            let o = hh * 3600 + mm * 60;
            if z.starts_with('+') { o } else { -o }
        }
        _ => return None,
    };
    // Days from civil (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + h * 3600 + mi * 60 + sec - offset) as f64 + frac)
}

/// Now, in seconds since the Unix epoch (the host's wall clock).
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs_f64()
}

#[cfg(test)]
mod tests {

    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Pvc {
        metadata: Meta,
        status: Option<PvcStatus>,
    }
    #[derive(serde::Deserialize)]
    struct Meta {
        name: String,
    }
    #[derive(serde::Deserialize)]
    struct PvcStatus {
        phase: String,
    }

    #[test]
    fn objects_become_the_plugins_types() {
        let v = serde_json::json!({"metadata": {"name": "data-0", "uid": "x"}, "status": {"phase": "Lost"}});
        let pvc: Pvc = typed("/api/v1/persistentvolumeclaims", v).unwrap();
        assert_eq!(pvc.metadata.name, "data-0");
        assert_eq!(pvc.status.unwrap().phase, "Lost");
        let e = typed::<Pvc>("/api/v1/x", serde_json::json!({"status": {}}))
            .err()
            .unwrap();
        assert!(
            e.message().contains("/api/v1/x: missing field"),
            "{}",
            e.message()
        );
    }

    use super::*;
    use serde_json::json;

    #[test]
    fn api_timestamps_parse() {
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(parse_time("2026-11-20T09:14:03Z"), Some(1_795_166_043.0));
        let t = parse_time("2026-11-20T09:14:03.512345Z").unwrap();
        assert!((t - 1_795_166_043.512345).abs() < 1e-6, "{t}");
        assert_eq!(
            parse_time("2026-11-20T10:14:03+01:00"),
            Some(1_795_166_043.0)
        );
        for bad in [
            "",
            "2026-11-20",
            "2026-13-20T09:14:03Z",
            "2026-11-20T09:14:03",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn label_selectors_match() {
        let labels = json!({"app": "web", "tier": "front"});
        let sel = json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["front", "edge"]},
                {"key": "node-role.kubernetes.io/control-plane", "operator": "DoesNotExist"}
            ]
        });
        assert!(selector_matches(Some(&sel), Some(&labels)));
        assert!(selector_matches(None, Some(&labels)));
        assert!(selector_matches(Some(&json!({})), None));
        let other = json!({"app": "db", "tier": "front"});
        assert!(!selector_matches(Some(&sel), Some(&other)));
        let cp =
            json!({"app": "web", "tier": "front", "node-role.kubernetes.io/control-plane": "true"});
        assert!(!selector_matches(Some(&sel), Some(&cp)));
        let notin = json!({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["front"]}]});
        assert!(!selector_matches(Some(&notin), Some(&labels)));
        assert!(selector_matches(Some(&notin), None));
    }
}
