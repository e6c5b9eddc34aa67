//! The requests Alibaba Cloud's own SDKs sent (recorded by `vectors/record.py`), verified with a
//! clock fixed at each request's own time; then every signed part of each changed, one at a
//! time, and the verifier's answer checked.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use berth_acs::{
    AcsError, Limits, MAX_SKEW_SECS, Request, Secret, Signing, Verified, Verifier, parse, time,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use serde::Deserialize;

#[derive(Deserialize)]
struct Vectors {
    access_key_id: String,
    access_key_secret: String,
    requests: Vec<Recorded>,
    error_probe: Probe,
}

#[derive(Deserialize, Clone, Debug)]
struct Recorded {
    client: String,
    endpoint: String,
    action: String,
    version: String,
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body_b64: String,
    params: BTreeMap<String, String>,
    string_to_sign: String,
}

#[derive(Deserialize)]
struct Probe {
    status: u16,
    body: String,
    parsed: Vec<Parsed>,
}

#[derive(Deserialize)]
struct Parsed {
    client: String,
    status: u16,
    code: String,
    message: String,
    request_id: String,
}

fn vectors() -> Vectors {
    serde_json::from_str(include_str!("vectors/requests.json")).expect("requests.json")
}

const OTHER_KEY: &str = "LTAI5tBerthAcsOtherKey2";

fn secrets(v: &Vectors) -> HashMap<String, Secret> {
    HashMap::from([
        (v.access_key_id.clone(), Secret::new(&*v.access_key_secret)),
        (OTHER_KEY.to_string(), Secret::new("another secret")),
    ])
}

