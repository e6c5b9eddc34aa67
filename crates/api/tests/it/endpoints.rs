//! Internal endpoints over real HTTP on 127.0.0.1: source-network enforcement on the OCI API,
//! and the private DNS zone file.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use crate::common;

use berth_store::{EndpointStatus, NewInternalEndpoint};
use common::{TestApp, TestServer, error_code};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Records an endpoint straight in the store and makes it Running, as the management API's
/// background step would.
async fn allow(s: &TestServer, vpc: &str, cidr: &str, ip: &str) {
    let meta = &s.app.meta;
    let id = s.app.default_instance.id.clone();
    meta.create_endpoint(&NewInternalEndpoint {
        instance_id: id.clone(),
        vpc_id: vpc.into(),
        subnet_id: cidr.into(),
        cidr: cidr.into(),
        ip_address: ip.into(),
    })
    .await
    .unwrap();
    meta.set_endpoint_status(&id, vpc, ip, EndpointStatus::Running)
        .await
        .unwrap();
    s.app.clear_caches();
}

async fn disallow(s: &TestServer, vpc: &str, ip: &str) {
    let id = s.app.default_instance.id.clone();
    assert!(s.app.meta.delete_endpoint(&id, vpc, ip).await.unwrap());
    s.app.clear_caches();
}

async fn pull_status(s: &TestServer) -> (StatusCode, String) {
    let r = s
        .admin(Method::GET, "/v2/team/app/manifests/v1")
        .header("accept", "application/vnd.oci.image.manifest.v1+json")
        .send()
        .await
        .unwrap();
    let status = r.status();
    let code = if status.is_success() {
        String::new()
    } else {
        error_code(r).await
    };
    (status, code)
}

#[tokio::test]
async fn restricted_instance_refuses_clients_outside_its_networks() {
    let s = TestApp::new()
        .config(|c| c.network.always_allowed.clear())
        .start()
        .await;
    s.push_image("team/app", "v1", b"layer").await;
    assert_eq!(pull_status(&s).await.0, StatusCode::OK);

    // An endpoint whose subnet excludes 127.0.0.1: the instance is restricted, loopback refused.
    allow(&s, "vpc-1", "10.0.0.0/8", "10.0.0.1").await;
    assert_eq!(
        pull_status(&s).await,
        (StatusCode::FORBIDDEN, "DENIED".to_string())
    );
    let r = s.anon(Method::GET, "/v2/").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(r).await, "DENIED");
    let r = s
        .admin(
            Method::GET,
            "/auth/token?service=berth&scope=repository:team/app:pull",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(r).await, "DENIED");
    // Probes are not the OCI API and stay reachable.
    let r = s.anon(Method::GET, "/healthz").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // A second endpoint whose subnet includes loopback admits it again.
    allow(&s, "vpc-2", "127.0.0.0/8", "127.0.0.1").await;
    assert_eq!(pull_status(&s).await.0, StatusCode::OK);
    disallow(&s, "vpc-2", "127.0.0.1").await;
    assert_eq!(pull_status(&s).await.0, StatusCode::FORBIDDEN);
    // Without endpoints the instance is open again.
    disallow(&s, "vpc-1", "10.0.0.1").await;
    assert_eq!(pull_status(&s).await.0, StatusCode::OK);
}

#[tokio::test]
async fn loopback_is_always_allowed_by_default() {
    let s = TestApp::new().start().await;
    s.push_image("team/app", "v1", b"layer").await;
    allow(&s, "vpc-1", "10.0.0.0/8", "10.0.0.1").await;
    assert_eq!(pull_status(&s).await.0, StatusCode::OK);
}

