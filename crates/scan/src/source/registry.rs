//! `registry:REF`: pulls over the OCI distribution API. Basic auth and the Docker bearer-token
//! flow (401 + `WWW-Authenticate: Bearer realm=...,service=...,scope=...` -> token endpoint ->
//! retry). HTTPS by default; plain HTTP for localhost/127.0.0.1/[::1] or with `insecure`.
//! Blocking I/O: the engine reads layers on worker threads, so call it from blocking context
//! (e.g. `tokio::task::spawn_blocking`).
use std::io::Read;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use berth_oci::{Digest, Reference};
use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};

use super::ImageSource;
use crate::error::{Result, ScanError};

const ACCEPT_MANIFESTS: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

#[derive(Debug, Clone, Default)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    pub credentials: Option<Credentials>,
    /// Allow plain HTTP (and invalid TLS certificates) for any host.
    pub insecure: bool,
}

pub struct RegistrySource {
    reference: Reference,
    base: String,
    client: Client,
    creds: Option<Credentials>,
    token: Mutex<Option<String>>,
}

fn is_local(host: &str) -> bool {
    let h = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host)
    };
    h == "localhost" || h == "127.0.0.1" || h == "::1" || h.starts_with("127.")
}

/// Parses `Bearer realm="...",service="...",scope="..."`.
pub fn parse_challenge(h: &str) -> Option<(String, Vec<(String, String)>)> {
    let (scheme, rest) = h.trim().split_once(' ').unwrap_or((h.trim(), ""));
    let mut params = Vec::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let (k, r) = rest.split_once('=')?;
        let r = r.trim_start();
        let (v, r) = if let Some(r) = r.strip_prefix('"') {
            let end = r.find('"')?;
            (r[..end].to_string(), &r[end + 1..])
        } else {
            let end = r.find(',').unwrap_or(r.len());
            (r[..end].trim().to_string(), &r[end..])
        };
        params.push((k.trim().to_ascii_lowercase(), v));
        rest = r.trim_start_matches([',', ' ']);
    }
    Some((scheme.to_ascii_lowercase(), params))
}

/// Looks up credentials for `host` in `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`.
pub fn docker_config_credentials(host: &str) -> Option<Credentials> {
    let dir = std::env::var_os("DOCKER_CONFIG")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".docker"))
        })?;
    let text = std::fs::read(dir.join("config.json")).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&text).ok()?;
    let auths = v.get("auths")?.as_object()?;
    let keys = [
        host.to_string(),
        format!("https://{host}"),
        format!("http://{host}"),
        if host == "registry-1.docker.io" {
            "https://index.docker.io/v1/".into()
        } else {
            String::new()
        },
    ];
    let entry = keys.iter().find_map(|k| auths.get(k))?;
    let auth = entry.get("auth")?.as_str()?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth)
        .ok()?;
    let s = String::from_utf8(decoded).ok()?;
    let (u, p) = s.split_once(':')?;
    Some(Credentials {
        username: u.into(),
        password: p.into(),
    })
}

