//! The SQL allow-list against a real server: every statement it accepts (the
//! fuzz targets' committed seeds and statements made to slip a write past a
//! parser) is sent to a real MariaDB as one query, as the host sends it, and
//! writes nothing: the server's write counters do not move and a canary table
//! keeps its row.

mod support;

use support::galera::Galera;
use vitals_core::allow;

/// Statements that try to hide a write from a parser: in strings, identifiers,
/// comments of each kind, after an empty statement, behind a terminator.
const TRICKY: &[&str] = &[
    "SELECT * FROM canary.t",
    "SELECT 'a'';DROP TABLE canary.t;--'",
    "SELECT 'a\\';DROP TABLE canary.t;-- '",
    "SELECT \"a\\\"; DROP TABLE canary.t; -- \"",
    "SELECT `a;DROP TABLE canary.t` FROM canary.t",
    "SELECT 1 -- ; DROP TABLE canary.t",
    "SELECT 1 # ; DROP TABLE canary.t",
    "SELECT 1 /* ; DROP TABLE canary.t */",
    "SELECT 1 /*! ; DROP TABLE canary.t */",
    "SELECT 1 /*M! ; DROP TABLE canary.t */",
    "SELECT 1 --; DROP TABLE canary.t",
    ";SELECT 1",
    "SELECT 1;",
    "SELECT 1; ",
    "SELECT 1;;",
    "(SELECT 1) UNION (SELECT a FROM canary.t)",
    "WITH x AS (SELECT a FROM canary.t) SELECT * FROM x",
    "SHOW TABLES FROM canary",
    "SHOW GLOBAL STATUS LIKE 'wsrep_%'",
    "SELECT a FROM canary.t LOCK IN SHARE MODE",
    "SELECT a INTO OUTFILE '/tmp/vitals-canary' FROM canary.t",
    "SELECT a FROM canary.t INTO @x",
    "VALUES (1), (2)",
    "TABLE canary.t",
    // Plain writes, refused: were one accepted, the counters would show it.
    "INSERT INTO canary.t VALUES (2)",
    "UPDATE canary.t SET a = 2",
    "SELECT 1; DROP TABLE canary.t",
    "SET GLOBAL max_connections = 99",
];

/// Write counters of the server: statements that change data, schema, users,
/// variables or state.
const WRITES: &str = "SELECT SUM(VARIABLE_VALUE) FROM information_schema.GLOBAL_STATUS WHERE \
    VARIABLE_NAME REGEXP '^COM_(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER|TRUNCATE|RENAME|GRANT|REVOKE|SET_OPTION|LOCK|UNLOCK|FLUSH|KILL|LOAD|CALL|DO|PURGE|RESET|INSTALL|UNINSTALL|SHUTDOWN|HANDLER|XA|BEGIN|COMMIT|ROLLBACK)'";

#[test]
fn every_statement_the_allow_list_accepts_writes_nothing() {
    let g = Galera::start(1);
    let (ok, said) = g.query_as_one(
        0,
        "CREATE DATABASE canary; CREATE TABLE canary.t (a INT); INSERT INTO canary.t VALUES (1)",
    );
    assert!(ok, "{said}");
    let mut statements: Vec<String> = TRICKY.iter().map(|s| s.to_string()).collect();
    let seeds =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("host/fuzz/corpus/allow_lists");
    for seed in std::fs::read_dir(&seeds).unwrap() {
        let bytes = std::fs::read(seed.unwrap().path()).unwrap();
        statements.push(String::from_utf8_lossy(&bytes).into_owned());
    }
    let mut accepted = 0;
    for statement in &statements {
        if allow::sql_statement(statement).is_err() {
            continue;
        }
        accepted += 1;
        let before = g.sql(0, WRITES);
        let (_, said) = g.query_as_one(0, statement);
        let after = g.sql(0, WRITES);
        assert_eq!(before, after, "{statement:?} wrote: {said}");
        assert_eq!(
            g.sql(0, "SELECT a FROM canary.t"),
            "1",
            "{statement:?}: {said}"
        );
    }
    assert!(
        accepted >= 15,
        "only {accepted} of {} accepted",
        statements.len()
    );
    // The ones made to write are refused before they reach the server.
    for refused in [
        "SELECT 1 /*! ; DROP TABLE canary.t */",
        "SELECT a FROM canary.t INTO @x",
        "SELECT a INTO OUTFILE '/tmp/vitals-canary' FROM canary.t",
    ] {
        assert!(allow::sql_statement(refused).is_err(), "{refused}");
    }
}
