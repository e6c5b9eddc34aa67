//! Private network access (ARCHITECTURE.md, "Private network access"): internal endpoints as
//! source-network allow-lists, their status lifecycle, and the private DNS zone served for the
//! operator's DNS server.
use crate::auth::Principal;
use crate::config::{Config, NetworkConfig};
use crate::error::{ApiError, ApiResult, Code};
use crate::state::App;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use berth_store::{DnsStatus, EndpointStatus, Instance, InternalEndpoint, StoreError};
use ipnet::IpNet;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;

mod policy;

pub use policy::{AllowListCache, Policy};

/// The one value of the seed's `InternalEndpointDns`.
pub(crate) const PRIVATE_DOMAIN: &str = "PrivateDomain";

async fn policy(app: &App, instance_id: &str) -> ApiResult<Arc<Policy>> {
    if let Some(hit) = app.allow_lists.lists.get(instance_id) {
        return Ok(hit);
    }
    let generation = app.allow_lists.generation.load(Ordering::SeqCst);
    let list = app.meta.allow_list(instance_id).await?;
    let nets = list
        .cidrs
        .iter()
        .filter_map(|c| match c.parse::<IpNet>() {
            Ok(n) => Some(n),
            Err(_) => {
                // Stored CIDRs were parsed before they were stored; a bad one admits no one.
                tracing::error!(cidr = %c, instance = instance_id, "unparsable stored CIDR");
                None
            }
        })
        .collect();
    let policy = Arc::new(Policy {
        restricted: list.restricted,
        nets,
    });
    // An invalidation since the read means the policy may be stale: it must not stay cached.
    // Checked again after the insert, since an invalidation may land between check and insert.
    let cache = &app.allow_lists;
    if cache.generation.load(Ordering::SeqCst) == generation {
        cache.lists.insert(instance_id.to_string(), policy.clone());
        if cache.generation.load(Ordering::SeqCst) != generation {
            cache.lists.invalidate(instance_id);
        }
    }
    Ok(policy)
}

/// Forgets the cached allow-list of an instance after its endpoints changed.
pub(crate) fn invalidate(app: &App, instance_id: &str) {
    app.allow_lists.generation.fetch_add(1, Ordering::SeqCst);
    app.allow_lists.lists.invalidate(instance_id);
    // Other processes drop all of theirs (the notice does not carry the instance).
    crate::notices::announce(app, crate::notices::ApiNotice::AllowLists);
}

fn canonical(ip: IpAddr) -> IpAddr {
    // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; allow-lists are written in
    // IPv4 terms.
    ip.to_canonical()
}

fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(canonical)
}

/// The address a request comes from: the TCP peer, or, when the peer is a trusted proxy, the
/// nearest `X-Forwarded-For` hop that is not itself a trusted proxy. Walking from the right
/// matters: a client can put anything at the left of the list, and a proxy that appends (as
/// most do) only vouches for the hop it adds. `None` when the list is unreadable.
pub(crate) fn client_addr(
    config: &NetworkConfig,
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
) -> Option<IpAddr> {
    let peer = canonical(peer?.ip());
    let trusted = |ip: &IpAddr| config.trusted_proxies.iter().any(|n| n.contains(ip));
    if !trusted(&peer) {
        return Some(peer);
    }
    let mut hops = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        for hop in value.to_str().ok()?.split(',') {
            hops.push(parse_hop(hop)?);
        }
    }
    if hops.is_empty() {
        return Some(peer);
    }
    hops.iter()
        .rev()
        .find(|ip| !trusted(ip))
        .or_else(|| hops.first())
        .copied()
}

