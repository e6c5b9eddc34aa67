//! Management API keys: an access key id and a secret that signs requests (SigV4).
//!
//! SigV4 needs the secret itself on the server (it is an HMAC key), so it cannot be stored as a
//! one-way hash. It is sealed instead (ChaCha20-Poly1305, the key id as associated data) under a
//! master key that lives outside the database: `master.key` in the data directory (mode 0600),
//! or `BERTH_MASTER_KEY` (base64 of 32 bytes). A copy of the database alone yields no usable
//! secret.
use std::path::Path;

use base64::Engine as _;
use berth_store::{ApiKey, MetadataStore, StoreError};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;

use super::error::{KcrError, KcrResult};
use super::sigv4;
use crate::state::App;

const SEAL_PREFIX: &str = "v1:";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("master key {0}: {1}")]
    Io(String, std::io::Error),
    #[error("master key: {0}")]
    Invalid(String),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

/// The key that seals API key secrets.
#[derive(Clone)]
pub struct MasterKey(Key);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    fn from_base64(text: &str) -> Result<MasterKey, KeyError> {
        let bytes = B64
            .decode(text.trim())
            .map_err(|e| KeyError::Invalid(format!("not base64: {e}")))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| KeyError::Invalid("must be 32 bytes".into()))?;
        Ok(MasterKey(bytes.into()))
    }

    /// `BERTH_MASTER_KEY` if set, else `<data_dir>/master.key`, created on first use.
    pub fn load_or_create(data_dir: &Path) -> Result<MasterKey, KeyError> {
        if let Ok(text) = std::env::var("BERTH_MASTER_KEY") {
            return MasterKey::from_base64(&text);
        }
        let path = data_dir.join("master.key");
        let shown = path.display().to_string();
        match std::fs::read_to_string(&path) {
            Ok(text) => MasterKey::from_base64(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                rand::rng().fill_bytes(&mut bytes);
                let text = B64.encode(bytes);
                write_private(&path, text.as_bytes()).map_err(|e| KeyError::Io(shown, e))?;
                Ok(MasterKey(bytes.into()))
            }
            Err(e) => Err(KeyError::Io(shown, e)),
        }
    }

    pub fn seal(&self, key_id: &str, secret: &str) -> Result<String, KeyError> {
        let cipher = ChaCha20Poly1305::new(&self.0);
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: secret.as_bytes(),
                    aad: key_id.as_bytes(),
                },
            )
            .map_err(|_| KeyError::Invalid("cannot seal the secret".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!("{SEAL_PREFIX}{}", B64.encode(out)))
    }

    pub fn open(&self, key_id: &str, sealed: &str) -> Option<String> {
        let raw = B64.decode(sealed.strip_prefix(SEAL_PREFIX)?).ok()?;
        if raw.len() < 12 {
            return None;
        }
        let (nonce, body) = raw.split_at(12);
        let cipher = ChaCha20Poly1305::new(&self.0);
        let plain = cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: key_id.as_bytes(),
                },
            )
            .ok()?;
        String::from_utf8(plain).ok()
    }
}

/// Creates the file with owner-only permissions, atomically (write, fsync, rename).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// A newly created key: the secret is shown once.
pub struct NewApiKey {
    pub access_key_id: String,
    pub secret_access_key: String,
}

fn random_text(len: usize, alphabet: &[u8]) -> String {
    let mut bytes = vec![0u8; len];
    rand::rng().fill_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| char::from(alphabet[usize::from(*b) % alphabet.len()]))
        .collect()
}

pub async fn create_api_key(
    meta: &dyn MetadataStore,
    master: &MasterKey,
    description: &str,
    read_only: bool,
) -> Result<NewApiKey, KeyError> {
    const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    const SECRET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let access_key_id = format!("AKLT{}", random_text(20, UPPER));
    let secret = random_text(40, SECRET);
    meta.create_api_key(&ApiKey {
        access_key_id: access_key_id.clone(),
        sealed_secret: master.seal(&access_key_id, &secret)?,
        description: description.to_string(),
        enabled: true,
        read_only,
        created_at: berth_store::now_millis(),
    })
    .await?;
    Ok(NewApiKey {
        access_key_id,
        secret_access_key: secret,
    })
}

/// Who signed a management request.
pub struct Caller {
    pub access_key_id: String,
    pub read_only: bool,
}

/// Verifies the request's signature; every failure is the seed's error for it.
pub async fn authenticate(app: &App, req: &sigv4::Request<'_>) -> KcrResult<Caller> {
    signer(app, req).await?.verify(req)
}

/// A well-formed, current signature by a known, enabled key: all that can be checked without
/// the body.
pub struct Signer {
    sig: sigv4::Signature,
    access_key_id: String,
    read_only: bool,
    secret: String,
}

impl Signer {
    fn caller(&self) -> Caller {
        Caller {
            access_key_id: self.access_key_id.clone(),
            read_only: self.read_only,
        }
    }

    /// Verifies the signature over the whole request, body included.
    pub fn verify(&self, req: &sigv4::Request<'_>) -> KcrResult<Caller> {
        sigv4::verify(&self.sig, req, &self.secret)?;
        Ok(self.caller())
    }

    /// Verifies the signature before the body is read, when `x-amz-content-sha256` lets it
    /// (the body must then pass [`sigv4::check_body`]); `None` when the body is needed.
    pub fn verify_declared(
        &self,
        head: &sigv4::Request<'_>,
        payload: &sigv4::Payload,
    ) -> Option<KcrResult<Caller>> {
        let verified = sigv4::verify_declared(&self.sig, head, payload, &self.secret)?;
        Some(verified.map(|()| self.caller()))
    }
}

/// Parses and checks the signature and looks up its key; the body is not looked at.
pub async fn signer(app: &App, req: &sigv4::Request<'_>) -> KcrResult<Signer> {
    if !req.headers.contains_key("host") {
        return Err(KcrError::missing_authentication_token(
            "Request is missing 'Host' header.",
        ));
    }
    let Some(sig) = sigv4::parse(req)? else {
        return Err(KcrError::missing_authentication_token(
            "Request is missing Authentication Token.",
        ));
    };
    let scope = sigv4::Scope {
        service: super::SERVICE,
        regions: &app.config.management.regions,
    };
    sigv4::check(&sig, req, &scope, chrono::Utc::now())?;
    let key = app
        .meta
        .get_api_key(&sig.access_key_id)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "cannot read API keys");
            KcrError::auth_service_unavailable()
        })?
        .filter(|k| k.enabled)
        .ok_or_else(KcrError::invalid_client_token_id)?;
    let secret = app
        .master_key
        .open(&key.access_key_id, &key.sealed_secret)
        .ok_or_else(|| {
            tracing::error!(key = %key.access_key_id, "API key secret does not open with the master key");
            KcrError::auth_service_unavailable()
        })?;
    Ok(Signer {
        sig,
        access_key_id: key.access_key_id,
        read_only: key.read_only,
        secret,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_id() {
        let dir = tempfile::tempdir().unwrap();
        let master = MasterKey::load_or_create(dir.path()).unwrap();
        let again = MasterKey::load_or_create(dir.path()).unwrap();
        let sealed = master.seal("AK1", "secret").unwrap();
        assert!(!sealed.contains("secret"));
        assert_eq!(again.open("AK1", &sealed).as_deref(), Some("secret"));
        assert_eq!(master.open("AK2", &sealed), None);
        let other = MasterKey::from_base64(&B64.encode([7u8; 32])).unwrap();
        assert_eq!(other.open("AK1", &sealed), None);
        assert_eq!(master.open("AK1", "garbage"), None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join("master.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
