//! Capability `vitals:check/sql`: read-only statements against the granted `mysql`
//! endpoints (MySQL, MariaDB, Galera) with `mysql_async`. The statement is parsed
//! (sqlparser, MySQL dialect) and only a single `SHOW` or `SELECT` passes; the
//! session is READ ONLY as well.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{ClientIdentity, Conn, OptsBuilder, SslOpts};

use super::{
    Capability, Connections, Returned, RunGrants, all_at_once, is_tls_error, no_grants_of_its_own,
    tape_and_linker,
};
use crate::contract::vitals::check::sql::{self as wit, Error, Host, Rows};
use crate::tape::{self, Tape};
use vitals_core::allow;
use vitals_core::config::{Auth, Endpoint, EndpointKind};

/// Rows handed to a plugin per query.
const MAX_ROWS: usize = 100_000;

/// The mysql endpoints of a run and its open connections.
#[derive(Default)]
pub struct SqlGate {
    connections: Connections<Conn>,
    tape: Tape,
}

impl SqlGate {
    /// The live call of one statement: its URL's connection taken out of the gate
    /// now, the statement run when awaited, the connection handed back unless it
    /// timed out.
    fn live(
        &mut self,
        endpoint: &str,
        url: &str,
        statement: String,
    ) -> impl Future<Output = Returned<Result<Rows, Error>, Conn>> + use<> {
        let to =
            allow::sql_statement(&statement).and_then(|()| self.connections.take(endpoint, url));
        async move {
            let to = match to {
                Ok(to) => to,
                Err(e) => return (Err(Error::Denied(e)), None),
            };
            let conn = match to.open {
                Some(c) => c,
                None => match connect(&to.endpoint, &to.uri).await {
                    Ok(c) => c,
                    Err(e) => return (Err(e), None),
                },
            };
            let (conn, result) = run(conn, &statement, to.endpoint.query_timeout).await;
            (result, conn.map(|c| (to.key, c)))
        }
    }
}

/// Run a statement; the connection comes back unless it timed out.
async fn run(
    mut conn: Conn,
    statement: &str,
    timeout: Duration,
) -> (Option<Conn>, Result<Rows, Error>) {
    let fut = async {
        let mut result = conn.query_iter(statement).await?;
        let columns: Vec<String> = result
            .columns()
            .map(|cols| cols.iter().map(|c| c.name_str().into_owned()).collect())
            .unwrap_or_default();
        let rows: Vec<mysql_async::Row> = result.collect().await?;
        Ok::<_, mysql_async::Error>((columns, rows))
    };
    match tokio::time::timeout(timeout, fut).await {
        Err(_) => (
            None,
            Err(Error::Timeout(format!("no answer within {timeout:?}"))),
        ),
        Ok(Err(e)) => (Some(conn), Err(classify(&e))),
        Ok(Ok((_, rows))) if rows.len() > MAX_ROWS => (
            Some(conn),
            Err(Error::Denied(format!(
                "result of {} rows is larger than the {MAX_ROWS} rows a plugin may receive; add a WHERE or a LIMIT",
                rows.len()
            ))),
        ),
        Ok(Ok((columns, rows))) => {
            let rows = rows
                .into_iter()
                .map(|row| row.unwrap().into_iter().map(text).collect())
                .collect();
            (Some(conn), Ok(Rows { columns, rows }))
        }
    }
}

/// A value as the text protocol gives it.
fn text(v: mysql_async::Value) -> Option<String> {
    use mysql_async::Value as V;
    match v {
        V::NULL => None,
        V::Bytes(b) => Some(String::from_utf8_lossy(&b).into_owned()),
        V::Int(i) => Some(i.to_string()),
        V::UInt(u) => Some(u.to_string()),
        V::Float(f) => Some(f.to_string()),
        V::Double(d) => Some(d.to_string()),
        other => Some(other.as_sql(true).trim_matches('\'').to_string()),
    }
}