/// Refuses an OCI request (`/v2/...`, `/auth/token`) to a restricted instance from outside its
/// allowed networks, with the OCI error format: 403 DENIED.
pub(crate) async fn check_source(
    app: &App,
    instance: &Instance,
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    let policy = policy(app, &instance.id).await?;
    if !policy.restricted {
        return Ok(());
    }
    let config = &app.config.network;
    let Some(client) = client_addr(config, peer, headers) else {
        return Err(ApiError::new(
            Code::Denied,
            format!(
                "instance {} accepts requests only from its internal endpoints' networks, and the client's address is unknown",
                instance.name
            ),
        ));
    };
    let allowed = config
        .always_allowed
        .iter()
        .chain(policy.nets.iter())
        .any(|n| n.contains(&client));
    if allowed {
        Ok(())
    } else {
        Err(ApiError::new(
            Code::Denied,
            format!(
                "instance {} accepts requests only from its internal endpoints' networks, not from {client}",
                instance.name
            ),
        ))
    }
}

/// How an endpoint's `ReserveSubnetId` resolves: the network it admits and its `EniLBIp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResolvedSubnet {
    pub cidr: IpNet,
    pub endpoint_ip: IpAddr,
}

/// Why a `ReserveSubnetId` was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SubnetRejection {
    /// Neither a configured subnet id nor a CIDR.
    Unknown,
    /// A configured subnet of another VPC.
    OtherVpc,
}

/// Resolves a `ReserveSubnetId`: a subnet declared in `[[network.subnets]]` (which must belong
/// to `vpc_id`), or a CIDR literal whose `EniLBIp` is `network.default_endpoint_ip` when that
/// lies inside it and the first host address otherwise.
pub(crate) fn resolve_subnet(
    config: &NetworkConfig,
    vpc_id: &str,
    subnet_id: &str,
) -> Result<ResolvedSubnet, SubnetRejection> {
    if let Some(s) = config.subnets.iter().find(|s| s.id == subnet_id) {
        if s.vpc_id != vpc_id {
            return Err(SubnetRejection::OtherVpc);
        }
        return Ok(ResolvedSubnet {
            cidr: s.cidr.trunc(),
            endpoint_ip: s.endpoint_ip,
        });
    }
    let cidr = subnet_id
        .parse::<IpNet>()
        .map_err(|_| SubnetRejection::Unknown)?
        .trunc();
    let endpoint_ip = match config.default_endpoint_ip {
        Some(ip) if cidr.contains(&ip) => ip,
        _ => first_host(cidr),
    };
    Ok(ResolvedSubnet { cidr, endpoint_ip })
}

/// The first usable host address: the network address itself for /31, /32, /127 and /128
/// (RFC 3021 point-to-point links and single hosts), the one after it otherwise.
fn first_host(net: IpNet) -> IpAddr {
    match net {
        IpNet::V4(n) if n.prefix_len() >= 31 => IpAddr::V4(n.network()),
        IpNet::V4(n) => IpAddr::V4(std::net::Ipv4Addr::from(
            u32::from(n.network()).saturating_add(1),
        )),
        IpNet::V6(n) if n.prefix_len() >= 127 => IpAddr::V6(n.network()),
        IpNet::V6(n) => IpAddr::V6(std::net::Ipv6Addr::from(
            u128::from(n.network()).saturating_add(1),
        )),
    }
}

/// The status an endpoint deserves under the current configuration: `Running` when its subnet
/// still resolves to what was recorded and its address lies inside it, `Error` otherwise (the
/// subnet left the configuration, moved, or its `endpoint_ip` is outside its CIDR).
fn evaluate(config: &NetworkConfig, e: &InternalEndpoint) -> EndpointStatus {
    let Ok(resolved) = resolve_subnet(config, &e.vpc_id, &e.subnet_id) else {
        return EndpointStatus::Error;
    };
    let recorded = resolved.cidr.to_string() == e.cidr
        && e.ip_address.parse::<IpAddr>().ok() == Some(resolved.endpoint_ip);
    if recorded && resolved.cidr.contains(&resolved.endpoint_ip) {
        EndpointStatus::Running
    } else {
        EndpointStatus::Error
    }
}

fn dns_status_for(endpoint: EndpointStatus) -> DnsStatus {
    match endpoint {
        EndpointStatus::Creating => DnsStatus::Opening,
        EndpointStatus::Running => DnsStatus::Running,
        EndpointStatus::Error => DnsStatus::Error,
    }
}

