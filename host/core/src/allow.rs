//! What the read-only capabilities let through, as pure functions (fuzzed in
//! `host/fuzz`): the Redis commands and SQL statements a plugin may send, and the
//! Kubernetes API paths a check's grants let it read. Each capability module of
//! the runtime asks here before any I/O.

use sqlparser::ast::{Query, SetExpr, Statement};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;

use crate::grants::{NEVER, ResourceGrant, is_name};

/// Commands a plugin may send: queries only.
const ALLOWED: &[&str] = &["PING", "ECHO", "INFO", "ROLE", "TIME", "DBSIZE", "LASTSAVE"];
/// `SENTINEL` subcommands a plugin may send: queries only (no FAILOVER, SET,
/// RESET, REMOVE, MONITOR, CONFIG, IS-MASTER-DOWN-BY-ADDR, ...).
const SENTINEL_ALLOWED: &[&str] = &[
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
/// Arguments per command.
const MAX_ARGS: usize = 64;

/// Whether a command is a read-only query the capability allows.
pub fn redis_command(args: &[String]) -> Result<(), String> {
    let Some(name) = args.first() else {
        return Err("empty command".into());
    };
    let name = name.to_ascii_uppercase();
    if args.len() > MAX_ARGS {
        return Err(format!("{name}: more than {MAX_ARGS} arguments"));
    }
    if ALLOWED.contains(&name.as_str()) {
        return Ok(());
    }
    if name == "SENTINEL" {
        let sub = args
            .get(1)
            .map(|s| s.to_ascii_uppercase())
            .unwrap_or_default();
        if SENTINEL_ALLOWED.contains(&sub.as_str()) {
            return Ok(());
        }
        return Err(format!(
            "SENTINEL {sub} is not allowed: the redis capability is read-only (SENTINEL {})",
            SENTINEL_ALLOWED.join(", ")
        ));
    }
    Err(format!(
        "{name} is not allowed: the redis capability is read-only ({}, SENTINEL queries)",
        ALLOWED.join(", ")
    ))
}

/// Longest statement accepted.
const MAX_STATEMENT: usize = 16 << 10;
/// Whether `statement` is one read-only statement: `SHOW ...`, or `SELECT` without
/// `INTO` and without locking clauses.
pub fn sql_statement(statement: &str) -> Result<(), String> {
    if statement.len() > MAX_STATEMENT {
        return Err(format!("statement longer than {MAX_STATEMENT} bytes"));
    }
    // MySQL and MariaDB execute what is in `/*! ... */` (and `/*M! ... */`): a
    // parser that skips it as a comment would let anything through.
    if statement.contains("/*!") || statement.contains("/*M!") {
        return Err("executable comments (/*! ... */) are not allowed".into());
    }
    let parsed = Parser::parse_sql(&MySqlDialect {}, statement)
        .map_err(|e| format!("cannot parse the statement: {e}"))?;
    let [one] = parsed.as_slice() else {
        return Err(format!("one statement per query ({} given)", parsed.len()));
    };
    match one {
        Statement::Query(q) => query_read_only(q),
        Statement::ShowStatus { .. }
        | Statement::ShowVariables { .. }
        | Statement::ShowVariable { .. }
        | Statement::ShowDatabases { .. }
        | Statement::ShowSchemas { .. }
        | Statement::ShowTables { .. }
        | Statement::ShowColumns { .. }
        | Statement::ShowCreate { .. }
        | Statement::ShowCollation { .. }
        | Statement::ShowFunctions { .. }
        | Statement::ShowViews { .. }
        | Statement::ShowProcessList { .. } => Ok(()),
        other => Err(format!(
            "only SHOW and SELECT are allowed: the sql capability is read-only (got {})",
            other
                .to_string()
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        )),
    }
}

fn query_read_only(q: &Query) -> Result<(), String> {
    if !q.locks.is_empty() {
        return Err("locking reads (FOR UPDATE / FOR SHARE) are not allowed".into());
    }
    if let Some(with) = &q.with {
        for cte in &with.cte_tables {
            query_read_only(&cte.query)?;
        }
    }
    set_expr_read_only(&q.body)
}

fn set_expr_read_only(e: &SetExpr) -> Result<(), String> {
    match e {
        SetExpr::Select(s) if s.into.is_some() => {
            Err("SELECT ... INTO is not allowed: the sql capability is read-only".into())
        }
        SetExpr::Select(_) | SetExpr::Values(_) | SetExpr::Table(_) => Ok(()),
        SetExpr::Query(q) => query_read_only(q),
        SetExpr::SetOperation { left, right, .. } => {
            set_expr_read_only(left)?;
            set_expr_read_only(right)
        }
        _ => Err("only SHOW and SELECT are allowed: the sql capability is read-only".into()),
    }
}

/// An API path taken apart: which resource (and object) it addresses.
#[derive(Debug, PartialEq, Eq)]
pub struct ApiPath {
    pub group: String,
    pub resource: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
}

/// What a path is: discovery (always allowed) or a resource path.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    Discovery,
    Resource(ApiPath),
}

