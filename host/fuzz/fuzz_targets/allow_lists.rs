//! The read-only allow-lists against independent oracles: a Redis command is
//! accepted only if it is one of a fixed list of queries; an SQL statement only
//! if, past comments, whitespace and parentheses, it starts with a query's
//! keyword and holds no executable comment. (Found on the way: `;SELECT ...` is
//! one statement after an empty one, which the oracle first read as a write.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use vitals_core::allow;

// Written out again on purpose: an oracle that read the allow-list's own
// constants would agree with any mistake in them.
const REDIS: &[&str] = &["PING", "ECHO", "INFO", "ROLE", "TIME", "DBSIZE", "LASTSAVE"];
const SENTINEL: &[&str] = &[
    "MASTERS",
    "MASTER",
    "REPLICAS",
    "SLAVES",
    "SENTINELS",
    "GET-MASTER-ADDR-BY-NAME",
    "CKQUORUM",
    "MYID",
    "INFO-CACHE",
];

/// The first word of a statement, past whitespace, comments, parentheses and
/// empty statements (`;`).
fn first_keyword(sql: &str) -> String {
    let mut rest = sql;
    loop {
        let trimmed = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '(' || c == ';');
        if let Some(after) = trimmed.strip_prefix("/*") {
            rest = after.split_once("*/").map_or("", |(_, r)| r);
        } else if trimmed.starts_with("--") || trimmed.starts_with('#') {
            rest = trimmed.split_once('\n').map_or("", |(_, r)| r);
        } else {
            rest = trimmed;
            break;
        }
    }
    rest.chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_uppercase()
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let args: Vec<String> = text.split(' ').map(String::from).collect();
    if allow::redis_command(&args).is_ok() {
        let name = args[0].to_ascii_uppercase();
        let sub = args
            .get(1)
            .map(|s| s.to_ascii_uppercase())
            .unwrap_or_default();
        assert!(
            REDIS.contains(&name.as_str())
                || (name == "SENTINEL" && SENTINEL.contains(&sub.as_str())),
            "accepted {args:?}"
        );
    }
    if allow::sql_statement(&text).is_ok() {
        let first = first_keyword(&text);
        assert!(
            ["SELECT", "SHOW", "WITH", "VALUES", "TABLE"].contains(&first.as_str()),
            "accepted {text:?} (first keyword {first:?})"
        );
        assert!(!text.contains("/*!"), "accepted {text:?}");
    }
});
