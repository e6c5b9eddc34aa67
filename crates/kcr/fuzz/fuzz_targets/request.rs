//! Everything the management API reads from a request before it knows the caller: the query
//! string, form and JSON bodies (parameter names, indexes, paging), and the SigV4 signature in
//! the Authorization header or the query.
#![no_main]
use berth_kcr::{params::Params, sigv4};
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // First line: the Authorization header; the rest: query string and body.
    let text = String::from_utf8_lossy(data);
    let (auth, rest) = text.split_once('\n').unwrap_or((&text, ""));
    let query = rest.split('\n').next().unwrap_or_default();

    if let Ok(params) = Params::from_pairs(sigv4::query_pairs(rest)) {
        let _ = params.paging(20, 99);
    }
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(rest.as_bytes()) {
        let _ = Params::from_json(&json);
    }

    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("127.0.0.1:5000"));
    if let Ok(value) = HeaderValue::from_str(auth) {
        headers.insert("authorization", value);
    }
    let req = sigv4::Request {
        method: "GET",
        path: "/",
        query,
        headers: &headers,
        body: rest.as_bytes(),
    };
    if let Ok(Some(sig)) = sigv4::parse(&req) {
        let regions = ["cn-beijing-6".to_string()];
        let scope = sigv4::Scope {
            service: "kcrs",
            regions: &regions,
        };
        let _ = sigv4::check(&sig, &req, &scope, chrono::Utc::now());
        let _ = sigv4::verify(&sig, &req, "secret");
    }
});