async fn connect(ep: &Endpoint, uri: &http::Uri) -> Result<Conn, Error> {
    let host = uri.host().unwrap_or("localhost").to_string();
    let mut opts = OptsBuilder::default()
        .ip_or_hostname(host)
        .tcp_port(uri.port_u16().unwrap_or(3306))
        .prefer_socket(false)
        // Given rather than asked: without them mysql_async reads both from
        // the server on every new connection (a query, one more round trip).
        // A packet (a row) up to 16 MiB, MariaDB's default since 10.2.4, far
        // more than a check reads; connections live for one run.
        .max_allowed_packet(Some(16 << 20))
        .wait_timeout(Some(28_800))
        // Defence in depth behind the statement check.
        .init(vec!["SET SESSION TRANSACTION READ ONLY"]);
    // mysql://localhost/run/mysqld/mysqld.sock: a Unix socket.
    let path = uri.path();
    if path.len() > 1 {
        opts = opts.socket(Some(path.to_string()));
    }
    match &ep.auth {
        Some(Auth::Basic { username, password }) => {
            opts = opts
                .user(Some(username.clone()))
                .pass(Some(password.expose().to_string()));
        }
        Some(Auth::User(username)) => opts = opts.user(Some(username.clone())),
        _ => {}
    }
    if let Some(tls) = &ep.tls {
        let mut ssl = SslOpts::default();
        if let Some(ca) = &tls.pem.ca {
            ssl = ssl.with_root_certs(vec![ca.clone().into()]);
        }
        if let Some((cert, key)) = &tls.pem.client {
            ssl = ssl.with_client_identity(Some(ClientIdentity::new(
                cert.clone().into(),
                key.clone().into(),
            )));
        }
        opts = opts.ssl_opts(Some(ssl));
    }
    match tokio::time::timeout(ep.connect_timeout, Conn::new(opts)).await {
        Err(_) => Err(Error::Unreachable(format!(
            "{uri}: no connection within {:?}",
            ep.connect_timeout
        ))),
        Ok(Err(e)) => Err(match classify(&e) {
            Error::Server(m) => Error::Unreachable(m),
            other => other,
        }),
        Ok(Ok(c)) => Ok(c),
    }
}

/// Map a client error to the capability's error.
fn classify(e: &mysql_async::Error) -> Error {
    let message = match e {
        // Its Display repeats "Input/output error: " for each layer.
        mysql_async::Error::Io(mysql_async::IoError::Io(io)) => io.to_string(),
        other => other.to_string(),
    };
    match e {
        // 1044 no access to the database, 1045 access denied, 1698 (MariaDB
        // unix_socket) access denied, 1227 missing privilege.
        mysql_async::Error::Server(s) if matches!(s.code, 1044 | 1045 | 1698 | 1227) => {
            Error::Auth(message)
        }
        mysql_async::Error::Server(_) => Error::Server(message),
        _ => {
            if is_tls_error(&message) {
                Error::Tls(message)
            } else if matches!(e, mysql_async::Error::Io(_)) {
                Error::Unreachable(message)
            } else {
                Error::Server(message)
            }
        }
    }
}

impl Capability for SqlGate {
    const NAME: &'static str = "sql";

    fn gate(run: &RunGrants<'_>) -> Self {
        SqlGate {
            connections: Connections::new(run.endpoints, EndpointKind::Mysql),
            tape: Tape::default(),
        }
    }

    tape_and_linker!();

    no_grants_of_its_own!();
}

impl Host for SqlGate {
    async fn query(
        &mut self,
        endpoint: String,
        url: String,
        statement: String,
    ) -> Result<Rows, Error> {
        let request = wit::Request {
            endpoint,
            url,
            statement,
        };
        let mut answers = self.query_all(vec![request]).await;
        answers.pop().expect("one answer per request")
    }

    async fn query_all(&mut self, requests: Vec<wit::Request>) -> Vec<Result<Rows, Error>> {
        let calls = requests
            .into_iter()
            .map(|r| {
                let request = serde_json::json!({"endpoint": r.endpoint, "url": r.url, "statement": r.statement});
                (request, self.live(&r.endpoint, &r.url, r.statement))
            })
            .collect();
        all_at_once(&self.tape, &mut self.connections, "sql.query", calls).await
    }
}

tape::answer!(Rows, Error, tape::plain, tape::unplain);
