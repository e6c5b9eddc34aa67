//! Everything berth-acs reads from a request before it knows the caller, and the checks after:
//! method, query, headers and body, verified against a key store that knows the recorded key.
//!
//! The first byte picks the input's shape. Even: a raw request,
//! `METHOD TARGET\nname: value\n...\n\nbody`. Odd: one of the SDK requests recorded in
//! tests/vectors/requests.json, changed by the lines that follow (`h name: value` sets a
//! header, `d name` drops one, `q raw-segment` adds a query segment, `t target`, `m METHOD`,
//! `b body`), verified at the request's own time, so the fuzzer works on the signature, nonce
//! and header paths rather than stopping at a missing parameter.
#![no_main]
use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};

use berth_acs::{Limits, Request, Secret, Verifier, parse};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use libfuzzer_sys::fuzz_target;

struct Seed {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
}

struct Fixture {
    seeds: Vec<Seed>,
    secrets: HashMap<String, Secret>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/vectors/requests.json"))
                .unwrap_or_default();
        let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
        let seeds = v["requests"]
            .as_array()
            .map(|requests| {
                requests
                    .iter()
                    // Bodies are base64 in the file; the form recordings are left to the raw shape.
                    .filter(|r| r["body_b64"].as_str() == Some(""))
                    .map(|r| Seed {
                        method: text(&r["method"]),
                        target: text(&r["target"]),
                        headers: r["headers"]
                            .as_array()
                            .map(|hs| hs.iter().map(|h| (text(&h[0]), text(&h[1]))).collect())
                            .unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let secrets = HashMap::from([(
            text(&v["access_key_id"]),
            Secret::new(text(&v["access_key_secret"])),
        )]);
        Fixture { seeds, secrets }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&shape, data)) = data.split_first() else {
        return;
    };
    let fixture = fixture();
    let (mut method, mut target, mut headers, mut body): (
        String,
        String,
        Vec<(String, String)>,
        Vec<u8>,
    );
    if shape % 2 == 0 || fixture.seeds.is_empty() {
        let split = data.windows(2).position(|w| w == b"\n\n");
        let (head, rest) = match split {
            Some(i) => (&data[..i], &data[i + 2..]),
            None => (data, &[][..]),
        };
        let head = String::from_utf8_lossy(head);
        let mut lines = head.lines();
        let first = lines.next().unwrap_or_default();
        let (m, t) = first.split_once(' ').unwrap_or((first, "/"));
        method = m.to_string();
        target = t.to_string();
        headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
            .collect();
        body = rest.to_vec();
    } else {
        let seed = &fixture.seeds[usize::from(shape / 2) % fixture.seeds.len()];
        method = seed.method.clone();
        target = seed.target.clone();
        headers = seed.headers.clone();
        body = Vec::new();
        for line in String::from_utf8_lossy(data).lines() {
            let (op, arg) = match (line.get(..2), line.get(2..)) {
                (Some(op), Some(arg)) => (op, arg),
                _ => continue,
            };
            match op {
                "h " => {
                    if let Some((n, v)) = arg.split_once(':') {
                        headers.retain(|(h, _)| !h.eq_ignore_ascii_case(n.trim()));
                        headers.push((n.trim().to_string(), v.trim().to_string()));
                    }
                }
                "d " => headers.retain(|(h, _)| !h.eq_ignore_ascii_case(arg.trim())),
                "q " => {
                    target.push('&');
                    target.push_str(arg);
                }
                "t " => target = arg.to_string(),
                "m " => method = arg.to_string(),
                "b " => body = arg.as_bytes().to_vec(),
                _ => {}
            }
        }
    }

    let Ok(method) = Method::from_bytes(method.as_bytes()) else {
        return;
    };
    let uri: Uri = target.parse().unwrap_or_else(|_| Uri::from_static("/"));
    let mut map = HeaderMap::new();
    for (name, value) in &headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            map.append(name, value);
        }
    }
    let req = Request::new(&method, &uri, &map, &body);
    // The request's own time when it has one, so the checks after the clock are reached.
    let now = parse(&req, &Limits::default())
        .map(|u| u.timestamp())
        .unwrap_or(1_765_062_358);
    let now = UNIX_EPOCH + Duration::from_secs(u64::try_from(now).unwrap_or(0));
    let verifier = Verifier::default();
    if let Err(e) = verifier.verify(&req, &fixture.secrets, now) {
        let _ = (e.code(), e.status(), e.body("id", "host"));
    }
    // A replay of whatever was accepted.
    let _ = verifier.verify(&req, &fixture.secrets, now);
});
