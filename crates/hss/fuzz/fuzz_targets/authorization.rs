//! Everything berth-hss reads from a request before it knows the caller, and the checks after:
//! the Authorization header, X-Sdk-Date, the canonical path, query and headers, the payload
//! hash, verified against the recorded key.
//!
//! The first byte picks the input's shape. Even: a raw request,
//! `METHOD PATH?QUERY\nname: value\n...\n\nbody`. Odd: one of the SDK requests in
//! tests/vectors.json, changed by the lines that follow (`h name: value` sets a header,
//! `d name` drops one, `a value` replaces Authorization, `p path`, `q query`, `m METHOD`,
//! `b body`), verified at the vector's own time, so the fuzzer reaches the canonical and
//! signature paths rather than stopping at a missing header.
#![no_main]
use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};

use berth_hss::sign::{self, Options, Request, Secret};
use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;

struct Seed {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

struct Fixture {
    seeds: Vec<Seed>,
    secret: String,
    now: u64,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/vectors.json")).unwrap_or_default();
        let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
        let seeds = v["vectors"]
            .as_array()
            .map(|vectors| {
                vectors
                    .iter()
                    .map(|r| Seed {
                        method: text(&r["method"]),
                        path: text(&r["path"]),
                        query: text(&r["query"]),
                        headers: r["headers"]
                            .as_array()
                            .map(|hs| hs.iter().map(|h| (text(&h[0]), text(&h[1]))).collect())
                            .unwrap_or_default(),
                        body: (0..text(&r["body_hex"]).len() / 2)
                            .filter_map(|i| {
                                text(&r["body_hex"])
                                    .get(2 * i..2 * i + 2)
                                    .and_then(|b| u8::from_str_radix(b, 16).ok())
                            })
                            .collect(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Fixture {
            seeds,
            secret: text(&v["secret_access_key"]),
            now: v["date_unix"].as_u64().unwrap_or(1_704_164_645),
        }
    })
}

fn set(headers: &mut Vec<(String, String)>, name: &str, value: &str) {
    headers.retain(|(h, _)| !h.eq_ignore_ascii_case(name));
    headers.push((name.to_string(), value.to_string()));
}

fuzz_target!(|data: &[u8]| {
    let Some((&shape, data)) = data.split_first() else {
        return;
    };
    let fixture = fixture();
    let (mut method, mut path, mut query, mut headers, mut body);
    if shape % 2 == 0 || fixture.seeds.is_empty() {
        let split = data.windows(2).position(|w| w == b"\n\n");
        let (head, rest) = match split {
            Some(i) => (&data[..i], &data[i + 2..]),
            None => (data, &[][..]),
        };
        let head = String::from_utf8_lossy(head);
        let mut lines = head.lines();
        let first = lines.next().unwrap_or_default();
        let (m, target) = first.split_once(' ').unwrap_or((first, "/"));
        let (p, q) = target.split_once('?').unwrap_or((target, ""));
        (method, path, query) = (m.to_string(), p.to_string(), q.to_string());
        headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_string(), v.to_string()))
            .collect::<Vec<_>>();
        body = rest.to_vec();
    } else {
        let seed = &fixture.seeds[usize::from(shape / 2) % fixture.seeds.len()];
        method = seed.method.clone();
        path = seed.path.clone();
        query = seed.query.clone();
        headers = seed.headers.clone();
        body = seed.body.clone();
        for line in String::from_utf8_lossy(data).lines() {
            let (op, arg) = match (line.get(..2), line.get(2..)) {
                (Some(op), Some(arg)) => (op, arg),
                _ => continue,
            };
            match op {
                "h " => {
                    if let Some((n, v)) = arg.split_once(':') {
                        set(&mut headers, n.trim(), v);
                    }
                }
                "d " => headers.retain(|(h, _)| !h.eq_ignore_ascii_case(arg.trim())),
                "a " => set(&mut headers, "Authorization", arg),
                "p " => path = arg.to_string(),
                "q " => query = arg.to_string(),
                "m " => method = arg.to_string(),
                "b " => body = arg.as_bytes().to_vec(),
                _ => {}
            }
        }
    }

    let mut map = HeaderMap::new();
    for (name, value) in &headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            map.append(name, value);
        }
    }
    let req = Request::new(&method, &path, &query, &map, &body);
    let _ = sign::canonical::canonical_uri(&path);
    let _ = sign::canonical::canonical_query(&query);
    if let Some(auth) = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
    {
        let _ = sign::authorization::parse(&auth.1);
    }
    let Ok(unverified) = sign::parse(&req) else {
        return;
    };
    let now = UNIX_EPOCH + Duration::from_secs(fixture.now);
    let secret = Secret::new(fixture.secret.as_str());
    for allow_unsigned_payload in [false, true] {
        let options = Options {
            allow_unsigned_payload,
            ..Options::default()
        };
        if let Err(e) = unverified.verify_with(&secret, &req, now, &options) {
            let _ = e.to_string();
        }
    }
});