/// Take an API path apart. Subresources (`/status`, `/log`, `/proxy`, ...),
/// queries and anything that is not a plain API path are refused.
pub fn parse_path(path: &str) -> Result<Parsed, String> {
    let bad = |why: &str| Err(format!("{path:?}: {why}"));
    if !path.starts_with('/') || path.contains(['?', '#', '%', '\\']) {
        return bad(
            "expected an API path such as /api/v1/nodes or /apis/coordination.k8s.io/v1/leases, without a query (selectors and limits go in the list options)",
        );
    }
    if path == "/version" {
        return Ok(Parsed::Discovery);
    }
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    if segs.iter().any(|s| s.is_empty() || *s == "." || *s == "..") {
        return bad("empty or relative path segment");
    }
    let (group, rest) = match segs.as_slice() {
        ["api"] | ["api", _] | ["apis"] | ["apis", _] | ["apis", _, _] => {
            return Ok(Parsed::Discovery);
        }
        ["api", _version, rest @ ..] => ("", rest),
        ["apis", group, _version, rest @ ..] => (*group, rest),
        _ => return bad("not under /api or /apis"),
    };
    let (namespace, rest) = match rest {
        // `/namespaces/NAME` itself is a namespace object.
        ["namespaces", ns, r, rest @ ..] => (Some(*ns), [&[*r][..], rest].concat()),
        other => (None, other.to_vec()),
    };
    let (resource, name) = match rest.as_slice() {
        [r] => (*r, None),
        [r, n] => (*r, Some(*n)),
        [_, _, sub, ..] => return bad(&format!("subresource {sub:?} is not readable")),
        [] => return bad("no resource"),
    };
    for s in namespace.iter().chain([&resource]).chain(name.iter()) {
        if !is_name(s) {
            return bad(&format!("{s:?} is not a valid name"));
        }
    }
    Ok(Parsed::Resource(ApiPath {
        group: group.to_string(),
        resource: resource.to_string(),
        namespace: namespace.map(str::to_string),
        name: name.map(str::to_string),
    }))
}