/// The background step of the lifecycle: validates the endpoints of one instance (or of every
/// instance, at start, since the configuration may have changed meanwhile) and moves them and
/// their DNS records to the status they deserve.
pub(crate) async fn reconcile(app: &App, instance_id: Option<&str>) -> Result<(), StoreError> {
    let endpoints = match instance_id {
        Some(id) => app.meta.list_endpoints(id).await?,
        None => app.meta.all_endpoints().await?,
    };
    let mut by_instance: HashMap<&str, Vec<&InternalEndpoint>> = HashMap::new();
    for e in &endpoints {
        by_instance.entry(&e.instance_id).or_default().push(e);
    }
    for (instance, list) in by_instance {
        let mut statuses = HashMap::new();
        for e in list {
            let status = evaluate(&app.config.network, e);
            if status != e.status {
                app.meta
                    .set_endpoint_status(instance, &e.vpc_id, &e.ip_address, status)
                    .await?;
                tracing::info!(
                    instance,
                    vpc = %e.vpc_id,
                    subnet = %e.subnet_id,
                    status = status.as_str(),
                    "internal endpoint status"
                );
            }
            statuses.insert((e.vpc_id.as_str(), e.ip_address.as_str()), status);
        }
        for r in app.meta.list_endpoint_dns(instance, None, None).await? {
            let Some(endpoint) = statuses.get(&(r.vpc_id.as_str(), r.ip_address.as_str())) else {
                continue;
            };
            let status = dns_status_for(*endpoint);
            if status != r.status {
                app.meta
                    .set_endpoint_dns_status(instance, &r.vpc_id, &r.ip_address, &r.domain, status)
                    .await?;
            }
        }
        invalidate(app, instance);
    }
    Ok(())
}

/// Runs [`reconcile`] for one instance in the background, as a cloud provisions a link.
pub(crate) fn spawn_reconcile(app: &App, instance_id: &str) {
    let app = app.clone();
    let instance_id = instance_id.to_string();
    tokio::spawn(async move {
        if let Err(e) = reconcile(&app, Some(&instance_id)).await {
            tracing::error!(error = %e, instance = %instance_id, "internal endpoint validation failed");
        }
    });
}

/// The base domain of private zones when `management.base_domain` is unset (then only the
/// default instance has an OCI endpoint, but every instance still has a name to publish).
pub(crate) const DEFAULT_BASE_DOMAIN: &str = "berth.internal";

/// The instance's name in its private zone: `<instance name>.<base domain>`.
pub(crate) fn instance_domain(config: &Config, instance: &Instance) -> String {
    let base = config
        .management
        .base_domain
        .as_deref()
        .unwrap_or(DEFAULT_BASE_DOMAIN);
    format!("{}.{base}", instance.name)
}

/// An RFC 1035 master file for `origin` (without its final dot) with one A/AAAA record per
/// address at the apex.
pub(crate) fn render_zone(
    origin: &str,
    serial: u32,
    ttl: u32,
    nameserver: &str,
    addrs: &[IpAddr],
) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(out, "$ORIGIN {origin}.");
    let _ = writeln!(out, "$TTL {ttl}");
    let _ = writeln!(
        out,
        "@ IN SOA {nameserver} hostmaster.{origin}. {serial} 3600 600 604800 {ttl}"
    );
    let _ = writeln!(out, "@ IN NS {nameserver}");
    for ip in addrs {
        let kind = if ip.is_ipv4() { "A" } else { "AAAA" };
        let _ = writeln!(out, "@ IN {kind} {ip}");
    }
    out
}

#[derive(Debug, serde::Deserialize)]
pub struct ZoneQuery {
    vpc: Option<String>,
}

fn basic_challenge(e: ApiError) -> ApiError {
    e.with_header(header::WWW_AUTHENTICATE, "Basic realm=\"berth\"")
}

