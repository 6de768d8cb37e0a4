//! The `kube` client of an endpoint, speaking HTTP/2 to an API server that
//! offers it (every Kubernetes API server does): the reads of a batch, and of
//! every run sharing the client, go over one connection instead of one TLS
//! handshake each. `kube`'s own builder offers HTTP/1.1 only; this builds the
//! same stack (its base URI, authentication and extra-header layers, rustls
//! with the configuration's CA, client certificate and server name, its
//! connect, read and write timeouts) over the two pools of [`Protocols`].

use std::sync::Arc;
use std::task::{Context, Poll};

use hyper_rustls::{FixedServerNameResolver, HttpsConnector, HttpsConnectorBuilder};
use hyper_timeout::TimeoutConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connection, HttpConnector};
use hyper_util::rt::TokioExecutor;
use kube::client::{Body, ConfigExt};
use tower::{BoxError, ServiceBuilder, ServiceExt};

use super::protocols::Protocols;

type Inner = TimeoutConnector<HttpsConnector<HttpConnector>>;
type Stream = <Inner as tower_service::Service<http::Uri>>::Response;

/// The client of `config`, HTTP/2 where the server offers it. A configuration
/// with a proxy gets `kube`'s own client (which refuses proxies it was not built for).
pub(crate) fn client(config: kube::Config) -> Result<kube::Client, kube::Error> {
    if config.proxy_url.is_some() {
        return kube::Client::try_from(config);
    }
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    // HTTP/2 writes frames of several streams one after the other: Nagle's
    // algorithm would hold each small one for the last one's ACK.
    http.set_nodelay(true);
    let mut https = HttpsConnectorBuilder::new()
        .with_tls_config(config.rustls_client_config()?)
        .https_or_http();
    if let Some(name) = &config.tls_server_name {
        let name = name.clone().try_into().map_err(|e| {
            kube::Error::RustlsTls(kube::client::RustlsTlsError::InvalidServerName(e))
        })?;
        https = https.with_server_name_resolver(FixedServerNameResolver::new(name));
    }
    let mut connector =
        TimeoutConnector::new(https.enable_http1().enable_http2().wrap_connector(http));
    connector.set_connect_timeout(config.connect_timeout);
    connector.set_read_timeout(config.read_timeout);
    connector.set_write_timeout(config.write_timeout);
    connector.set_reset_reader_on_write(config.reset_reader_on_write);

    let connector = FirstOr {
        inner: connector,
        protocols: Arc::default(),
    };
    let mut builder = Client::builder(TokioExecutor::new());
    let h1: Client<FirstOr, Body> = builder.build(connector.clone());
    let h2: Client<FirstOr, Body> = builder.http2_only(true).build(connector.clone());
    let https = config.cluster_url.scheme() == Some(&http::uri::Scheme::HTTPS);
    let send = tower::service_fn(move |request: http::Request<Body>| {
        let (h1, h2, connector) = (h1.clone(), h2.clone(), connector.clone());
        async move {
            let authority = request
                .uri()
                .authority()
                .map(ToString::to_string)
                .unwrap_or_default();
            let h2_spoken = https && {
                let uri = request.uri().clone();
                let inner = connector.inner.clone();
                connector
                    .protocols
                    .speaks_h2(&authority, || async move {
                        let stream = inner.oneshot(uri).await.map_err(std::io::Error::other)?;
                        let h2 = stream.connected().is_negotiated_h2();
                        Ok((stream, h2))
                    })
                    .await
                    .map_err(BoxError::from)?
            };
            let client = if h2_spoken { h2 } else { h1 };
            client.request(request).await.map_err(BoxError::from)
        }
    });
    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .service(send);
    Ok(kube::Client::new(service, config.default_namespace))
}

/// `kube`'s connector, or the first connection to an authority where one was
/// made to learn its protocol (see [`Protocols`]).
#[derive(Clone)]
struct FirstOr {
    inner: Inner,
    protocols: Arc<Protocols<Stream, std::io::Error>>,
}

impl tower_service::Service<http::Uri> for FirstOr {
    type Response = Stream;
    type Error = BoxError;
    type Future = futures_util::future::BoxFuture<'static, Result<Stream, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let authority = uri.authority().map(ToString::to_string).unwrap_or_default();
        if let Some(first) = self.protocols.take_first(&authority) {
            return Box::pin(async move { Ok(first) });
        }
        Box::pin(self.inner.call(uri))
    }
}
