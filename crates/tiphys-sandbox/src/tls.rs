//! A throw-away certificate authority and serving certificate, generated at start.
//!
//! kubectl (client-go) only sends bearer tokens over TLS, so the sandbox serves HTTPS. The
//! CA goes into the kubeconfig (`certificate-authority-data`); the leaf certificate names
//! `localhost`, `127.0.0.1`, `::1` and the bind address.

use std::net::IpAddr;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::error::{Error, Result};

/// TLS material of one sandbox.
pub struct Tls {
    /// The server configuration for the listener.
    pub config: Arc<rustls::ServerConfig>,
    /// The CA certificate (PEM) clients must trust.
    pub ca_pem: String,
}

fn tls_err(e: impl std::fmt::Display) -> Error {
    Error::internal(format!("cannot create the sandbox's TLS certificate: {e}"))
}

/// Generates a CA and a serving certificate valid for loopback and `bind`.
pub fn generate(bind: IpAddr) -> Result<Tls> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(tls_err)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "tiphys-sandbox-ca");
    ca_params.key_usages =
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().map_err(tls_err)?).map_err(tls_err)?;

    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
    if !bind.is_unspecified() && !bind.is_loopback() {
        names.push(bind.to_string());
    }
    let mut leaf_params = CertificateParams::new(names).map_err(tls_err)?;
    leaf_params.distinguished_name.push(DnType::CommonName, "tiphys-sandbox");
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    let leaf_key = KeyPair::generate().map_err(tls_err)?;
    let leaf = leaf_params.signed_by(&leaf_key, &ca).map_err(tls_err)?;

    let chain = vec![CertificateDer::from(leaf.der().to_vec()), CertificateDer::from(ca.der().to_vec())];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_err)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(tls_err)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Tls { config: Arc::new(config), ca_pem: ca.pem() })
}

impl Tls {
    /// A TLS acceptor for the listener.
    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.config.clone())
    }
}