/// `GET /v1/instances/{id}/zone[?vpc=VPCID]`: the instance's private zone, for an
/// administrator (Basic credentials).
pub async fn zone(
    State(app): State<App>,
    Path(id): Path<String>,
    Query(q): Query<ZoneQuery>,
    headers: HeaderMap,
) -> Response {
    match zone_file(&app, &id, q.vpc.as_deref(), &headers).await {
        Ok(text) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/dns; charset=utf-8")],
            text,
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

async fn zone_file(
    app: &App,
    id: &str,
    vpc: Option<&str>,
    headers: &HeaderMap,
) -> ApiResult<String> {
    let principal = app
        .auth
        .authenticate(app.meta.as_ref(), headers, id)
        .await
        .map_err(basic_challenge)?;
    if !matches!(principal, Principal::User { admin: true, .. }) {
        return Err(basic_challenge(ApiError::new(
            Code::Unauthorized,
            "the zone is served to an administrator's Basic credentials",
        )));
    }
    let Some(instance) = app.meta.get_instance(id).await? else {
        return Err(
            ApiError::new(Code::NameUnknown, format!("instance {id} does not exist"))
                .with_status(StatusCode::NOT_FOUND),
        );
    };
    let serial = app.meta.zone_serial(id).await?;
    let mut addrs: Vec<IpAddr> = app
        .meta
        .list_endpoint_dns(id, vpc, None)
        .await?
        .iter()
        .filter(|r| r.status == DnsStatus::Running && r.domain == PRIVATE_DOMAIN)
        .filter_map(|r| r.ip_address.parse().ok())
        .collect();
    addrs.sort();
    addrs.dedup();
    let config = &app.config.network;
    Ok(render_zone(
        &instance_domain(&app.config, &instance),
        serial,
        config.zone_ttl_secs,
        &config.zone_nameserver,
        &addrs,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SubnetConfig;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn peer(s: &str) -> Option<SocketAddr> {
        Some(SocketAddr::new(ip(s), 40000))
    }

    #[test]
    fn client_address_from_peer_and_trusted_proxies() {
        let config = NetworkConfig {
            trusted_proxies: vec![net("10.0.0.0/24")],
            ..NetworkConfig::default()
        };
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "1.1.1.1, 2.2.2.2".parse().unwrap());
        // An untrusted peer's header is ignored.
        assert_eq!(
            client_addr(&config, peer("3.3.3.3"), &h),
            Some(ip("3.3.3.3"))
        );
        // Through a trusted proxy: the nearest untrusted hop, not a client-written one.
        assert_eq!(
            client_addr(&config, peer("10.0.0.5"), &h),
            Some(ip("2.2.2.2"))
        );
        h.insert("x-forwarded-for", "1.1.1.1, 10.0.0.9".parse().unwrap());
        assert_eq!(
            client_addr(&config, peer("10.0.0.5"), &h),
            Some(ip("1.1.1.1"))
        );
        h.insert("x-forwarded-for", "garbage".parse().unwrap());
        assert_eq!(client_addr(&config, peer("10.0.0.5"), &h), None);
        assert_eq!(
            client_addr(&config, peer("10.0.0.5"), &HeaderMap::new()),
            Some(ip("10.0.0.5"))
        );
        assert_eq!(client_addr(&config, None, &HeaderMap::new()), None);
        // IPv4-mapped peers are compared as IPv4.
        assert_eq!(
            client_addr(&config, peer("::ffff:192.0.2.1"), &HeaderMap::new()),
            Some(ip("192.0.2.1"))
        );
    }

    #[test]
    fn subnets_resolve_from_config_or_cidr() {
        let mut config = NetworkConfig {
            subnets: vec![SubnetConfig {
                id: "subnet-a".into(),
                vpc_id: "vpc-1".into(),
                cidr: net("10.0.1.0/24"),
                endpoint_ip: ip("10.0.1.10"),
            }],
            ..NetworkConfig::default()
        };
        assert_eq!(
            resolve_subnet(&config, "vpc-1", "subnet-a"),
            Ok(ResolvedSubnet {
                cidr: net("10.0.1.0/24"),
                endpoint_ip: ip("10.0.1.10")
            })
        );
        assert_eq!(
            resolve_subnet(&config, "vpc-2", "subnet-a"),
            Err(SubnetRejection::OtherVpc)
        );
        assert_eq!(
            resolve_subnet(&config, "vpc-1", "subnet-b"),
            Err(SubnetRejection::Unknown)
        );
        assert_eq!(
            resolve_subnet(&config, "vpc-1", "10.2.3.4/16"),
            Ok(ResolvedSubnet {
                cidr: net("10.2.0.0/16"),
                endpoint_ip: ip("10.2.0.1")
            })
        );
        assert_eq!(
            resolve_subnet(&config, "vpc-1", "10.2.3.4/32").map(|r| r.endpoint_ip),
            Ok(ip("10.2.3.4"))
        );
        assert_eq!(
            resolve_subnet(&config, "vpc-1", "fd00::/64").map(|r| r.endpoint_ip),
            Ok(ip("fd00::1"))
        );
        config.default_endpoint_ip = Some(ip("10.2.9.9"));
        assert_eq!(
            resolve_subnet(&config, "vpc-1", "10.2.0.0/16").map(|r| r.endpoint_ip),
            Ok(ip("10.2.9.9"))
        );
        assert_eq!(
            resolve_subnet(&config, "vpc-1", "10.3.0.0/16").map(|r| r.endpoint_ip),
            Ok(ip("10.3.0.1"))
        );
        assert_eq!(
            resolve_subnet(&config, "vpc-1", "10.3.0.0/33"),
            Err(SubnetRejection::Unknown)
        );
    }

    #[test]
    fn endpoint_outside_its_subnet_is_an_error() {
        let config = NetworkConfig {
            subnets: vec![SubnetConfig {
                id: "bad".into(),
                vpc_id: "vpc-1".into(),
                cidr: net("10.0.1.0/24"),
                endpoint_ip: ip("10.0.2.10"),
            }],
            ..NetworkConfig::default()
        };
        let e = InternalEndpoint {
            instance_id: "i".into(),
            vpc_id: "vpc-1".into(),
            subnet_id: "bad".into(),
            cidr: "10.0.1.0/24".into(),
            ip_address: "10.0.2.10".into(),
            status: EndpointStatus::Creating,
            created_at: 0,
        };
        assert_eq!(evaluate(&config, &e), EndpointStatus::Error);
        let literal = InternalEndpoint {
            subnet_id: "10.9.0.0/16".into(),
            cidr: "10.9.0.0/16".into(),
            ip_address: "10.9.0.1".into(),
            ..e.clone()
        };
        assert_eq!(evaluate(&config, &literal), EndpointStatus::Running);
        // A subnet gone from the configuration.
        let gone = InternalEndpoint {
            subnet_id: "subnet-x".into(),
            ..e
        };
        assert_eq!(evaluate(&config, &gone), EndpointStatus::Error);
    }

    #[test]
    fn network_section_parses() {
        let c: crate::config::Config = toml::from_str(
            "[network]\nalways_allowed = []\ntrusted_proxies = [\"10.0.0.2/32\"]\n\
             default_endpoint_ip = \"10.0.1.5\"\n\
             [[network.subnets]]\nid = \"subnet-a\"\nvpc_id = \"vpc-1\"\n\
             cidr = \"10.0.1.0/24\"\nendpoint_ip = \"10.0.1.5\"\n",
        )
        .unwrap();
        assert!(c.network.always_allowed.is_empty());
        assert_eq!(c.network.subnets[0].cidr, net("10.0.1.0/24"));
        assert_eq!(c.network.default_endpoint_ip, Some(ip("10.0.1.5")));
        let d = crate::config::Config::default();
        assert!(
            d.network
                .always_allowed
                .iter()
                .any(|n| n.contains(&ip("127.0.0.1")))
        );
        assert!(
            d.network
                .always_allowed
                .iter()
                .any(|n| n.contains(&ip("::1")))
        );
        assert!(
            toml::from_str::<crate::config::Config>("[network]\ntrusted_proxies = [\"nope\"]\n")
                .is_err()
        );
    }

    #[test]
    fn zone_text() {
        let z = render_zone(
            "a.example",
            7,
            60,
            "localhost.",
            &[ip("10.0.0.1"), ip("fd00::1")],
        );
        assert_eq!(
            z,
            "$ORIGIN a.example.\n$TTL 60\n\
             @ IN SOA localhost. hostmaster.a.example. 7 3600 600 604800 60\n\
             @ IN NS localhost.\n@ IN A 10.0.0.1\n@ IN AAAA fd00::1\n"
        );
    }

    /// The background step over a real store: endpoints and their DNS records move to the
    /// status the configuration gives them, in both directions.
    #[tokio::test]
    async fn reconcile_follows_the_configuration() {
        use berth_store::NewInternalEndpoint;
        let dir = tempfile::tempdir().unwrap();
        let subnet = |endpoint_ip: &str| SubnetConfig {
            id: "subnet-a".into(),
            vpc_id: "vpc-1".into(),
            cidr: net("10.0.1.0/24"),
            endpoint_ip: ip(endpoint_ip),
        };
        let mut config = crate::config::Config {
            data_dir: dir.path().to_path_buf(),
            ..crate::config::Config::default()
        };
        config.network.subnets = vec![subnet("10.0.1.5")];
        let (meta, blobs) = crate::open_stores(&config).await.unwrap();
        let (app, _) = crate::build(
            config.clone(),
            meta.clone(),
            blobs.clone(),
            Some("pw".into()),
        )
        .await
        .unwrap();
        let id = app.default_instance.id.clone();
        for (subnet_id, cidr, addr) in [
            ("subnet-a", "10.0.1.0/24", "10.0.1.5"),
            ("10.9.0.0/16", "10.9.0.0/16", "10.9.0.1"),
        ] {
            meta.create_endpoint(&NewInternalEndpoint {
                instance_id: id.clone(),
                vpc_id: "vpc-1".into(),
                subnet_id: subnet_id.into(),
                cidr: cidr.into(),
                ip_address: addr.into(),
            })
            .await
            .unwrap();
            meta.create_endpoint_dns(&id, "vpc-1", addr, PRIVATE_DOMAIN)
                .await
                .unwrap();
        }
        let statuses = || async {
            let mut v: Vec<(String, &str, &str)> = Vec::new();
            for e in meta.list_endpoints(&id).await.unwrap() {
                let d = meta
                    .list_endpoint_dns(&id, Some(&e.vpc_id), Some(&e.ip_address))
                    .await
                    .unwrap();
                v.push((e.subnet_id, e.status.as_str(), d[0].status.as_str()));
            }
            v.sort();
            v
        };
        let policy_of =
            |app: App| async move { policy(&app, &app.default_instance.id).await.unwrap() };
        assert!(policy_of(app.clone()).await.nets.is_empty());
        reconcile(&app, Some(&id)).await.unwrap();
        assert_eq!(
            statuses().await,
            vec![
                ("10.9.0.0/16".to_string(), "Running", "Running"),
                ("subnet-a".to_string(), "Running", "Running"),
            ]
        );
        assert_eq!(policy_of(app.clone()).await.nets.len(), 2);

        // Restarted with the subnet's address moved out of it: that endpoint turns to Error.
        let mut moved = config.clone();
        moved.network.subnets = vec![subnet("10.0.2.5")];
        let (app2, _) = crate::build(moved, meta.clone(), blobs.clone(), None)
            .await
            .unwrap();
        reconcile(&app2, None).await.unwrap();
        assert_eq!(
            statuses().await,
            vec![
                ("10.9.0.0/16".to_string(), "Running", "Running"),
                ("subnet-a".to_string(), "Error", "Error"),
            ]
        );
        let p = policy_of(app2).await;
        assert!(p.restricted);
        assert_eq!(p.nets, vec![net("10.9.0.0/16")]);

        // Restored: Running again.
        reconcile(&app, None).await.unwrap();
        assert_eq!(statuses().await[1].1, "Running");
    }
}