impl RegistrySource {
    pub fn new(reference: &str, opts: RegistryOptions) -> Result<Self> {
        let reference: Reference = reference
            .parse()
            .map_err(|e: berth_oci::ReferenceError| ScanError::Registry(e.to_string()))?;
        let host = if reference.registry == berth_oci::reference::DOCKER_HUB {
            "registry-1.docker.io".to_string()
        } else {
            reference.registry.clone()
        };
        let scheme = if opts.insecure || is_local(&host) {
            "http"
        } else {
            "https"
        };
        let client = Client::builder()
            .user_agent(concat!("berth/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(30))
            .timeout(None)
            .danger_accept_invalid_certs(opts.insecure)
            .build()
            .map_err(|e| ScanError::Registry(e.to_string()))?;
        let creds = opts
            .credentials
            .or_else(|| docker_config_credentials(&host));
        Ok(RegistrySource {
            base: format!("{scheme}://{host}"),
            reference,
            client,
            creds,
            token: Mutex::new(None),
        })
    }

    fn url(&self, kind: &str, object: &str) -> String {
        format!(
            "{}/v2/{}/{kind}/{object}",
            self.base, self.reference.repository
        )
    }

    fn authorize(&self, rb: RequestBuilder) -> RequestBuilder {
        let token = self.token.lock().ok().and_then(|t| t.clone());
        match (token, &self.creds) {
            (Some(t), _) => rb.header(AUTHORIZATION, t),
            (None, Some(c)) => rb.basic_auth(&c.username, Some(&c.password)),
            (None, None) => rb,
        }
    }

    /// Sends a GET, answering one auth challenge.
    fn get(&self, url: &str, accept: Option<&str>) -> Result<Response> {
        let build = || {
            let rb = self.client.get(url);
            let rb = match accept {
                Some(a) => rb.header(ACCEPT, a),
                None => rb,
            };
            self.authorize(rb)
        };
        let resp = build()
            .send()
            .map_err(|e| ScanError::Registry(format!("GET {url}: {e}")))?;
        if resp.status() != StatusCode::UNAUTHORIZED {
            return check(resp, url);
        }
        let challenge = resp
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let (scheme, params) = parse_challenge(&challenge).unwrap_or_default();
        let value = match scheme.as_str() {
            "bearer" => format!("Bearer {}", self.fetch_token(&params)?),
            "basic" => {
                let c = self.creds.as_ref().ok_or_else(|| {
                    ScanError::Registry(format!("GET {url}: 401, credentials required"))
                })?;
                let raw = format!("{}:{}", c.username, c.password);
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(raw)
                )
            }
            _ => {
                return Err(ScanError::Registry(format!(
                    "GET {url}: 401 with challenge {challenge:?}"
                )));
            }
        };
        if let Ok(mut t) = self.token.lock() {
            *t = Some(value);
        }
        let resp = build()
            .send()
            .map_err(|e| ScanError::Registry(format!("GET {url}: {e}")))?;
        check(resp, url)
    }

    fn fetch_token(&self, params: &[(String, String)]) -> Result<String> {
        let get = |k: &str| {
            params
                .iter()
                .find(|(pk, _)| pk == k)
                .map(|(_, v)| v.clone())
        };
        let realm = get("realm")
            .ok_or_else(|| ScanError::Registry("bearer challenge without realm".into()))?;
        let mut q: Vec<(String, String)> = Vec::new();
        if let Some(s) = get("service") {
            q.push(("service".into(), s));
        }
        q.push((
            "scope".into(),
            get("scope")
                .unwrap_or_else(|| format!("repository:{}:pull", self.reference.repository)),
        ));
        let mut rb = self.client.get(&realm).query(&q);
        if let Some(c) = &self.creds {
            rb = rb.basic_auth(&c.username, Some(&c.password));
        }
        let resp = rb
            .send()
            .map_err(|e| ScanError::Registry(format!("token endpoint {realm}: {e}")))?;
        let resp = check(resp, &realm)?;
        let v: serde_json::Value = resp
            .json()
            .map_err(|e| ScanError::Registry(format!("token endpoint {realm}: {e}")))?;
        v.get("token")
            .or_else(|| v.get("access_token"))
            .and_then(|t| t.as_str())
            .map(str::to_string)
            .ok_or_else(|| {
                ScanError::Registry(format!("token endpoint {realm}: no token in the answer"))
            })
    }
}

fn check(resp: Response, url: &str) -> Result<Response> {
    if resp.status().is_success() {
        Ok(resp)
    } else {
        let status = resp.status();
        let body: String = resp.text().unwrap_or_default().chars().take(300).collect();
        Err(ScanError::Registry(format!("GET {url}: {status}: {body}")))
    }
}

fn read_capped(mut resp: Response, url: &str) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    (&mut resp)
        .take(super::MAX_JSON + 1)
        .read_to_end(&mut buf)
        .map_err(|e| ScanError::Registry(format!("GET {url}: {e}")))?;
    if buf.len() as u64 > super::MAX_JSON {
        return Err(ScanError::Registry(format!(
            "GET {url}: manifest too large"
        )));
    }
    Ok(buf)
}

impl ImageSource for RegistrySource {
    fn kind(&self) -> &str {
        "registry"
    }

    fn name(&self) -> String {
        let mut s = format!("{}/{}", self.reference.registry, self.reference.repository);
        if let Some(t) = &self.reference.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.reference.digest {
            s.push('@');
            s.push_str(&d.to_string());
        }
        s
    }

    fn root_manifest(&self) -> Result<(Vec<u8>, Option<String>)> {
        let url = self.url("manifests", &self.reference.object());
        let resp = self.get(&url, Some(ACCEPT_MANIFESTS))?;
        let ct = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.split(';').next().unwrap_or(s).trim().to_string());
        let bytes = read_capped(resp, &url)?;
        if let Some(d) = &self.reference.digest {
            let actual = Digest::of(d.algorithm(), &bytes);
            if &actual != d {
                return Err(ScanError::Registry(format!(
                    "manifest {d} has digest {actual}"
                )));
            }
        }
        Ok((bytes, ct))
    }

    fn manifest(&self, digest: &Digest) -> Result<Vec<u8>> {
        let url = self.url("manifests", &digest.to_string());
        let bytes = read_capped(self.get(&url, Some(ACCEPT_MANIFESTS))?, &url)?;
        let actual = Digest::of(digest.algorithm(), &bytes);
        if &actual != digest {
            return Err(ScanError::Registry(format!(
                "manifest {digest} has digest {actual}"
            )));
        }
        Ok(bytes)
    }

    fn open_blob(&self, digest: &Digest) -> Result<Box<dyn Read + Send + '_>> {
        let url = self.url("blobs", &digest.to_string());
        Ok(Box::new(self.get(&url, None)?))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_challenges() {
        let (s, p) = super::parse_challenge(r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull""#).unwrap();
        assert_eq!(s, "bearer");
        assert_eq!(p[0], ("realm".into(), "https://auth.example/token".into()));
        assert_eq!(p[2].1, "repository:a/b:pull");
        assert!(super::is_local("localhost:5000"));
        assert!(super::is_local("127.0.0.1:5000"));
        assert!(super::is_local("[::1]:5000"));
        assert!(!super::is_local("ghcr.io"));
    }
}
