//! Properties of the parameter parser and of the whole verifier on arbitrary input: no panics,
//! and what either SDK's encoder produces decodes back to what it encoded.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, UNIX_EPOCH};

use berth_acs::params::{merge_into, parse_pairs, percent_decode, percent_encode};
use berth_acs::{AcsError, Request, Secret, Verifier, rpc, time};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use proptest::prelude::*;

/// Python's `quote_plus` (tea-openapi's `urlencode`): a space is `+`.
fn quote_plus(s: &str) -> String {
    percent_encode(s).replace("%20", "+")
}

fn encode(params: &BTreeMap<String, String>, enc: fn(&str) -> String) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn names() -> impl Strategy<Value = String> {
    // Any text, including spaces, separators and non-ASCII; not empty.
    "\\PC{1,12}"
}

fn values() -> impl Strategy<Value = String> {
    prop_oneof!["\\PC{0,24}", "[ *~/+=&%:a-z0-9]{0,16}"]
}

proptest! {
    #[test]
    fn parse_pairs_never_panics(input in "\\PC{0,200}") {
        let _ = parse_pairs(&input, 64);
    }

    #[test]
    fn parse_pairs_never_panics_on_percent_soup(input in "[%0-9a-fA-F+=&G]{0,64}") {
        let _ = parse_pairs(&input, 64);
        let _ = percent_decode(&input);
    }

    #[test]
    fn round_trips_both_sdk_encodings(params in prop::collection::btree_map(names(), values(), 0..12)) {
        // tea-openapi's query and form bodies, and aliyun-python-sdk-core's query.
        for enc in [quote_plus as fn(&str) -> String, percent_encode] {
            let wire = encode(&params, enc);
            let mut decoded = BTreeMap::new();
            merge_into(&mut decoded, parse_pairs(&wire, 64).unwrap(), 64).unwrap();
            prop_assert_eq!(&decoded, &params);
        }
    }

    #[test]
    fn decode_inverts_encode(s in "\\PC{0,40}") {
        prop_assert_eq!(percent_decode(&percent_encode(&s)).unwrap(), s.clone());
        prop_assert_eq!(percent_decode(&quote_plus(&s)).unwrap(), s);
    }

    #[test]
    fn a_v2_request_with_any_parameters_verifies(
        business in prop::collection::btree_map("[A-Z][A-Za-z0-9.]{0,10}", values(), 0..8),
        post in any::<bool>(),
    ) {
        let reserved = berth_acs::RESERVED_PARAMS;
        let business: BTreeMap<String, String> = business
            .into_iter()
            .filter(|(k, _)| !reserved.contains(&k.as_str()))
            .collect();
        let t = 1_765_062_358;
        let mut params = business.clone();
        for (k, v) in [
            ("AccessKeyId", "AK"),
            ("Action", "ListImageRisk"),
            ("Version", "2018-12-03"),
            ("Format", "JSON"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
            ("SignatureNonce", "0123456789abcdef"),
        ] {
            params.insert(k.to_string(), v.to_string());
        }
        params.insert("Timestamp".to_string(), time::format(t));
        let method = if post { Method::POST } else { Method::GET };
        let signature = rpc::sign("secret", &rpc::string_to_sign(method.as_str(), &params));
        params.insert("Signature".to_string(), signature);
        let uri: Uri = format!("/?{}", encode(&params, percent_encode)).parse().unwrap();
        let headers = HeaderMap::new();
        let secrets = HashMap::from([("AK".to_string(), Secret::new("secret"))]);
        let verified = Verifier::default()
            .verify(&Request::new(&method, &uri, &headers, b""), &secrets, UNIX_EPOCH + Duration::from_secs(t as u64))
            .unwrap();
        prop_assert_eq!(verified.params(), &business);
    }

    #[test]
    fn verify_never_panics(
        method in "[A-Z]{1,7}",
        query in "[ -~]{0,120}",
        headers in prop::collection::vec(("[a-z-]{1,24}", "[ -~]{0,80}"), 0..8),
        auth in prop_oneof![
            Just(None),
            "ACS3-HMAC-SHA256 [ -~]{0,120}".prop_map(Some),
            "[ -~]{0,60}".prop_map(Some),
        ],
        body in prop::collection::vec(any::<u8>(), 0..64),
        now in 0u64..4_000_000_000,
    ) {
        let method = Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET);
        let uri: Uri = format!("/?{}", query.replace(' ', "+")).parse().unwrap_or_else(|_| Uri::from_static("/"));
        let mut map = HeaderMap::new();
        for (name, value) in headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).chain(auth.as_deref().map(|a| ("authorization", a))) {
            if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
                map.append(name, value);
            }
        }
        let secrets = HashMap::from([("AK".to_string(), Secret::new("secret"))]);
        let result = Verifier::default().verify(
            &Request::new(&method, &uri, &map, &body),
            &secrets,
            UNIX_EPOCH + Duration::from_secs(now),
        );
        if let Err(e) = result {
            // Every refusal maps to a vendor code and a status.
            prop_assert!(!e.code().is_empty());
            prop_assert!(e.status().is_client_error() || e.status().is_server_error());
            prop_assert!(!matches!(e, AcsError::ServerError));
        }
    }
}