#[tokio::test]
async fn forwarded_for_is_believed_only_from_trusted_proxies() {
    let s = TestApp::new()
        .config(|c| c.network.always_allowed.clear())
        .start()
        .await;
    s.push_image("team/app", "v1", b"layer").await;
    allow(&s, "vpc-1", "10.0.0.0/8", "10.0.0.1").await;
    // 127.0.0.1 is no trusted proxy here: its header changes nothing.
    let r = s
        .admin(Method::GET, "/v2/")
        .header("x-forwarded-for", "10.1.2.3")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    let s = TestApp::new()
        .config(|c| {
            c.network.always_allowed.clear();
            c.network.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        })
        .start()
        .await;
    allow(&s, "vpc-1", "10.0.0.0/8", "10.0.0.1").await;
    for (xff, want) in [
        ("10.1.2.3", StatusCode::OK),
        ("192.168.1.1", StatusCode::FORBIDDEN),
        // The client wrote the left entry; the proxy vouches for the right one.
        ("10.1.2.3, 192.168.1.1", StatusCode::FORBIDDEN),
        ("192.168.1.1, 10.1.2.3", StatusCode::OK),
        ("not-an-address", StatusCode::FORBIDDEN),
    ] {
        let r = s
            .admin(Method::GET, "/v2/")
            .header("x-forwarded-for", xff)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), want, "X-Forwarded-For: {xff}");
    }
    // Without the header, the proxy itself is the client.
    let r = s.admin(Method::GET, "/v2/").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

/// One resource record of a master file, with its owner made absolute.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    owner: String,
    ttl: u32,
    kind: String,
    rdata: Vec<String>,
}

/// A small RFC 1035 section 5 master-file reader, enough to check what berth writes: `$ORIGIN`,
/// `$TTL`, `@`, relative and absolute names, class IN, optional per-record TTL, `;` comments,
/// parenthesised continuation. Panics on anything it does not understand.
fn parse_zone(text: &str) -> Vec<Record> {
    let mut origin: Option<String> = None;
    let mut default_ttl: Option<u32> = None;
    let mut out = Vec::new();
    let mut pending = String::new();
    for raw in text.lines() {
        let line = raw.split(';').next().unwrap();
        pending.push_str(line);
        pending.push(' ');
        let open = pending.matches('(').count();
        let close = pending.matches(')').count();
        assert!(close <= open, "unbalanced parentheses: {raw:?}");
        if open != close {
            continue;
        }
        let entry = std::mem::take(&mut pending).replace(['(', ')'], " ");
        let starts_blank = entry.starts_with(' ') || entry.starts_with('\t');
        let fields: Vec<&str> = entry.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        let absolute = |name: &str, origin: &Option<String>| -> String {
            let origin = origin.as_ref().expect("a relative name before $ORIGIN");
            match name {
                "@" => origin.clone(),
                n if n.ends_with('.') => n.to_string(),
                n => format!("{n}.{origin}"),
            }
        };
        match fields[0] {
            "$ORIGIN" => {
                assert_eq!(fields.len(), 2, "{entry:?}");
                assert!(fields[1].ends_with('.'), "$ORIGIN must be absolute");
                origin = Some(fields[1].to_string());
                continue;
            }
            "$TTL" => {
                assert_eq!(fields.len(), 2, "{entry:?}");
                default_ttl = Some(fields[1].parse().expect("numeric $TTL"));
                continue;
            }
            d if d.starts_with('$') => panic!("unknown directive {d}"),
            _ => {}
        }
        assert!(!starts_blank, "records here always name their owner");
        let owner = absolute(fields[0], &origin);
        let mut rest = &fields[1..];
        let mut ttl = default_ttl;
        if let Some(t) = rest.first().and_then(|f| f.parse::<u32>().ok()) {
            ttl = Some(t);
            rest = &rest[1..];
        }
        if rest.first() == Some(&"IN") {
            rest = &rest[1..];
        }
        let (kind, rdata) = rest.split_first().expect("a record type");
        let rdata: Vec<String> = match *kind {
            "SOA" => {
                assert_eq!(rdata.len(), 7, "SOA has 7 fields: {entry:?}");
                let mut v = vec![absolute(rdata[0], &origin), absolute(rdata[1], &origin)];
                for n in &rdata[2..] {
                    n.parse::<u32>().expect("numeric SOA field");
                    v.push(n.to_string());
                }
                v
            }
            "NS" => {
                assert_eq!(rdata.len(), 1);
                vec![absolute(rdata[0], &origin)]
            }
            "A" => {
                assert_eq!(rdata.len(), 1);
                rdata[0].parse::<Ipv4Addr>().expect("an IPv4 address");
                vec![rdata[0].to_string()]
            }
            "AAAA" => {
                assert_eq!(rdata.len(), 1);
                rdata[0].parse::<Ipv6Addr>().expect("an IPv6 address");
                vec![rdata[0].to_string()]
            }
            other => panic!("unexpected record type {other}"),
        };
        out.push(Record {
            owner,
            ttl: ttl.expect("a TTL ($TTL or per record)"),
            kind: kind.to_string(),
            rdata,
        });
    }
    assert!(pending.trim().is_empty(), "unterminated entry");
    // RFC 1035: exactly one SOA, at the top of the zone, first.
    assert_eq!(out.first().map(|r| r.kind.as_str()), Some("SOA"));
    assert_eq!(out.iter().filter(|r| r.kind == "SOA").count(), 1);
    assert!(
        out.iter()
            .any(|r| r.kind == "NS" && r.owner == out[0].owner)
    );
    out
}