/// Whether `path` may be read with `verb` (`get` or `list`) under `grants`:
/// discovery always (with get), a Secret never, a resource when a grant allows it.
pub fn kube_read(grants: &[ResourceGrant], path: &str, verb: &str) -> Result<(), String> {
    let p = match parse_path(path)? {
        Parsed::Discovery if verb == "get" => return Ok(()),
        Parsed::Discovery => {
            return Err(format!("{path:?} is a discovery path: use get"));
        }
        Parsed::Resource(p) => p,
    };
    match (verb, &p.name) {
        ("get", None) => {
            return Err(format!("{path:?} is a collection: use list"));
        }
        ("list", Some(_)) => {
            return Err(format!("{path:?} names one object: use get"));
        }
        _ => {}
    }
    if NEVER.contains(&(p.group.as_str(), p.resource.as_str())) {
        return Err(format!(
            "{verb} {path}: Secrets are never readable by plugins"
        ));
    }
    if grants
        .iter()
        .any(|g| g.allows(&p.group, &p.resource, p.namespace.as_deref()))
    {
        return Ok(());
    }
    let what = ResourceGrant {
        group: p.group.clone(),
        resource: p.resource.clone(),
        namespace: p.namespace.clone(),
    };
    let granted: Vec<String> = grants.iter().map(|g| g.to_string()).collect();
    Err(format!(
        "{verb} {path}: {what} is not granted to this check (granted: {})",
        if granted.is_empty() {
            "none".to_string()
        } else {
            granted.join(", ")
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    #[test]
    fn only_queries_pass() {
        for ok in [
            "PING",
            "info replication",
            "SENTINEL masters",
            "sentinel ckquorum mymaster",
            "ROLE",
        ] {
            assert!(redis_command(&args(ok)).is_ok(), "{ok}");
        }
        for denied in [
            "SET k v",
            "CONFIG GET requirepass",
            "SENTINEL FAILOVER mymaster",
            "SENTINEL SET mymaster quorum 1",
            "SENTINEL IS-MASTER-DOWN-BY-ADDR 127.0.0.1 6379 0 *",
            "DEBUG SLEEP 10",
            "FLUSHALL",
            "SHUTDOWN",
            "EVAL x 0",
            "REPLICAOF NO ONE",
            "AUTH x",
            "HELLO 3 AUTH a b",
        ] {
            let e = redis_command(&args(denied)).unwrap_err();
            assert!(e.contains("read-only"), "{denied}: {e}");
        }
        assert!(redis_command(&[]).is_err());
    }

    #[test]
    fn only_single_read_only_statements_pass() {
        for ok in [
            "SHOW GLOBAL STATUS LIKE 'wsrep_%'",
            "SHOW GLOBAL VARIABLES LIKE 'wsrep_%'",
            "show status",
            "SELECT 1",
            "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'wsrep_ready'",
            "WITH a AS (SELECT 1 AS x) SELECT x FROM a UNION SELECT 2",
        ] {
            assert!(sql_statement(ok).is_ok(), "{ok}: {:?}", sql_statement(ok));
        }
        for denied in [
            "INSERT INTO t VALUES (1)",
            "UPDATE t SET a = 1",
            "DELETE FROM t",
            "DROP TABLE t",
            "SET GLOBAL wsrep_provider_options = 'pc.bootstrap=YES'",
            "SELECT 1; DROP TABLE t",
            "SELECT 1 /*! ; DROP TABLE t */",
            "/*!50000 DROP TABLE t */ SELECT 1",
            "SELECT 1 /*M! , (SELECT 1 FROM t FOR UPDATE) */",
            "SELECT * FROM t FOR UPDATE",
            "SELECT a INTO @x FROM t",
            "CREATE USER x",
            "GRANT ALL ON *.* TO x",
            "LOCK TABLES t READ",
            "SHUTDOWN",
            "",
        ] {
            assert!(sql_statement(denied).is_err(), "{denied} passed");
        }
    }

    #[test]
    fn namespace_paths_parse() {
        assert_eq!(
            parse_path("/api/v1/namespaces/kube-system").unwrap(),
            Parsed::Resource(ApiPath {
                group: String::new(),
                resource: "namespaces".into(),
                namespace: None,
                name: Some("kube-system".into()),
            })
        );
        assert_eq!(
            parse_path("/api/v1/namespaces/ns/services/web").unwrap(),
            Parsed::Resource(ApiPath {
                group: String::new(),
                resource: "services".into(),
                namespace: Some("ns".into()),
                name: Some("web".into()),
            })
        );
    }
}