/// A request as owned `http` parts, to change before verifying.
#[derive(Clone, Debug)]
struct Owned {
    method: Method,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Owned {
    fn from(r: &Recorded) -> Self {
        Owned {
            method: Method::from_bytes(r.method.as_bytes()).unwrap(),
            target: r.target.clone(),
            headers: r.headers.clone(),
            body: base64::engine::general_purpose::STANDARD
                .decode(&r.body_b64)
                .unwrap(),
        }
    }

    fn parts(&self) -> (Uri, HeaderMap) {
        let uri: Uri = self.target.parse().unwrap();
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        (uri, headers)
    }

    fn verify(
        &self,
        verifier: &Verifier,
        v: &Vectors,
        now: SystemTime,
    ) -> Result<Verified, AcsError> {
        let (uri, headers) = self.parts();
        verifier.verify(
            &Request::new(&self.method, &uri, &headers, &self.body),
            &secrets(v),
            now,
        )
    }

    /// Verified with a fresh nonce cache, at `now`.
    fn check(&self, v: &Vectors, now: SystemTime) -> Result<Verified, AcsError> {
        self.verify(&Verifier::default(), v, now)
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn set_header(&mut self, name: &str, value: &str) {
        let mut found = false;
        for (n, v) in &mut self.headers {
            if n.eq_ignore_ascii_case(name) {
                *v = value.to_string();
                found = true;
            }
        }
        if !found {
            self.headers.push((name.to_string(), value.to_string()));
        }
    }

    /// The query's raw `name=value` segments.
    fn segments(&self) -> Vec<String> {
        let (_, query) = self.target.split_once('?').unwrap_or((&self.target, ""));
        query.split('&').map(str::to_string).collect()
    }

    fn set_segments(&mut self, segments: &[String]) {
        let path = self.target.split('?').next().unwrap_or("/").to_string();
        self.target = format!("{path}?{}", segments.join("&"));
    }

    /// Replaces the raw value of query parameter `name`.
    fn set_query(&mut self, name: &str, raw_value: &str) {
        let segments: Vec<String> = self
            .segments()
            .into_iter()
            .map(|s| match s.split_once('=') {
                Some((n, _)) if n == name => format!("{n}={raw_value}"),
                _ => s,
            })
            .collect();
        self.set_segments(&segments);
    }

    fn query(&self, name: &str) -> Option<String> {
        self.segments().into_iter().find_map(|s| {
            s.split_once('=')
                .filter(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        })
    }
}

fn claimed_time(r: &Owned) -> i64 {
    let (uri, headers) = r.parts();
    parse(
        &Request::new(&r.method, &uri, &headers, &r.body),
        &Limits::default(),
    )
    .unwrap()
    .timestamp()
}

fn at(secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap())
}

/// Each recorded request with the fixed clock it is verified at (its own time plus 7 s).
fn cases(v: &Vectors) -> Vec<(Recorded, Owned, SystemTime)> {
    v.requests
        .iter()
        .map(|r| {
            let owned = Owned::from(r);
            let now = at(claimed_time(&owned) + 7);
            (r.clone(), owned, now)
        })
        .collect()
}

fn is_acs3(r: &Recorded) -> bool {
    r.client.starts_with("tea-acs3")
}

#[track_caller]
fn assert_code(result: Result<Verified, AcsError>, code: &str, what: &str) {
    match result {
        Err(e) => assert_eq!(e.code(), code, "{what}: {e}"),
        Ok(v) => panic!("{what}: verified {v:?}, expected {code}"),
    }
}

#[test]
fn the_recording_covers_every_client_and_endpoint_form() {
    let v = vectors();
    assert_eq!(v.requests.len(), 14);
    for client in ["tea-acs3", "tea-v2", "core"] {
        for endpoint in ["127.0.0.1:", "http://127.0.0.1:"] {
            for action in ["ListImageRisk", "DescribeClusterImageSecuritySummary"] {
                assert!(
                    v.requests.iter().any(|r| r.client == client
                        && r.endpoint.starts_with(endpoint)
                        && r.action == action),
                    "{client} {endpoint} {action}"
                );
            }
        }
    }
    // The wire fact the verifier is built around: given an endpoint with a scheme, the SDK puts
    // it in the Host header as it is, and signs that.
    let with_scheme = v
        .requests
        .iter()
        .find(|r| r.client == "tea-acs3" && r.endpoint.starts_with("http://"))
        .unwrap();
    assert_eq!(
        Owned::from(with_scheme).header("host"),
        Some(with_scheme.endpoint.as_str())
    );
    let auth = Owned::from(with_scheme)
        .header("authorization")
        .unwrap()
        .to_string();
    assert!(auth.contains("SignedHeaders=accept;host;"), "{auth}");
}

#[test]
fn every_recorded_request_verifies() {
    let v = vectors();
    for (r, owned, now) in cases(&v) {
        let what = format!("{} {} via {}", r.client, r.action, r.endpoint);
        let verified = owned
            .check(&v, now)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(verified.access_key_id(), v.access_key_id, "{what}");
        assert_eq!(verified.action(), r.action, "{what}");
        assert_eq!(verified.version(), r.version, "{what}");
        assert_eq!(verified.params(), &r.params, "{what}");
        let expected = if is_acs3(&r) {
            Signing::Acs3
        } else {
            Signing::RpcV2
        };
        assert_eq!(verified.signing(), expected, "{what}");
    }
}

#[test]
fn the_string_to_sign_is_the_sdks() {
    let v = vectors();
    for (r, owned, _) in cases(&v) {
        let (uri, headers) = owned.parts();
        let unverified = parse(
            &Request::new(&owned.method, &uri, &headers, &owned.body),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(
            unverified.string_to_sign(),
            r.string_to_sign,
            "{}",
            r.client
        );
    }
}

#[test]
fn a_wrong_secret_quotes_the_string_to_sign() {
    let v = vectors();
    for (r, owned, now) in cases(&v) {
        let wrong = HashMap::from([(v.access_key_id.clone(), Secret::new("not the secret"))]);
        let (uri, headers) = owned.parts();
        let result = Verifier::default().verify(
            &Request::new(&owned.method, &uri, &headers, &owned.body),
            &wrong,
            now,
        );
        let Err(e) = result else {
            panic!("{}: verified with a wrong secret", r.client);
        };
        assert_eq!(
            (e.code(), e.status().as_u16()),
            ("SignatureDoesNotMatch", 400)
        );
        // aliyun-python-sdk-core compares the text after the first ':' with its own string to
        // sign and, when equal, tells its user the secret is wrong (InvalidAccessKeySecret).
        if !is_acs3(&r) {
            assert_eq!(
                e.message().split(':').nth(1),
                Some(r.string_to_sign.as_str())
            );
        }
    }
}

#[test]
fn an_unknown_key_is_not_found() {
    let v = vectors();
    for (r, owned, now) in cases(&v) {
        let (uri, headers) = owned.parts();
        let none: HashMap<String, Secret> = HashMap::new();
        let e = Verifier::default()
            .verify(
                &Request::new(&owned.method, &uri, &headers, &owned.body),
                &none,
                now,
            )
            .unwrap_err();
        assert_eq!(
            (e.code(), e.status().as_u16()),
            ("InvalidAccessKeyId.NotFound", 404),
            "{}",
            r.client
        );
    }
}

#[test]
fn a_replayed_nonce_is_refused() {
    let v = vectors();
    for (r, owned, now) in cases(&v) {
        let verifier = Verifier::default();
        owned.verify(&verifier, &v, now).unwrap();
        let later = now + Duration::from_secs(60);
        let e = owned.verify(&verifier, &v, later).unwrap_err();
        assert_eq!(e, AcsError::SignatureNonceUsed, "{}", r.client);
        // Another server's cache never saw it.
        assert!(owned.check(&v, later).is_ok());
        // Past the window the replay is refused for its time.
        let expired = at(claimed_time(&owned) + MAX_SKEW_SECS + 1);
        assert_eq!(
            owned.verify(&verifier, &v, expired).unwrap_err(),
            AcsError::TimestampExpired
        );
    }
}

#[test]
fn a_refused_request_leaves_no_nonce() {
    let v = vectors();
    for (r, owned, now) in cases(&v) {
        let verifier = Verifier::default();
        let wrong = HashMap::from([(v.access_key_id.clone(), Secret::new("wrong"))]);
        let (uri, headers) = owned.parts();
        let req = Request::new(&owned.method, &uri, &headers, &owned.body);
        assert!(verifier.verify(&req, &wrong, now).is_err());
        assert!(verifier.nonces().is_empty(), "{}", r.client);
        assert!(owned.verify(&verifier, &v, now).is_ok(), "{}", r.client);
        assert_eq!(verifier.nonces().len(), 1);
    }
}

#[test]
fn clock_skew_over_fifteen_minutes_is_refused() {
    let v = vectors();
    for (r, owned, _) in cases(&v) {
        let t = claimed_time(&owned);
        for (now, ok) in [
            (t - MAX_SKEW_SECS - 1, false),
            (t - MAX_SKEW_SECS, true),
            (t + MAX_SKEW_SECS, true),
            (t + MAX_SKEW_SECS + 1, false),
            (t + 86_400, false),
        ] {
            let result = owned.check(&v, at(now));
            if ok {
                assert!(result.is_ok(), "{} at {}: {result:?}", r.client, now - t);
            } else {
                assert_code(result, "InvalidTimeStamp.Expired", &r.client);
            }
        }
    }
}

#[test]
fn changing_any_parameter_breaks_the_signature() {
    let v = vectors();
    for (r, owned, now) in cases(&v) {
        for segment in owned.segments() {
            let (name, value) = segment.split_once('=').unwrap_or((&segment, ""));
            if !r.params.contains_key(name) {
                continue;
            }
            let mut changed = owned.clone();
            changed.set_query(name, &format!("{value}0"));
            assert_code(
                changed.check(&v, now),
                "SignatureDoesNotMatch",
                &format!("{} {name}", r.client),
            );
        }
        // Added and removed parameters too.
        let mut added = owned.clone();
        let mut segments = added.segments();
        segments.push("Extra=1".to_string());
        added.set_segments(&segments);
        assert_code(
            added.check(&v, now),
            "SignatureDoesNotMatch",
            &format!("{} +Extra", r.client),
        );

        let business: Vec<String> = owned
            .segments()
            .into_iter()
            .filter(|s| {
                s.split('=')
                    .next()
                    .is_some_and(|n| r.params.contains_key(n))
            })
            .collect();
        if let Some(victim) = business.first() {
            let mut removed = owned.clone();
            let rest: Vec<String> = owned
                .segments()
                .into_iter()
                .filter(|s| s != victim)
                .collect();
            removed.set_segments(&rest);
            assert_code(
                removed.check(&v, now),
                "SignatureDoesNotMatch",
                &format!("{} -{victim}", r.client),
            );
        }
    }
}

#[test]
fn changing_a_signed_header_breaks_the_signature() {
    let v = vectors();
    for (r, owned, now) in cases(&v).into_iter().filter(|(r, _, _)| is_acs3(r)) {
        let auth = owned.header("authorization").unwrap().to_string();
        let list = auth
            .split("SignedHeaders=")
            .nth(1)
            .unwrap()
            .split(',')
            .next()
            .unwrap();
        for name in list.split(';') {
            let old = owned.header(name).unwrap().to_string();
            let new = match name {
                "x-acs-date" => time::format(time::parse(&old).unwrap() + 1),
                "x-acs-content-sha256" => format!("0{}", &old[1..]),
                // Still a form, so the body is read, but not the type that was signed.
                "content-type" => format!("{old}; charset=UTF-8"),
                _ => format!("{old}x"),
            };
            let mut changed = owned.clone();
            changed.set_header(name, &new);
            assert_code(
                changed.check(&v, now),
                "SignatureDoesNotMatch",
                &format!("{} {name}", r.client),
            );
        }
        // An x-acs-* header (or a content type) that is not signed is refused outright.
        let mut unsigned = owned.clone();
        unsigned.set_header("x-acs-extra", "1");
        assert_code(
            unsigned.check(&v, now),
            "IncompleteSignature",
            "unsigned x-acs-extra",
        );
        // Leaving a header out of the list changes what was signed.
        let mut shorter = owned.clone();
        shorter.set_header("authorization", &auth.replace("accept;", ""));
        assert_code(
            shorter.check(&v, now),
            "SignatureDoesNotMatch",
            "accept unsigned",
        );
        for required in ["host", "x-acs-date", "x-acs-signature-nonce"] {
            let mut missing = owned.clone();
            missing.set_header("authorization", &auth.replace(&format!("{required};"), ""));
            assert_code(missing.check(&v, now), "IncompleteSignature", required);
        }
    }
}

#[test]
fn v2_headers_are_unsigned_but_must_agree() {
    let v = vectors();
    for (r, owned, now) in cases(&v).into_iter().filter(|(r, _, _)| !is_acs3(r)) {
        let mut agent = owned.clone();
        agent.set_header("user-agent", "something else");
        assert!(agent.check(&v, now).is_ok(), "{}", r.client);
        let mut action = owned.clone();
        action.set_header("x-acs-action", "DeleteEverything");
        assert_code(action.check(&v, now), "InvalidParameter", &r.client);
    }
}

#[test]
fn changing_the_body_breaks_the_signature() {
    let v = vectors();
    for (r, owned, now) in cases(&v) {
        let what = &r.client;
        if owned.body.is_empty() {
            // A form body appearing after signing.
            let mut changed = owned.clone();
            changed.body = b"Extra=1".to_vec();
            changed.set_header("content-type", "application/x-www-form-urlencoded");
            let code = if is_acs3(&r) {
                "IncompleteSignature"
            } else {
                "SignatureDoesNotMatch"
            };
            assert_code(changed.check(&v, now), code, what);
            // Any body not a form is refused.
            let mut octets = owned.clone();
            octets.body = b"\x00\x01".to_vec();
            assert_code(octets.check(&v, now), "InvalidParameter", what);
        } else {
            let mut changed = owned.clone();
            changed.body.extend_from_slice(b"&Extra=1");
            assert_code(changed.check(&v, now), "SignatureDoesNotMatch", what);
            let mut flipped = owned.clone();
            let last = flipped.body.len() - 1;
            flipped.body[last] = b'6';
            assert_code(flipped.check(&v, now), "SignatureDoesNotMatch", what);
        }
    }
}

#[test]
fn changing_the_date_or_method_breaks_the_signature() {
    let v = vectors();
    for (r, owned, now) in cases(&v) {
        let mut later = owned.clone();
        let t = time::format(claimed_time(&owned) + 1);
        if is_acs3(&r) {
            later.set_header("x-acs-date", &t);
        } else {
            later.set_query("Timestamp", &t.replace(':', "%3A"));
        }
        assert_code(
            later.check(&v, now),
            "SignatureDoesNotMatch",
            &format!("{} date", r.client),
        );

        let mut badly_formed = owned.clone();
        if is_acs3(&r) {
            badly_formed.set_header("x-acs-date", "2026-12-06 23:05:58");
        } else {
            badly_formed.set_query("Timestamp", "1765062358");
        }
        assert_code(
            badly_formed.check(&v, now),
            "InvalidTimeStamp.Format",
            &r.client,
        );

        let mut method = owned.clone();
        method.method = if owned.method == Method::GET {
            Method::POST
        } else {
            Method::GET
        };
        assert_code(
            method.check(&v, now),
            "SignatureDoesNotMatch",
            &format!("{} method", r.client),
        );
    }
}

#[test]
fn changing_the_access_key_or_signature_is_refused() {
    let v = vectors();
    for (r, owned, now) in cases(&v) {
        let (mut other, mut unknown, mut tampered) = (owned.clone(), owned.clone(), owned.clone());
        if is_acs3(&r) {
            let auth = owned.header("authorization").unwrap().to_string();
            other.set_header("authorization", &auth.replace(&v.access_key_id, OTHER_KEY));
            unknown.set_header(
                "authorization",
                &auth.replace(&v.access_key_id, "LTAI5tNobody"),
            );
            let sig_at = auth.find("Signature=").unwrap() + "Signature=".len();
            let flipped = if &auth[sig_at..=sig_at] == "0" {
                "1"
            } else {
                "0"
            };
            tampered.set_header(
                "authorization",
                &format!("{}{flipped}{}", &auth[..sig_at], &auth[sig_at + 1..]),
            );
        } else {
            other.set_query("AccessKeyId", OTHER_KEY);
            unknown.set_query("AccessKeyId", "LTAI5tNobody");
            let sig = owned.query("Signature").unwrap();
            let flipped = if sig.starts_with('A') { "B" } else { "A" };
            tampered.set_query("Signature", &format!("{flipped}{}", &sig[1..]));
        }
        assert_code(
            other.check(&v, now),
            "SignatureDoesNotMatch",
            &format!("{} other key", r.client),
        );
        assert_code(
            unknown.check(&v, now),
            "InvalidAccessKeyId.NotFound",
            &r.client,
        );
        assert_code(
            tampered.check(&v, now),
            "SignatureDoesNotMatch",
            &format!("{} signature", r.client),
        );
    }
}

#[test]
fn the_sdks_read_the_error_body() {
    let v = vectors();
    let probe = &v.error_probe;
    let body =
        AcsError::SignatureNonceUsed.body("6B7C3E2A-0F1D-4C5B-9A8E-7D6C5B4A3F21", "127.0.0.1");
    assert_eq!(serde_json::to_string(&body).unwrap(), probe.body);
    assert_eq!(AcsError::SignatureNonceUsed.status().as_u16(), probe.status);
    assert_eq!(probe.parsed.len(), 3);
    for parsed in &probe.parsed {
        assert_eq!(parsed.status, probe.status, "{}", parsed.client);
        assert_eq!(parsed.code, body.code, "{}", parsed.client);
        assert_eq!(parsed.request_id, body.request_id, "{}", parsed.client);
        assert!(parsed.message.contains(&body.message), "{}", parsed.client);
    }
}
