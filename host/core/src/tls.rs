//! TLS material of an endpoint (CA, client certificate and key), loaded once into a
//! rustls client configuration that the host uses for every connection to it.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// A ready rustls client configuration; the key material never leaves the host.
pub struct TlsMaterial {
    /// For HTTPS: offers HTTP/2 and HTTP/1.1 (ALPN).
    pub config: Arc<ClientConfig>,
    /// The PEM files as read, for clients that take PEM rather than a rustls
    /// configuration (Redis).
    pub pem: TlsPem,
}

/// PEM contents of an endpoint's TLS files.
#[derive(Clone, Default)]
pub struct TlsPem {
    pub ca: Option<Vec<u8>>,
    /// Certificate chain and private key.
    pub client: Option<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsMaterial(<redacted>)")
    }
}

impl TlsMaterial {
    /// Trust `ca` (PEM bundle; default: the webpki roots) and present `client`
    /// (certificate chain and key, PEM) if given.
    pub fn load(ca: Option<&Path>, client: Option<(&Path, &Path)>) -> anyhow::Result<TlsMaterial> {
        let mut roots = RootCertStore::empty();
        let mut pem = TlsPem::default();
        match ca {
            Some(ca) => {
                let bytes = read(ca).context("ca_file")?;
                let certs = parse_certs(ca, &bytes).context("ca_file")?;
                pem.ca = Some(bytes);
                let (added, _ignored) = roots.add_parsable_certificates(certs);
                if added == 0 {
                    anyhow::bail!("ca_file {}: no usable CA certificate", ca.display());
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .with_root_certificates(roots);
        let mut config = match client {
            Some((cert, key)) => {
                let cert_pem = read(cert).context("cert_file")?;
                let chain = parse_certs(cert, &cert_pem).context("cert_file")?;
                let key_pem = read(key).context("key_file")?;
                let parsed = PrivateKeyDer::from_pem_slice(&key_pem).with_context(|| {
                    format!("key_file {}: no private key in PEM", key.display())
                })?;
                pem.client = Some((cert_pem, key_pem));
                let key = parsed;
                builder
                    .with_client_auth_cert(chain, key)
                    .context("client certificate and key do not match")?
            }
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(TlsMaterial {
            config: Arc::new(config),
            pem,
        })
    }
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn parse_certs(path: &Path, pem: &[u8]) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs: Vec<_> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .with_context(|| format!("{}: invalid PEM", path.display()))?;
    if certs.is_empty() {
        anyhow::bail!("{}: no certificate in PEM", path.display());
    }
    Ok(certs)
}