fn addresses(records: &[Record]) -> BTreeMap<String, Vec<IpAddr>> {
    let mut m: BTreeMap<String, Vec<IpAddr>> = BTreeMap::new();
    for r in records.iter().filter(|r| r.kind == "A" || r.kind == "AAAA") {
        m.entry(r.owner.clone())
            .or_default()
            .push(r.rdata[0].parse().unwrap());
    }
    m
}

#[test]
fn zone_reader_rejects_what_it_should() {
    let ok = "$ORIGIN x.example.\n$TTL 30\n@ IN SOA ns.example. hostmaster ( 1 2\n 3 4 5 ) ; c\n@ NS ns.example.\nwww 10 IN A 192.0.2.1\n";
    let recs = parse_zone(ok);
    assert_eq!(recs[0].rdata[1], "hostmaster.x.example.");
    assert_eq!(recs[2].owner, "www.x.example.");
    assert_eq!(recs[2].ttl, 10);
    for bad in [
        "$TTL 30\n@ IN SOA a. b. 1 2 3 4 5\n",
        "$ORIGIN x.\n$TTL 30\n@ IN NS a.\n@ IN SOA a. b. 1 2 3 4 5\n",
        "$ORIGIN x.\n$TTL 30\n@ IN SOA a. b. 1 2 3 4 5\n@ IN NS a.\n@ IN A 300.1.1.1\n",
        "$ORIGIN x.\n$TTL 30\n@ IN SOA a. b. 1 2 3 4\n@ IN NS a.\n",
    ] {
        assert!(
            std::panic::catch_unwind(|| parse_zone(bad)).is_err(),
            "{bad:?}"
        );
    }
}

