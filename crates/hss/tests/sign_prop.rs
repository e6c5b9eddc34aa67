//! The verifier on arbitrary input: no panics, whatever the Authorization header, path, query,
//! date or body; and the canonical forms are fixed points (what they produce canonicalizes to
//! itself), so a request signed over them verifies.
use std::time::{Duration, UNIX_EPOCH};

use berth_hss::sign::{self, Request, Secret, canonical};
use http::{HeaderMap, HeaderValue};
use proptest::prelude::*;

fn header(map: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_bytes(value.as_bytes()) {
        map.insert(name, value);
    }
}

fn authorization() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,120}",
        "(SDK-HMAC-SHA256|SDK-HMAC-SM3|V11-HMAC-SHA256)? ?(Access=[A-Z0-9]{0,8})?,? ?(SignedHeaders=[a-z;-]{0,30})?,? ?(Signature=[0-9a-f]{0,66})?",
        "SDK-HMAC-SHA256 Access=AK, SignedHeaders=(host;)?(user-agent;)?x-sdk-date(;x-sdk-content-sha256)?, Signature=[0-9a-f]{64}",
    ]
}

proptest! {
    #[test]
    fn verify_never_panics(
        auth in authorization(),
        date in prop_oneof!["\\PC{0,20}", "2024010[1-3]T0[0-9]0[0-9]0[0-9]Z"],
        path in "\\PC{0,60}",
        query in "[a-z0-9%=&+~*. é]{0,60}",
        content in prop_oneof!["", "UNSIGNED-PAYLOAD", "[0-9a-f]{64}"],
        body in prop::collection::vec(any::<u8>(), 0..32),
        host in prop::option::of("[a-z.]{0,12}"),
    ) {
        let mut headers = HeaderMap::new();
        header(&mut headers, "authorization", &auth);
        header(&mut headers, "x-sdk-date", &date);
        header(&mut headers, "user-agent", "ua");
        if !content.is_empty() {
            header(&mut headers, "x-sdk-content-sha256", &content);
        }
        if let Some(host) = &host {
            header(&mut headers, "host", host);
        }
        let req = Request::new("GET", &path, &query, &headers, &body);
        let now = UNIX_EPOCH + Duration::from_secs(1_704_164_645);
        if let Ok(unverified) = sign::parse(&req) {
            for allow in [false, true] {
                let options = sign::Options { allow_unsigned_payload: allow, ..sign::Options::default() };
                let result = unverified.verify_with(&Secret::new("sk"), &req, now, &options);
                prop_assert!(result.is_err());
            }
        }
        let _ = sign::authorization::parse(&auth);
    }

    #[test]
    fn canonical_forms_are_fixed_points(path in "\\PC{0,60}", query in "\\PC{0,60}") {
        let uri = canonical::canonical_uri(&path);
        prop_assert!(uri.ends_with('/'));
        prop_assert_eq!(canonical::canonical_uri(&uri), uri.clone());
        let q = canonical::canonical_query(&query);
        prop_assert_eq!(canonical::canonical_query(&q), q.clone());
    }
}
