//! A plain HTTP server (hyper) on a loopback port that answers recorded responses:
//! each path (query ignored) maps to a status and a JSON body, changeable while
//! it runs. Unknown paths are 404. Stops when dropped.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;

type Routes = Arc<Mutex<HashMap<String, (u16, Value)>>>;

pub struct HttpFixture {
    url: String,
    routes: Routes,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HttpFixture {
    /// Serve `routes` (path → (status, JSON body)).
    pub fn start(routes: HashMap<String, (u16, Value)>) -> HttpFixture {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("non-blocking");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let routes: Routes = Arc::new(Mutex::new(routes));
        let (shutdown, mut stop) = tokio::sync::oneshot::channel::<()>();
        let served = routes.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let (stream, _) = tokio::select! {
                        accepted = listener.accept() => match accepted {
                            Ok(a) => a,
                            Err(_) => continue,
                        },
                        _ = &mut stop => return,
                    };
                    let routes = served.clone();
                    tokio::spawn(async move {
                        let service = service_fn(move |req: Request<Incoming>| {
                            let answer = routes.lock().unwrap().get(req.uri().path()).cloned();
                            async move {
                                let (status, body) = answer
                                    .unwrap_or((404, serde_json::json!({"errors": ["not found"]})));
                                Ok::<_, Infallible>(
                                    Response::builder()
                                        .status(status)
                                        .header("content-type", "application/json")
                                        .body(Full::new(Bytes::from(body.to_string())))
                                        .unwrap(),
                                )
                            }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
        });
        HttpFixture {
            url,
            routes,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Replace every route.
    pub fn set(&self, routes: HashMap<String, (u16, Value)>) {
        *self.routes.lock().unwrap() = routes;
    }
}

impl Drop for HttpFixture {
    fn drop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
