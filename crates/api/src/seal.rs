//! Sealing secrets at rest: ChaCha20-Poly1305 under a master key that lives outside the database
//! (`master.key` in the data directory, mode 0600, or `BERTH_MASTER_KEY`, base64 of 32 bytes).
//! The management API's key secrets are sealed with it (SigV4 needs the secret itself, so it
//! cannot be a one-way hash): a copy of the database alone yields no usable secret.
use std::path::Path;

use base64::Engine as _;
use berth_store::StoreError;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;

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

    /// The key for the stores `config` names. Processes that share a PostgreSQL metadata store
    /// must share the key too, and a replica keeps nothing in its data directory: there it
    /// comes only from `BERTH_MASTER_KEY` (after `berth migrate`, the old `master.key`'s text).
    pub fn for_config(config: &crate::config::Config) -> Result<MasterKey, KeyError> {
        if config.metadata.engine() == Ok(crate::config::Engine::Postgres) {
            let text = std::env::var("BERTH_MASTER_KEY").map_err(|_| {
                KeyError::Invalid(
                    "BERTH_MASTER_KEY must be set when metadata.url is PostgreSQL (every \
                     replica needs the same key; base64 of 32 bytes, e.g. `openssl rand \
                     -base64 32`, or the master.key file of a migrated data directory)"
                        .into(),
                )
            })?;
            return MasterKey::from_base64(&text);
        }
        MasterKey::load_or_create(&config.data_dir)
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
