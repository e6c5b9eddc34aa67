//! The SSRF guard: a webhook URL may only reach public addresses unless the operator allows
//! private ones. Checked when a trigger is created or changed, and again before every attempt,
//! which then connects to the address that was checked (so a DNS answer that changes between
//! check and connect cannot redirect the request).
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// How long a URL's host may take to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TargetError {
    #[error("not a valid URL: {0}")]
    Invalid(String),
    #[error("only http and https URLs are allowed")]
    Scheme,
    #[error("the URL has no host")]
    NoHost,
    #[error("{0} cannot be resolved")]
    Unresolvable(String),
    #[error("{addr} is a {kind} address; webhooks may not target it")]
    Forbidden { addr: IpAddr, kind: &'static str },
}

/// A checked target: the URL, and the address to connect to when its host is a name.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: url::Url,
    /// The host name and the checked address it resolved to (`None` for an IP literal).
    pub pinned: Option<(String, SocketAddr)>,
}

/// Why `ip` is refused, or `None` when it is a public address.
pub fn forbidden_kind(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => forbidden_v4(v4),
            None => forbidden_v6(v6),
        },
    }
}

/// The IPv4 address an IPv6 address reaches through a translation or tunnel: IPv4-mapped
/// (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d, deprecated but still routed by some stacks),
/// NAT64 (64:ff9b::/96 and the local-use 64:ff9b:1::/48) and 6to4 (2002:AABB:CCDD::/48).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let o = ip.octets();
    let tail = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    let compatible = s[..6] == [0; 6] && !ip.is_unspecified() && !ip.is_loopback();
    let nat64 =
        s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1);
    if let Some(v4) = ip.to_ipv4_mapped() {
        Some(v4)
    } else if compatible || nat64 {
        Some(tail)
    } else if s[0] == 0x2002 {
        Some(Ipv4Addr::new(o[2], o[3], o[4], o[5]))
    } else {
        None
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    if ip.is_unspecified() || o[0] == 0 {
        Some("unspecified")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if ip.is_private() {
        Some("private")
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        // 100.64.0.0/10, carrier-grade NAT: private in practice.
        Some("shared (carrier-grade NAT)")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if ip.is_broadcast() || o[0] >= 240 {
        Some("reserved")
    } else {
        None
    }
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if ip.is_unspecified() {
        Some("unspecified")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if (s[0] & 0xffc0) == 0xfe80 {
        Some("link-local")
    } else if (s[0] & 0xfe00) == 0xfc00 {
        Some("unique local (private)")
    } else if (s[0] & 0xffc0) == 0xfec0 {
        Some("site-local (private)")
    } else if ip.is_multicast() {
        Some("multicast")
    } else {
        None
    }
}

fn check(ip: IpAddr, allow_private: bool) -> Result<(), TargetError> {
    match forbidden_kind(ip) {
        Some(kind) if !allow_private => Err(TargetError::Forbidden { addr: ip, kind }),
        _ => Ok(()),
    }
}

/// Parses `url`, resolves its host and checks every address it resolves to.
pub async fn resolve(url: &str, allow_private: bool) -> Result<Target, TargetError> {
    let url = url::Url::parse(url).map_err(|e| TargetError::Invalid(e.to_string()))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(TargetError::Scheme);
    }
    let port = url.port_or_known_default().ok_or(TargetError::Scheme)?;
    let host = match url.host() {
        None => return Err(TargetError::NoHost),
        Some(url::Host::Ipv4(ip)) => {
            check(IpAddr::V4(ip), allow_private)?;
            return Ok(Target { url, pinned: None });
        }
        Some(url::Host::Ipv6(ip)) => {
            check(IpAddr::V6(ip), allow_private)?;
            return Ok(Target { url, pinned: None });
        }
        Some(url::Host::Domain(d)) => d.to_string(),
    };
    let unresolvable = || TargetError::Unresolvable(host.clone());
    let addrs: Vec<SocketAddr> = tokio::time::timeout(
        RESOLVE_TIMEOUT,
        tokio::net::lookup_host((host.as_str(), port)),
    )
    .await
    .map_err(|_| unresolvable())?
    .map_err(|_| unresolvable())?
    .collect();
    // Every answer must pass: a name that mixes public and private answers is refused rather
    // than trusted to pick the public one.
    for a in &addrs {
        check(a.ip(), allow_private)?;
    }
    let first = *addrs.first().ok_or_else(unresolvable)?;
    Ok(Target {
        url,
        pinned: Some((host, first)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(s: &str) -> Option<&'static str> {
        forbidden_kind(s.parse().unwrap())
    }

    #[test]
    fn ranges() {
        for (addr, want) in [
            ("127.0.0.1", Some("loopback")),
            ("127.255.0.9", Some("loopback")),
            ("10.1.2.3", Some("private")),
            ("172.16.0.1", Some("private")),
            ("172.31.255.255", Some("private")),
            ("192.168.1.1", Some("private")),
            ("169.254.169.254", Some("link-local")),
            ("0.0.0.0", Some("unspecified")),
            ("0.1.2.3", Some("unspecified")),
            ("224.0.0.1", Some("multicast")),
            ("255.255.255.255", Some("reserved")),
            ("100.64.0.1", Some("shared (carrier-grade NAT)")),
            ("::1", Some("loopback")),
            ("::", Some("unspecified")),
            ("fe80::1", Some("link-local")),
            ("fd00::1", Some("unique local (private)")),
            ("fc00::1", Some("unique local (private)")),
            ("ff02::1", Some("multicast")),
            ("::ffff:127.0.0.1", Some("loopback")),
            ("::ffff:10.0.0.1", Some("private")),
            ("::169.254.169.254", Some("link-local")),
            ("64:ff9b::a9fe:a9fe", Some("link-local")),
            ("64:ff9b::7f00:1", Some("loopback")),
            ("64:ff9b:1::c0a8:101", Some("private")),
            ("2002:a00:1::1", Some("private")),
            ("2002:7f00:1::", Some("loopback")),
            ("fec0::1", Some("site-local (private)")),
            ("64:ff9b::808:808", None),
            ("2002:808:808::1", None),
            ("172.32.0.1", None),
            ("100.128.0.1", None),
            ("8.8.8.8", None),
            ("2001:4860:4860::8888", None),
        ] {
            assert_eq!(kind(addr), want, "{addr}");
        }
    }

    #[tokio::test]
    async fn urls() {
        assert_eq!(
            resolve("http://127.0.0.1:9/x", false).await.unwrap_err(),
            TargetError::Forbidden {
                addr: "127.0.0.1".parse().unwrap(),
                kind: "loopback"
            }
        );
        assert!(resolve("http://127.0.0.1:9/x", true).await.is_ok());
        assert!(matches!(
            resolve("http://[::1]/", false).await,
            Err(TargetError::Forbidden { .. })
        ));
        // Names are resolved and their answers checked.
        assert!(matches!(
            resolve("http://localhost:8080/", false).await,
            Err(TargetError::Forbidden { .. })
        ));
        let t = resolve("http://localhost:8080/", true).await.unwrap();
        assert_eq!(t.pinned.unwrap().0, "localhost");
        assert_eq!(
            resolve("ftp://example.com/", false).await.unwrap_err(),
            TargetError::Scheme
        );
        assert!(matches!(
            resolve("not a url", false).await,
            Err(TargetError::Invalid(_))
        ));
        assert!(matches!(
            resolve("http://", false).await,
            Err(TargetError::Invalid(_) | TargetError::NoHost)
        ));
    }
}
