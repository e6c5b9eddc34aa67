//! The admission listener's certificate: the configured one (`admission.tls_cert` and
//! `admission.tls_key`, PEM), else a self-signed one made once and kept under
//! `<data_dir>/admission/` (`tls.crt`, `tls.key` readable by berth's user only). The
//! manifest's `caBundle` is the certificate file as it is: the self-signed certificate, or the
//! configured chain (whose last certificate must then be one the cluster can anchor on).
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::Config;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("cannot write {0}: {1}")]
    Write(PathBuf, std::io::Error),
    #[error("cannot make the admission certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("{0} holds no usable PEM {1}")]
    Pem(PathBuf, &'static str),
    #[error("the admission certificate and key do not make a TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// A certificate chain and its key, PEM.
#[derive(Debug, Clone)]
pub struct Material {
    pub cert_path: PathBuf,
    pub cert_pem: String,
    pub key_path: PathBuf,
    pub key_pem: String,
}

/// The names the generated certificate is valid for.
fn names(config: &Config) -> Vec<String> {
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    if let Some(listen) = config.admission.listen
        && !listen.ip().is_unspecified()
    {
        names.push(listen.ip().to_string());
    }
    names.extend(config.admission.hosts.iter().cloned());
    names.sort();
    names.dedup();
    names
}

fn read(path: &Path) -> Result<String, TlsError> {
    std::fs::read_to_string(path).map_err(|e| TlsError::Read(path.into(), e))
}

fn write_private(path: &Path, text: &str) -> Result<(), TlsError> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options
        .open(path)
        .map_err(|e| TlsError::Write(path.into(), e))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| TlsError::Write(path.into(), e))
}

/// The configured certificate, or the generated one (made on first use).
pub fn load_or_create(config: &Config) -> Result<Material, TlsError> {
    if let (Some(cert), Some(key)) = (&config.admission.tls_cert, &config.admission.tls_key) {
        return Ok(Material {
            cert_pem: read(cert)?,
            key_pem: read(key)?,
            cert_path: cert.clone(),
            key_path: key.clone(),
        });
    }
    let dir = config.data_dir.join("admission");
    let (cert_path, key_path) = (dir.join("tls.crt"), dir.join("tls.key"));
    if cert_path.exists() && key_path.exists() {
        return Ok(Material {
            cert_pem: read(&cert_path)?,
            key_pem: read(&key_path)?,
            cert_path,
            key_path,
        });
    }
    std::fs::create_dir_all(&dir).map_err(|e| TlsError::Write(dir.clone(), e))?;
    let key = rcgen::KeyPair::generate()?;
    let mut params = rcgen::CertificateParams::new(names(config))?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "berth admission webhook");
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.self_signed(&key)?;
    let (cert_pem, key_pem) = (cert.pem(), key.serialize_pem());
    // The key first: a certificate without its key would be loaded next time and fail.
    let _ = std::fs::remove_file(&key_path);
    let _ = std::fs::remove_file(&cert_path);
    write_private(&key_path, &key_pem)?;
    write_private(&cert_path, &cert_pem)?;
    Ok(Material {
        cert_path,
        cert_pem,
        key_path,
        key_pem,
    })
}

/// The listener's TLS configuration (TLS 1.2 and 1.3, HTTP/1.1).
pub fn server_config(m: &Material) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(m.cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|_| TlsError::Pem(m.cert_path.clone(), "certificate"))?;
    if certs.is_empty() {
        return Err(TlsError::Pem(m.cert_path.clone(), "certificate"));
    }
    let key = PrivateKeyDer::from_pem_slice(m.key_pem.as_bytes())
        .map_err(|_| TlsError::Pem(m.key_path.clone(), "private key"))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_certificate_is_kept_and_loads() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            data_dir: dir.path().into(),
            ..Default::default()
        };
        config.admission.hosts = vec!["berth.example".into()];
        let first = load_or_create(&config).unwrap();
        let again = load_or_create(&config).unwrap();
        assert_eq!(first.cert_pem, again.cert_pem);
        assert!(server_config(&first).is_ok());
        assert!(names(&config).contains(&"berth.example".to_string()));
    }
}