async fn get_zone(s: &TestServer, id: &str, query: &str) -> (StatusCode, String) {
    let r = s
        .admin(Method::GET, &format!("/v1/instances/{id}/zone{query}"))
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

#[tokio::test]
async fn zone_file_serves_running_records_to_administrators() {
    let s = TestApp::new()
        .config(|c| c.management.base_domain = Some("registry.corp".into()))
        .start()
        .await;
    let id = s.app.default_instance.id.clone();
    let meta = &s.app.meta;

    // No records yet: SOA and NS only.
    let (status, text) = get_zone(&s, &id, "").await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let recs = parse_zone(&text);
    assert_eq!(recs[0].owner, "default.registry.corp.");
    assert_eq!(recs.len(), 2);
    assert!(addresses(&recs).is_empty());
    let serial0: u32 = recs[0].rdata[2].parse().unwrap();

    allow(&s, "vpc-1", "10.0.1.0/24", "10.0.1.10").await;
    allow(&s, "vpc-2", "fd00::/64", "fd00::1").await;
    allow(&s, "vpc-2", "10.0.2.0/24", "10.0.2.1").await;
    for (vpc, ip) in [
        ("vpc-1", "10.0.1.10"),
        ("vpc-2", "fd00::1"),
        ("vpc-2", "10.0.2.1"),
    ] {
        meta.create_endpoint_dns(&id, vpc, ip, "PrivateDomain")
            .await
            .unwrap();
    }
    // Opening records are not published yet.
    let (_, text) = get_zone(&s, &id, "").await;
    assert!(addresses(&parse_zone(&text)).is_empty(), "{text}");
    for (vpc, ip) in [("vpc-1", "10.0.1.10"), ("vpc-2", "fd00::1")] {
        meta.set_endpoint_dns_status(
            &id,
            vpc,
            ip,
            "PrivateDomain",
            berth_store::DnsStatus::Running,
        )
        .await
        .unwrap();
    }
    let (_, text) = get_zone(&s, &id, "").await;
    let recs = parse_zone(&text);
    assert!(recs[0].rdata[2].parse::<u32>().unwrap() > serial0);
    assert_eq!(
        addresses(&recs),
        BTreeMap::from([(
            "default.registry.corp.".to_string(),
            vec!["10.0.1.10".parse().unwrap(), "fd00::1".parse().unwrap()]
        )])
    );
    assert!(recs.iter().all(|r| r.ttl == 60));
    assert!(text.contains("@ IN AAAA fd00::1"), "{text}");
    // One VPC's view.
    let (_, text) = get_zone(&s, &id, "?vpc=vpc-2").await;
    assert_eq!(
        addresses(&parse_zone(&text)),
        BTreeMap::from([(
            "default.registry.corp.".to_string(),
            vec!["fd00::1".parse().unwrap()]
        )])
    );
    let (_, text) = get_zone(&s, &id, "?vpc=vpc-9").await;
    assert!(addresses(&parse_zone(&text)).is_empty());

    // Only an administrator's Basic credentials are served.
    let r = s
        .anon(Method::GET, &format!("/v1/instances/{id}/zone"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().contains_key("www-authenticate"));
    let r = s
        .anon(Method::GET, &format!("/v1/instances/{id}/zone"))
        .basic_auth("admin", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let hash = berth_api::hash_password("dev-password").unwrap();
    meta.create_user("dev", &hash, false).await.unwrap();
    let r = s
        .anon(Method::GET, &format!("/v1/instances/{id}/zone"))
        .basic_auth("dev", Some("dev-password"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let (status, _) = get_zone(&s, "no-such-instance", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Subnets of the configuration the action tests name.
fn subnets(c: &mut berth_api::config::Config) {
    use berth_api::config::SubnetConfig;
    let subnet = |id: &str, vpc: &str, cidr: &str, ip: &str| SubnetConfig {
        id: id.into(),
        vpc_id: vpc.into(),
        cidr: cidr.parse().unwrap(),
        endpoint_ip: ip.parse().unwrap(),
    };
    c.network.subnets = vec![
        subnet("subnet-a", "vpc-1", "10.0.1.0/24", "10.0.1.5"),
        // Its address lies outside it: such an endpoint ends in Error.
        subnet("subnet-bad", "vpc-1", "10.0.2.0/24", "10.0.3.5"),
        subnet("subnet-lo", "vpc-lo", "127.0.0.0/8", "127.0.0.1"),
    ];
}

/// Polls DescribeInternalEndpoint until the endpoint at `ip` has left Creating.
async fn settled(kcr: &common::kcr::Kcr, instance: &str, ip: &str) -> Value {
    for _ in 0..200 {
        let body = kcr
            .call("DescribeInternalEndpoint", &[("InstanceId", instance)])
            .await;
        let found = body["AccessVpcSet"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["EniLBIp"] == ip)
            .cloned()
            .unwrap_or_else(|| panic!("no endpoint at {ip}: {body}"));
        if found["Status"] != "Creating" {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("endpoint {ip} stayed Creating");
}

async fn dns_status(kcr: &common::kcr::Kcr, instance: &str, vpc: &str, ip: &str) -> Value {
    kcr.call(
        "DescribeInternalEndpointDns",
        &[("InstanceId", instance), ("VpcId", vpc), ("EniLBIp", ip)],
    )
    .await["InternalEndpointDnsSet"]
        .clone()
}

/// Polls until the PrivateDomain record of the endpoint has left Opening.
async fn dns_settled(kcr: &common::kcr::Kcr, instance: &str, vpc: &str, ip: &str) -> String {
    for _ in 0..200 {
        let set = dns_status(kcr, instance, vpc, ip).await;
        assert_eq!(set.as_array().unwrap().len(), 1, "{set}");
        assert_eq!(set[0]["InternalEndpointDns"], "PrivateDomain");
        let status = set[0]["Status"].as_str().unwrap().to_string();
        if status != "Opening" {
            return status;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("record of {ip} stayed Opening");
}

#[tokio::test]
async fn internal_endpoints_restrict_pulls_and_publish_dns() {
    let s = TestApp::new()
        .config(|c| {
            c.network.always_allowed.clear();
            subnets(c);
        })
        .start()
        .await;
    s.push_image("team/app", "v1", b"layer").await;
    let kcr = s.kcr().await;
    let id = s.app.default_instance.id.clone();
    let inst = id.as_str();

    let body = kcr
        .call("DescribeInternalEndpoint", &[("InstanceId", inst)])
        .await;
    assert_eq!(body["TotalCount"], 0);
    assert_eq!(body["AccessVpcSet"], serde_json::json!([]));

    // A subnet that excludes 127.0.0.1: refused at once, and still once Running.
    kcr.call(
        "CreateInternalEndpoint",
        &[
            ("InstanceId", inst),
            ("VpcId", "vpc-1"),
            ("ReserveSubnetId", "subnet-a"),
        ],
    )
    .await;
    assert_eq!(
        pull_status(&s).await,
        (StatusCode::FORBIDDEN, "DENIED".to_string())
    );
    let e = settled(&kcr, inst, "10.0.1.5").await;
    assert_eq!(
        e,
        serde_json::json!({"VpcId": "vpc-1", "SubnetId": "subnet-a", "Status": "Running", "EniLBIp": "10.0.1.5"})
    );
    assert_eq!(pull_status(&s).await.0, StatusCode::FORBIDDEN);

    // A CIDR literal: its first host address is the EniLBIp. An address outside its subnet: Error.
    let (status, _) = kcr
        .get(
            "CreateInternalEndpoint",
            &[
                ("InstanceId", inst),
                ("VpcId", "vpc-2"),
                ("ReserveSubnetId", "10.8.3.4/16"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let e = settled(&kcr, inst, "10.8.0.1").await;
    assert_eq!(e["SubnetId"], "10.8.3.4/16");
    assert_eq!(e["Status"], "Running");
    kcr.call(
        "CreateInternalEndpoint",
        &[
            ("InstanceId", inst),
            ("VpcId", "vpc-1"),
            ("ReserveSubnetId", "subnet-bad"),
        ],
    )
    .await;
    assert_eq!(settled(&kcr, inst, "10.0.3.5").await["Status"], "Error");

    // A subnet that includes loopback lets the pull through.
    kcr.call(
        "CreateInternalEndpoint",
        &[
            ("InstanceId", inst),
            ("VpcId", "vpc-lo"),
            ("ReserveSubnetId", "subnet-lo"),
        ],
    )
    .await;
    assert_eq!(settled(&kcr, inst, "127.0.0.1").await["Status"], "Running");
    assert_eq!(pull_status(&s).await.0, StatusCode::OK);
    let body = kcr
        .call("DescribeInternalEndpoint", &[("InstanceId", inst)])
        .await;
    assert_eq!(body["TotalCount"], 4);

    // Private DNS: Opening, then Running (or Error with its endpoint); absent reads Closed.
    assert_eq!(
        dns_status(&kcr, inst, "vpc-2", "10.8.0.1").await,
        serde_json::json!([{"InternalEndpointDns": "PrivateDomain", "Status": "Closed"}])
    );
    for (vpc, ip) in [
        ("vpc-1", "10.0.1.5"),
        ("vpc-1", "10.0.3.5"),
        ("vpc-2", "10.8.0.1"),
    ] {
        kcr.call(
            "CreateInternalEndpointDns",
            &[
                ("InstanceId", inst),
                ("VpcId", vpc),
                ("EniLBIp", ip),
                ("InternalEndpointDns", "PrivateDomain"),
            ],
        )
        .await;
    }
    assert_eq!(
        dns_settled(&kcr, inst, "vpc-1", "10.0.1.5").await,
        "Running"
    );
    assert_eq!(dns_settled(&kcr, inst, "vpc-1", "10.0.3.5").await, "Error");
    assert_eq!(
        dns_settled(&kcr, inst, "vpc-2", "10.8.0.1").await,
        "Running"
    );
    let body = kcr
        .call(
            "DescribeInternalEndpointDns",
            &[
                ("InstanceId", inst),
                ("VpcId", "vpc-1"),
                ("EniLBIp", "10.0.1.5"),
                ("InternalEndpointDns", "PrivateDomain"),
            ],
        )
        .await;
    assert_eq!(body["InternalEndpointDnsSet"][0]["Status"], "Running");

    let domain = "default.berth.internal.".to_string();
    let (status, text) = get_zone(&s, inst, "?vpc=vpc-1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        addresses(&parse_zone(&text)),
        BTreeMap::from([(domain.clone(), vec!["10.0.1.5".parse().unwrap()])])
    );
    let (_, text) = get_zone(&s, inst, "").await;
    assert_eq!(
        addresses(&parse_zone(&text)),
        BTreeMap::from([(
            domain.clone(),
            vec!["10.0.1.5".parse().unwrap(), "10.8.0.1".parse().unwrap()]
        )])
    );

    kcr.call(
        "DeleteInternalEndpointDns",
        &[
            ("InstanceId", inst),
            ("VpcId", "vpc-1"),
            ("EniLBIp", "10.0.1.5"),
            ("InternalEndpointDns", "PrivateDomain"),
        ],
    )
    .await;
    assert_eq!(
        dns_status(&kcr, inst, "vpc-1", "10.0.1.5").await[0]["Status"],
        "Closed"
    );
    let (_, text) = get_zone(&s, inst, "?vpc=vpc-1").await;
    assert!(addresses(&parse_zone(&text)).is_empty(), "{text}");

    // Deleting the endpoint takes its record; without the loopback subnet pulls are refused,
    // without any endpoint the instance is open again.
    kcr.call(
        "DeleteInternalEndpoint",
        &[
            ("InstanceId", inst),
            ("VpcId", "vpc-2"),
            ("EniLBIp", "10.8.0.1"),
        ],
    )
    .await;
    kcr.fails(
        "DescribeInternalEndpointDns",
        &[
            ("InstanceId", inst),
            ("VpcId", "vpc-2"),
            ("EniLBIp", "10.8.0.1"),
            ("InternalEndpointDns", "PrivateDomain"),
        ],
        400,
        "InvalidParameterValue",
    )
    .await;
    let (_, text) = get_zone(&s, inst, "?vpc=vpc-2").await;
    assert!(addresses(&parse_zone(&text)).is_empty(), "{text}");
    kcr.call(
        "DeleteInternalEndpoint",
        &[
            ("InstanceId", inst),
            ("VpcId", "vpc-lo"),
            ("EniLBIp", "127.0.0.1"),
        ],
    )
    .await;
    assert_eq!(pull_status(&s).await.0, StatusCode::FORBIDDEN);
    for (vpc, ip) in [("vpc-1", "10.0.1.5"), ("vpc-1", "10.0.3.5")] {
        kcr.call(
            "DeleteInternalEndpoint",
            &[("InstanceId", inst), ("VpcId", vpc), ("EniLBIp", ip)],
        )
        .await;
    }
    assert_eq!(pull_status(&s).await.0, StatusCode::OK);
    let body = kcr
        .call("DescribeInternalEndpoint", &[("InstanceId", inst)])
        .await;
    assert_eq!(body["TotalCount"], 0);
}

#[tokio::test]
async fn restriction_is_per_instance() {
    let s = TestApp::new()
        .config(|c| {
            c.network.always_allowed.clear();
            c.management.base_domain = Some("reg.test".into());
        })
        .start()
        .await;
    let kcr = s.kcr().await;
    let team = kcr.running_instance("team").await;
    kcr.call(
        "CreateInternalEndpoint",
        &[
            ("InstanceId", team.as_str()),
            ("VpcId", "vpc-1"),
            ("ReserveSubnetId", "10.0.0.0/8"),
        ],
    )
    .await;
    settled(&kcr, &team, "10.0.0.1").await;
    let port = s.base.rsplit(':').next().unwrap().to_string();
    let r = s
        .admin(Method::GET, "/v2/")
        .header("host", format!("team.reg.test:{port}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(r).await, "DENIED");
    // The default instance is not restricted.
    let r = s.admin(Method::GET, "/v2/").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // The zone of a named instance.
    let (_, text) = get_zone(&s, &team, "").await;
    assert_eq!(parse_zone(&text)[0].owner, "team.reg.test.");
}

#[tokio::test]
async fn internal_endpoint_actions_validate_their_parameters() {
    let s = TestApp::new().config(subnets).start().await;
    let kcr = s.kcr().await;
    let id = s.app.default_instance.id.clone();
    let inst = id.as_str();
    let create = |vpc: &'static str, subnet: &'static str| {
        vec![
            ("InstanceId", inst),
            ("VpcId", vpc),
            ("ReserveSubnetId", subnet),
        ]
    };

    // Missing parameters.
    for missing in ["InstanceId", "VpcId", "ReserveSubnetId"] {
        let params: Vec<_> = create("vpc-1", "subnet-a")
            .into_iter()
            .filter(|(k, _)| *k != missing)
            .collect();
        let msg = kcr
            .fails("CreateInternalEndpoint", &params, 400, "MissingParameter")
            .await;
        assert!(msg.contains(missing), "{msg}");
    }
    // Invalid values and unknown references.
    for (params, name) in [
        (create("vpc-1", "no-such-subnet"), "ReserveSubnetId"),
        (create("vpc-1", "10.0.0.0/33"), "ReserveSubnetId"),
        (create("vpc-1", "10.0.0.1"), "ReserveSubnetId"),
        (create("vpc-2", "subnet-a"), "VpcId"),
        (create("vpc 1!", "10.0.0.0/8"), "VpcId"),
        (
            vec![
                ("InstanceId", "no-such-instance"),
                ("VpcId", "vpc-1"),
                ("ReserveSubnetId", "subnet-a"),
            ],
            "InstanceId",
        ),
    ] {
        let msg = kcr
            .fails(
                "CreateInternalEndpoint",
                &params,
                400,
                "InvalidParameterValue",
            )
            .await;
        assert!(msg.contains(name), "{params:?}: {msg}");
    }
    // Unknown parameters.
    let mut extra = create("vpc-1", "subnet-a");
    extra.push(("EniLBIp", "10.0.1.5"));
    kcr.fails(
        "CreateInternalEndpoint",
        &extra,
        400,
        "InvalidQueryParameter",
    )
    .await;
    // Duplicates: the same subnet, or a CIDR giving the same address, in one VPC.
    kcr.call("CreateInternalEndpoint", &create("vpc-1", "subnet-a"))
        .await;
    kcr.fails(
        "CreateInternalEndpoint",
        &create("vpc-1", "subnet-a"),
        409,
        "ResourceAlreadyExists",
    )
    .await;
    kcr.fails(
        "CreateInternalEndpoint",
        &create("vpc-1", "10.0.1.5/32"),
        409,
        "ResourceAlreadyExists",
    )
    .await;
    settled(&kcr, inst, "10.0.1.5").await;

    let endpoint = |vpc: &'static str, ip: &'static str| {
        vec![("InstanceId", inst), ("VpcId", vpc), ("EniLBIp", ip)]
    };
    let with_dns = |vpc: &'static str, ip: &'static str, dns: &'static str| {
        let mut p = endpoint(vpc, ip);
        p.push(("InternalEndpointDns", dns));
        p
    };
    // Delete: bad address, unknown endpoint, missing parameters.
    for (params, name) in [
        (endpoint("vpc-1", "10.0.1.500"), "EniLBIp"),
        (endpoint("vpc-1", "10.0.1.6"), "EniLBIp"),
        (endpoint("vpc-2", "10.0.1.5"), "EniLBIp"),
        (endpoint("vpc 1", "10.0.1.5"), "VpcId"),
    ] {
        let msg = kcr
            .fails(
                "DeleteInternalEndpoint",
                &params,
                400,
                "InvalidParameterValue",
            )
            .await;
        assert!(msg.contains(name), "{params:?}: {msg}");
    }
    kcr.fails(
        "DeleteInternalEndpoint",
        &[("InstanceId", inst), ("VpcId", "vpc-1")],
        400,
        "MissingParameter",
    )
    .await;
    kcr.fails(
        "DescribeInternalEndpoint",
        &[("InstanceId", "no-such-instance")],
        400,
        "InvalidParameterValue",
    )
    .await;
    kcr.fails("DescribeInternalEndpoint", &[], 400, "MissingParameter")
        .await;

    // DNS: the one kind, an existing endpoint, once.
    for (params, name) in [
        (
            with_dns("vpc-1", "10.0.1.5", "PublicDomain"),
            "InternalEndpointDns",
        ),
        (with_dns("vpc-1", "10.0.1.6", "PrivateDomain"), "EniLBIp"),
        (with_dns("vpc-1", "nope", "PrivateDomain"), "EniLBIp"),
    ] {
        let msg = kcr
            .fails(
                "CreateInternalEndpointDns",
                &params,
                400,
                "InvalidParameterValue",
            )
            .await;
        assert!(msg.contains(name), "{params:?}: {msg}");
    }
    kcr.fails(
        "CreateInternalEndpointDns",
        &endpoint("vpc-1", "10.0.1.5"),
        400,
        "MissingParameter",
    )
    .await;
    kcr.call(
        "CreateInternalEndpointDns",
        &with_dns("vpc-1", "10.0.1.5", "PrivateDomain"),
    )
    .await;
    kcr.fails(
        "CreateInternalEndpointDns",
        &with_dns("vpc-1", "10.0.1.5", "PrivateDomain"),
        409,
        "ResourceAlreadyExists",
    )
    .await;
    kcr.fails(
        "DescribeInternalEndpointDns",
        &with_dns("vpc-1", "10.0.1.5", "Other"),
        400,
        "InvalidParameterValue",
    )
    .await;
    kcr.fails(
        "DescribeInternalEndpointDns",
        &[("InstanceId", inst), ("VpcId", "vpc-1")],
        400,
        "MissingParameter",
    )
    .await;
    for (vpc, ip) in [("vpc-1", "10.0.1.6"), ("vpc-2", "10.0.1.5")] {
        kcr.fails(
            "DescribeInternalEndpointDns",
            &with_dns(vpc, ip, "PrivateDomain"),
            400,
            "InvalidParameterValue",
        )
        .await;
    }
    kcr.fails(
        "DeleteInternalEndpointDns",
        &with_dns("vpc-1", "10.0.1.5", "Other"),
        400,
        "InvalidParameterValue",
    )
    .await;
    kcr.fails(
        "DeleteInternalEndpointDns",
        &endpoint("vpc-1", "10.0.1.5"),
        400,
        "MissingParameter",
    )
    .await;
    kcr.call(
        "DeleteInternalEndpointDns",
        &with_dns("vpc-1", "10.0.1.5", "PrivateDomain"),
    )
    .await;
    let msg = kcr
        .fails(
            "DeleteInternalEndpointDns",
            &with_dns("vpc-1", "10.0.1.5", "PrivateDomain"),
            400,
            "InvalidParameterValue",
        )
        .await;
    assert!(msg.contains("InternalEndpointDns"), "{msg}");

    // A read-only key may describe but not create.
    let ro = s.kcr_with(true).await;
    ro.call("DescribeInternalEndpoint", &[("InstanceId", inst)])
        .await;
    ro.fails(
        "CreateInternalEndpoint",
        &create("vpc-9", "10.9.0.0/16"),
        403,
        "AccessDenied",
    )
    .await;
}
