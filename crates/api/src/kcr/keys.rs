//! Management API keys: an access key id and a secret that signs requests (SigV4).
//!
//! SigV4 needs the secret itself on the server (it is an HMAC key), so it cannot be stored as a
//! one-way hash. It is sealed instead (ChaCha20-Poly1305, the key id as associated data) under a
//! master key that lives outside the database: `master.key` in the data directory (mode 0600),
//! or `BERTH_MASTER_KEY` (base64 of 32 bytes). A copy of the database alone yields no usable
//! secret.

use berth_store::{ApiKey, MetadataStore};
use rand::RngCore;

use super::error::{KcrError, KcrResult};
pub use crate::seal::{KeyError, MasterKey};
use crate::state::App;
use berth_kcr::sigv4;

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
        Some(verified.map(|()| self.caller()).map_err(KcrError::from))
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
        service: super::context::SERVICE,
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
