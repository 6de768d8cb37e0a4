//! The HTTP endpoints of `vitals serve`. None of them waits on a scheduled run,
//! except `/probe`, which runs its check.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::exposition::accepts_gzip;
use super::state::Service;
use crate::render::prometheus::{self as prom, Exposition};
use vitals_core::plan::PlannedRun;
use vitals_render::metrics;

type Reply = Response<Full<Bytes>>;

const INDEX: &str = "\
vitals serve

  /metrics          latest results of every check and cluster, and the runner's metrics
  /probe?check=NAME&cluster=NAME
                    run one check now and return its metrics (cluster may be left out
                    when the check runs on one cluster)
  /api/v1/results   latest results as the JSON document of `vitals run --format json`
  /healthz          200 while the process serves
  /readyz           200 once every scheduled check has a result
  POST /-/reload    reload the configuration, as SIGHUP does (200, or 500 with the reason)
";

fn reply(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Reply {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .body(Full::new(body.into()))
        .expect("static headers are valid")
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Reply {
    reply(status, "text/plain; charset=utf-8", body)
}

/// Prometheus asks for OpenMetrics; curl and promtool get the classic text format.
fn negotiate<B>(req: &Request<B>) -> Exposition {
    let accept = req
        .headers()
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    if accept.contains("application/openmetrics-text") {
        Exposition::OpenMetrics
    } else {
        Exposition::Text
    }
}

fn content_type(format: Exposition) -> &'static str {
    match format {
        Exposition::OpenMetrics => prom::OPENMETRICS_CONTENT_TYPE,
        Exposition::Text => prom::TEXT_CONTENT_TYPE,
    }
}

fn exposition(registry: &Registry, format: Exposition) -> Reply {
    reply(
        StatusCode::OK,
        content_type(format),
        prom::encode(registry, format),
    )
}

/// Whether the request accepts a gzip-compressed answer.
fn gzip<B>(req: &Request<B>) -> bool {
    req.headers()
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(accepts_gzip)
}

/// Route one request.
pub async fn handle<B>(service: Arc<Service>, req: Request<B>) -> Result<Reply, Infallible> {
    if req.uri().path() == "/-/reload" {
        return Ok(reload(&service, req.method()).await);
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
        r.headers_mut()
            .insert(header::ALLOW, http::HeaderValue::from_static("GET, HEAD"));
        return Ok(r);
    }
    Ok(match req.uri().path() {
        "/" => text(StatusCode::OK, INDEX),
        "/metrics" => metrics(&service, negotiate(&req), gzip(&req)),
        "/probe" => probe(&service, &req).await,
        "/healthz" => text(StatusCode::OK, "ok\n"),
        "/readyz" => ready(&service),
        "/api/v1/results" => reply(
            StatusCode::OK,
            "application/json",
            crate::render::json::render(&service.current().results()) + "\n",
        ),
        path => text(
            StatusCode::NOT_FOUND,
            format!("no such endpoint {path:?}\n\n{INDEX}"),
        ),
    })
}

/// `POST /-/reload` (as Prometheus and blackbox_exporter have it, for
/// configuration reloaders that cannot send signals): the same as SIGHUP, and the
/// answer says whether the new configuration is in force.
async fn reload(service: &Arc<Service>, method: &Method) -> Reply {
    if method != Method::POST && method != Method::PUT {
        let mut r = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "reload with POST /-/reload\n",
        );
        r.headers_mut()
            .insert(header::ALLOW, http::HeaderValue::from_static("POST, PUT"));
        return r;
    }
    match super::reload(service, "POST /-/reload").await {
        Ok(()) => text(StatusCode::OK, "reloaded the configuration\n"),
        Err(e) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("reload failed, still serving the previous configuration: {e}\n"),
        ),
    }
}

/// `/metrics`, from the cache while nothing it shows has changed.
fn metrics(service: &Service, format: Exposition, gzip: bool) -> Reply {
    let body = service.exposition.get(format, gzip, || {
        prom::encode(&metrics_registry(service), format)
    });
    let mut r = reply(StatusCode::OK, content_type(format), body);
    r.headers_mut().insert(
        header::VARY,
        http::HeaderValue::from_static("Accept, Accept-Encoding"),
    );
    if gzip {
        r.headers_mut().insert(
            header::CONTENT_ENCODING,
            http::HeaderValue::from_static("gzip"),
        );
    }
    r
}

