//! Requests signed by Huawei Cloud's own Python signer (`gen_vectors.py`, output in
//! `vectors.json`) verified at their own time; then each signed part changed by one byte, and
//! the secret, the time and the scheme, and the verifier's answer checked.
use std::error::Error;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use berth_hss::sign::{self, Options, Request, Secret, SignError, canonical};
use http::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;

type TestResult = Result<(), Box<dyn Error>>;

#[derive(Deserialize)]
struct Vectors {
    access_key_id: String,
    secret_access_key: String,
    date_unix: u64,
    vectors: Vec<Vector>,
}

#[derive(Deserialize, Clone)]
struct Vector {
    name: String,
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body_hex: String,
    canonical_request: String,
}

fn load() -> Result<Vectors, Box<dyn Error>> {
    Ok(serde_json::from_str(include_str!("vectors.json"))?)
}

/// A request as the server holds it: owned parts to lend to [`Request`].
struct Owned {
    method: String,
    path: String,
    query: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Owned {
    fn from(v: &Vector) -> Result<Owned, Box<dyn Error>> {
        let mut headers = HeaderMap::new();
        for (name, value) in &v.headers {
            headers.append(
                HeaderName::from_bytes(name.as_bytes())?,
                HeaderValue::from_bytes(value.as_bytes())?,
            );
        }
        Ok(Owned {
            method: v.method.clone(),
            path: v.path.clone(),
            query: v.query.clone(),
            headers,
            body: hex::decode(&v.body_hex)?,
        })
    }

    fn request(&self) -> Request<'_> {
        Request::new(
            &self.method,
            &self.path,
            &self.query,
            &self.headers,
            &self.body,
        )
    }

