//! TLS servers for the tests and the simulators: an acceptor for a certificate,
//! and an accepted connection served over the protocol its handshake chose
//! (ALPN: HTTP/2 or HTTP/1.1), as Go's servers (the API server, etcd) do.

use std::sync::Arc;

use hyper::body::{Body, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{ServerConfig, crypto::ring};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A TLS acceptor with the certificate and key `cert_pem` and `key_pem`
/// (rustls with ring), offering `protocols` (ALPN) in that order.
pub fn acceptor(cert_pem: &str, key_pem: &str, protocols: &[&str]) -> TlsAcceptor {
    let mut config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("TLS protocol versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from_pem_slice(cert_pem.as_bytes()).expect("certificate PEM")],
            PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).expect("key PEM"),
        )
        .expect("a TLS server configuration");
    config.alpn_protocols = protocols.iter().map(|p| p.as_bytes().to_vec()).collect();
    TlsAcceptor::from(Arc::new(config))
}

/// Whether the connection's handshake chose HTTP/2.
pub fn is_h2(stream: &tokio_rustls::server::TlsStream<tokio::net::TcpStream>) -> bool {
    stream.get_ref().1.alpn_protocol() == Some(b"h2")
}

/// Serve `stream` with `service` until it closes: HTTP/2 if its handshake chose
/// it, HTTP/1.1 otherwise.
pub async fn serve<S, B>(stream: tokio_rustls::server::TlsStream<tokio::net::TcpStream>, service: S)
where
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let h2 = is_h2(&stream);
    let io = TokioIo::new(stream);
    if h2 {
        let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
            .serve_connection(io, service)
            .await;
    } else {
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(io, service)
            .await;
    }
}