/// Everything `/metrics` shows: the latest results, the runner's metrics, the
/// pairs' failure counts and intervals, the last reload.
fn metrics_registry(service: &Service) -> Registry {
    let generation = service.current();
    let mut registry = Registry::default();
    prom::register_results(&mut registry, &generation.results());
    let consecutive = prom::gauge(
        &mut registry,
        "vitals_check_consecutive_failures",
        "Results worse than ok in a row, up to the check's latest",
    );
    let interval = prom::gauge(
        &mut registry,
        "vitals_check_interval_seconds",
        "Seconds between two scheduled runs of the check (alerts on stale results use it)",
    );
    prom::gauge(
        &mut registry,
        "vitals_serve_pairs",
        "Pairs this process schedules: all of them, or its share with --shard I/N",
    )
    .get_or_create(&vec![("shard".into(), service.shard.to_string())])
    .set(generation.slots.len() as f64);
    for slot in generation.slots.iter().filter(|s| s.latest().is_some()) {
        let labels = metrics::labels(&slot.run.check.name, &slot.run.cluster.name);
        consecutive
            .get_or_create(&labels)
            .set(slot.consecutive_failures() as f64);
        interval
            .get_or_create(&labels)
            .set(slot.run.check.interval.as_secs_f64());
    }
    service.runner.register(&mut registry);
    let status = service
        .reload_status
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let ok = Gauge::<f64, AtomicU64>::default();
    ok.set(f64::from(status.successful));
    registry.register(
        "vitals_config_last_reload_successful",
        "1 when the last configuration (re)load succeeded",
        ok,
    );
    let at = Gauge::<f64, AtomicU64>::default();
    at.set(status.success_at);
    registry.register(
        "vitals_config_last_reload_success_timestamp_seconds",
        "Unix time of the last successful configuration (re)load",
        at,
    );
    registry
}

fn ready(service: &Service) -> Reply {
    let generation = service.current();
    let pending: Vec<String> = generation
        .slots
        .iter()
        .filter(|s| s.latest().is_none())
        .map(|s| format!("{}/{}", s.run.check.name, s.run.cluster.name))
        .collect();
    if pending.is_empty() {
        text(StatusCode::OK, "ready\n")
    } else {
        text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("waiting for the first run of: {}\n", pending.join(", ")),
        )
    }
}

async fn probe<B>(service: &Service, req: &Request<B>) -> Reply {
    let params: HashMap<String, String> =
        form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let generation = service.current();
    let known = || {
        generation
            .cfg
            .checks
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some(name) = params.get("check") else {
        return text(
            StatusCode::BAD_REQUEST,
            format!("missing ?check=NAME (checks: {})\n", known()),
        );
    };
    let Some(check) = generation.cfg.checks.iter().find(|c| &c.name == name) else {
        return text(
            StatusCode::NOT_FOUND,
            format!("no check named {name:?} (checks: {})\n", known()),
        );
    };
    let cluster = match (params.get("cluster"), check.clusters.as_slice()) {
        (Some(c), _) => c,
        (None, [only]) => only,
        (None, _) => {
            return text(
                StatusCode::BAD_REQUEST,
                format!(
                    "check {name:?} runs on clusters {}: add &cluster=NAME\n",
                    check.clusters.join(", ")
                ),
            );
        }
    };
    if !check.clusters.contains(cluster) {
        return text(
            StatusCode::NOT_FOUND,
            format!(
                "check {name:?} does not run on cluster {cluster:?} (it runs on: {})\n",
                check.clusters.join(", ")
            ),
        );
    }
    let result = match generation.slot(name, cluster) {
        Some(slot) => service.run_slot(&generation, slot).await,
        // A disabled check: run it once, without keeping the result.
        None => {
            let run = PlannedRun {
                check: check.clone(),
                cluster: generation.cfg.clusters[cluster].clone(),
            };
            service.run_unscheduled(&generation, &run).await
        }
    };
    let mut registry = Registry::default();
    prom::register_results(&mut registry, std::slice::from_ref(&result));
    exposition(&registry, negotiate(req))
}