    fn set(&mut self, name: &'static str, value: &str) -> TestResult {
        self.headers.insert(name, HeaderValue::from_str(value)?);
        Ok(())
    }
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

const UNSIGNED: Options = Options {
    max_skew_secs: sign::MAX_SKEW_SECS,
    allow_unsigned_payload: true,
};

fn options_for(v: &Vector) -> Options {
    if v.name == "post-unsigned-payload" {
        UNSIGNED
    } else {
        Options::default()
    }
}

fn check(
    owned: &Owned,
    secret: &Secret,
    now: SystemTime,
    options: &Options,
) -> Result<(), SignError> {
    let req = owned.request();
    sign::parse(&req)?.verify_with(secret, &req, now, options)
}

#[test]
fn every_vector_verifies_and_its_canonical_request_is_the_signers() -> TestResult {
    let all = load()?;
    assert!(all.vectors.len() >= 8);
    let secret = Secret::new(all.secret_access_key.as_str());
    for v in &all.vectors {
        let owned = Owned::from(v)?;
        let req = owned.request();
        let unverified = sign::parse(&req)?;
        assert_eq!(unverified.access_key_id(), all.access_key_id, "{}", v.name);
        let options = options_for(v);
        let ours = canonical::canonical_request(
            &req,
            unverified.signed_headers(),
            options.allow_unsigned_payload,
        )?;
        assert_eq!(ours, v.canonical_request, "{}", v.name);
        unverified
            .verify_with(&secret, &req, at(all.date_unix), &options)
            .map_err(|e| format!("{}: {e}", v.name))?;
    }
    Ok(())
}

/// Each byte-level change to a signed part, on every vector where the part exists.
#[test]
fn one_byte_changes_fail() -> TestResult {
    let all = load()?;
    let secret = Secret::new(all.secret_access_key.as_str());
    let now = at(all.date_unix);
    for v in &all.vectors {
        let options = options_for(v);
        let mut changes: Vec<(&str, Owned)> = Vec::new();
        if !v.body_hex.is_empty() && v.name != "post-unsigned-payload" {
            let mut o = Owned::from(v)?;
            if let Some(b) = o.body.last_mut() {
                *b ^= 1;
            }
            changes.push(("body", o));
        }
        let mut o = Owned::from(v)?;
        o.path.push('x');
        changes.push(("path", o));
        if !v.query.is_empty() {
            let mut o = Owned::from(v)?;
            o.query = o.query.replacen('=', "=1", 1);
            changes.push(("query", o));
        }
        let mut o = Owned::from(v)?;
        o.set("user-agent", "huaweicloud-usdk-python/3.1")?;
        changes.push(("signed header", o));
        let mut o = Owned::from(v)?;
        o.method = "PATCH".into();
        changes.push(("method", o));
        for (what, changed) in &changes {
            assert_eq!(
                check(changed, &secret, now, &options),
                Err(SignError::SignatureMismatch),
                "{}: {what}",
                v.name
            );
        }
        let owned = Owned::from(v)?;
        let mut wrong = all.secret_access_key.clone().into_bytes();
        if let Some(b) = wrong.first_mut() {
            *b ^= 1;
        }
        let wrong = Secret::new(String::from_utf8(wrong)?);
        assert_eq!(
            check(&owned, &wrong, now, &options),
            Err(SignError::SignatureMismatch),
            "{}: secret",
            v.name
        );
    }
    Ok(())
}

fn vector(all: &Vectors, name: &str) -> Result<Vector, Box<dyn Error>> {
    Ok(all
        .vectors
        .iter()
        .find(|v| v.name == name)
        .ok_or_else(|| format!("no vector {name}"))?
        .clone())
}

#[test]
fn unsigned_headers_and_surrounding_spaces_do_not_matter() -> TestResult {
    let all = load()?;
    let secret = Secret::new(all.secret_access_key.as_str());
    let mut owned = Owned::from(&vector(&all, "header-values-with-spaces")?)?;
    // The signer strips values; spaces a client or proxy adds around them are not signed.
    owned.headers.insert(
        "x-custom-note",
        HeaderValue::from_bytes(b"\t two  inner  spaces \xc2\xa0")?,
    );
    // Headers not in SignedHeaders may change freely.
    owned.set("x_unsigned_underscore", "changed")?;
    owned.set("x-new-header", "added")?;
    check(&owned, &secret, at(all.date_unix), &Options::default())?;
    owned.set("x-custom-note", "two inner spaces")?;
    assert_eq!(
        check(&owned, &secret, at(all.date_unix), &Options::default()),
        Err(SignError::SignatureMismatch)
    );
    Ok(())
}

#[test]
fn the_date_must_be_within_fifteen_minutes() -> TestResult {
    let all = load()?;
    let secret = Secret::new(all.secret_access_key.as_str());
    let owned = Owned::from(&vector(&all, "post-json-body")?)?;
    let options = Options::default();
    for ok in [all.date_unix - 900, all.date_unix + 900] {
        check(&owned, &secret, at(ok), &options)?;
    }
    assert_eq!(
        check(&owned, &secret, at(all.date_unix + 901), &options),
        Err(SignError::DateSkew {
            skew_secs: 901,
            max_secs: 900
        })
    );
    assert_eq!(
        check(&owned, &secret, at(all.date_unix - 901), &options),
        Err(SignError::DateSkew {
            skew_secs: -901,
            max_secs: 900
        })
    );
    // A date changed to one still in the window breaks the signature.
    let mut moved = Owned::from(&vector(&all, "post-json-body")?)?;
    moved.set("x-sdk-date", "20240102T030406Z")?;
    assert_eq!(
        check(&moved, &secret, at(all.date_unix), &options),
        Err(SignError::SignatureMismatch)
    );
    moved.set("x-sdk-date", "2024-01-02T03:04:05Z")?;
    assert_eq!(
        check(&moved, &secret, at(all.date_unix), &options),
        Err(SignError::MalformedDate)
    );
    Ok(())
}

#[test]
fn unsigned_payload_only_when_allowed_and_content_hash_must_match() -> TestResult {
    let all = load()?;
    let secret = Secret::new(all.secret_access_key.as_str());
    let now = at(all.date_unix);
    let mut owned = Owned::from(&vector(&all, "post-unsigned-payload")?)?;
    assert_eq!(
        check(&owned, &secret, now, &Options::default()),
        Err(SignError::UnsignedPayload)
    );
    check(&owned, &secret, now, &UNSIGNED)?;
    // Unsigned means any body passes: that is what the option allows.
    owned.body = b"other".to_vec();
    check(&owned, &secret, now, &UNSIGNED)?;

    // A content header added to a signed request cannot stand in for the body's hash.
    let json = vector(&all, "post-json-body")?;
    let mut owned = Owned::from(&json)?;
    owned.set("x-sdk-content-sha256", canonical::UNSIGNED_PAYLOAD)?;
    assert_eq!(
        check(&owned, &secret, now, &UNSIGNED),
        Err(SignError::HeaderNotSigned("x-sdk-content-sha256"))
    );
    Ok(())
}

#[test]
fn structural_refusals_name_the_problem() -> TestResult {
    let all = load()?;
    let secret = Secret::new(all.secret_access_key.as_str());
    let now = at(all.date_unix);
    let get = vector(&all, "get-root")?;
    let auth = get
        .headers
        .iter()
        .find(|(n, _)| n == "Authorization")
        .map(|(_, v)| v.clone())
        .ok_or("no Authorization")?;

    let mut o = Owned::from(&get)?;
    o.headers.remove("authorization");
    assert_eq!(
        check(&o, &secret, now, &Options::default()),
        Err(SignError::MissingHeader("Authorization"))
    );

    let mut o = Owned::from(&get)?;
    o.headers.remove("x-sdk-date");
    assert_eq!(
        check(&o, &secret, now, &Options::default()),
        Err(SignError::MissingHeader("X-Sdk-Date"))
    );

    let mut o = Owned::from(&get)?;
    o.set(
        "authorization",
        &auth.replace("SDK-HMAC-SHA256", "SDK-HMAC-SM3"),
    )?;
    assert_eq!(
        check(&o, &secret, now, &Options::default()),
        Err(SignError::UnsupportedAlgorithm("SDK-HMAC-SM3".into()))
    );

    let mut o = Owned::from(&get)?;
    o.set("authorization", &auth.replace("host;", ""))?;
    assert_eq!(
        check(&o, &secret, now, &Options::default()),
        Err(SignError::HeaderNotSigned("host"))
    );

    let mut o = Owned::from(&get)?;
    o.headers.remove("user-agent");
    assert_eq!(
        check(&o, &secret, now, &Options::default()),
        Err(SignError::MissingSignedHeader("user-agent".into()))
    );

    let mut o = Owned::from(&get)?;
    o.headers
        .append("user-agent", HeaderValue::from_static("second"));
    assert_eq!(
        check(&o, &secret, now, &Options::default()),
        Err(SignError::DuplicateHeader("user-agent".into()))
    );

    let mut o = Owned::from(&get)?;
    o.headers
        .insert("user-agent", HeaderValue::from_bytes(b"\xff\xfe")?);
    assert_eq!(
        check(&o, &secret, now, &Options::default()),
        Err(SignError::InvalidHeaderValue("user-agent".into()))
    );

    // The secret shows nowhere.
    let shown = format!("{secret:?}");
    assert!(!shown.contains(&all.secret_access_key));
    Ok(())
}

#[test]
fn host_falls_back_to_the_authority() -> TestResult {
    let all = load()?;
    let secret = Secret::new(all.secret_access_key.as_str());
    let get = vector(&all, "get-root")?;
    let mut owned = Owned::from(&get)?;
    let host = owned
        .headers
        .remove("host")
        .ok_or("no host")?
        .to_str()?
        .to_string();
    let mut req = owned.request();
    assert_eq!(
        sign::parse(&req)?.verify(&secret, &req, at(all.date_unix)),
        Err(SignError::MissingSignedHeader("host".into()))
    );
    req.authority = Some(&host);
    sign::parse(&req)?.verify(&secret, &req, at(all.date_unix))?;
    Ok(())
}
