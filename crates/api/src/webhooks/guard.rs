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

/// Why `ip` is refused, or `None` when it is a public address: one that the IANA special-purpose
/// address registries (IPv4: RFC 6890 and its updates; IPv6: the same, RFC 9602, RFC 9637)
/// mark globally reachable, or ordinary unicast space.
pub fn forbidden_kind(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6).or_else(|| embedded_v4(v6).and_then(forbidden_v4)),
    }
}

/// The IPv4 address an IPv6 address reaches through a translation or tunnel: IPv4-mapped
/// (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d, deprecated but still routed by some stacks),
/// NAT64 (64:ff9b::/96) and 6to4 (2002:AABB:CCDD::/48). A connection to the IPv6 form ends at
/// the IPv4 address, so that address must be public too.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let o = ip.octets();
    let tail = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    let compatible = s[..6] == [0; 6] && !ip.is_unspecified() && !ip.is_loopback();
    let nat64 = s[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
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

/// Whether `ip` lies in `net`/`len`.
fn in_v4(ip: Ipv4Addr, net: [u8; 4], len: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn in_v6(ip: Ipv6Addr, net: [u16; 8], len: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
    let [a, b, c, d, e, f, g, h] = net;
    u128::from(ip) & mask == u128::from(Ipv6Addr::new(a, b, c, d, e, f, g, h)) & mask
}

/// The IPv4 blocks that are not globally reachable (IANA IPv4 Special-Purpose Address Registry),
/// and multicast. 192.0.0.0/24 is refused whole: its two globally reachable entries are anycast
/// addresses of PCP and TURN, never a webhook receiver.
const V4_REFUSED: &[([u8; 4], u32, &str)] = &[
    ([0, 0, 0, 0], 8, "unspecified (\"this network\")"),
    ([10, 0, 0, 0], 8, "private"),
    ([100, 64, 0, 0], 10, "shared (carrier-grade NAT)"),
    ([127, 0, 0, 0], 8, "loopback"),
    ([169, 254, 0, 0], 16, "link-local"),
    ([172, 16, 0, 0], 12, "private"),
    ([192, 0, 0, 0], 24, "IETF protocol assignment"),
    ([192, 0, 2, 0], 24, "documentation (TEST-NET-1)"),
    ([192, 88, 99, 0], 24, "deprecated 6to4 relay anycast"),
    ([192, 168, 0, 0], 16, "private"),
    ([198, 18, 0, 0], 15, "benchmarking"),
    ([198, 51, 100, 0], 24, "documentation (TEST-NET-2)"),
    ([203, 0, 113, 0], 24, "documentation (TEST-NET-3)"),
    ([224, 0, 0, 0], 4, "multicast"),
    ([255, 255, 255, 255], 32, "broadcast"),
    ([240, 0, 0, 0], 4, "reserved"),
];

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    V4_REFUSED
        .iter()
        .find(|(net, len, _)| in_v4(ip, *net, *len))
        .map(|(_, _, kind)| *kind)
}

/// The IPv6 blocks that are not globally reachable (IANA IPv6 Special-Purpose Address Registry),
/// besides everything outside global unicast 2000::/3. 2001::/23 is refused whole: its globally
/// reachable entries are anycast service addresses and identifiers (ORCHID, DET, AMT, AS112),
/// never a webhook receiver, and Teredo (2001::/32) hides the IPv4 address it reaches.
const V6_REFUSED: &[([u16; 8], u32, &str)] = &[
    (
        [0x2001, 0, 0, 0, 0, 0, 0, 0],
        23,
        "IETF protocol assignment",
    ),
    ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32, "documentation"),
    ([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20, "documentation"),
];

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    // The forms that embed an IPv4 address are judged by that address (`embedded_v4`).
    if ip.to_ipv4_mapped().is_some()
        || s[..6] == [0; 6]
        || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0]
        || s[0] == 0x2002
    {
        return None;
    }
    if s[..4] == [0, 0, 0, 0] && s[4] == 0xffff && s[5] == 0 {
        // ::ffff:0:a.b.c.d (RFC 2765), not the IPv4-mapped ::ffff:a.b.c.d: a stateless
        // translator's internal form, reachable only through one.
        return Some("IPv4-translated");
    }
    if in_v6(ip, [0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48) {
        return Some("local-use IPv4/IPv6 translation");
    }
    if (s[0] & 0xffc0) == 0xfe80 {
        return Some("link-local");
    }
    if (s[0] & 0xfe00) == 0xfc00 {
        return Some("unique local (private)");
    }
    if (s[0] & 0xffc0) == 0xfec0 {
        return Some("site-local (private)");
    }
    if ip.is_multicast() {
        return Some("multicast");
    }
    if in_v6(ip, [0x100, 0, 0, 0, 0, 0, 0, 0], 64) {
        return Some("discard-only");
    }
    if let Some((_, _, kind)) = V6_REFUSED
        .iter()
        .find(|(net, len, _)| in_v6(ip, *net, *len))
    {
        return Some(kind);
    }
    if (s[0] & 0xe000) != 0x2000 {
        // Outside global unicast: reserved by the IETF (and 5f00::/16, segment routing SIDs).
        return Some("reserved");
    }
    None
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
            ("0.0.0.0", Some("unspecified (\"this network\")")),
            ("0.1.2.3", Some("unspecified (\"this network\")")),
            ("224.0.0.1", Some("multicast")),
            ("239.255.255.250", Some("multicast")),
            ("255.255.255.255", Some("broadcast")),
            ("240.0.0.1", Some("reserved")),
            ("100.64.0.1", Some("shared (carrier-grade NAT)")),
            ("100.127.255.255", Some("shared (carrier-grade NAT)")),
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
            ("2002:a00:1::1", Some("private")),
            ("2002:7f00:1::", Some("loopback")),
            ("fec0::1", Some("site-local (private)")),
            ("64:ff9b::808:808", None),
            ("2002:808:808::1", None),
            ("::ffff:8.8.8.8", None),
            ("172.32.0.1", None),
            ("100.128.0.1", None),
            ("8.8.8.8", None),
            ("1.1.1.1", None),
            ("198.20.0.1", None),
            ("192.0.3.1", None),
            ("2001:4860:4860::8888", None),
            ("2a00:1450:4001::1", None),
            ("2620:4f:8000::1", None),
        ] {
            assert_eq!(kind(addr), want, "{addr}");
        }
    }

    /// Every block of the IANA special-purpose registries that is not globally reachable: its
    /// first and last address are refused, and the addresses just outside it are not.
    #[test]
    fn iana_special_purpose_blocks() {
        for (first, last, outside) in [
            ("0.0.0.0", "0.255.255.255", Some("1.0.0.0")),
            ("10.0.0.0", "10.255.255.255", Some("11.0.0.0")),
            ("100.64.0.0", "100.127.255.255", Some("100.63.255.255")),
            ("127.0.0.0", "127.255.255.255", Some("128.0.0.0")),
            ("169.254.0.0", "169.254.255.255", Some("169.255.0.0")),
            ("172.16.0.0", "172.31.255.255", Some("172.15.255.255")),
            ("192.0.0.0", "192.0.0.255", Some("191.255.255.255")),
            ("192.0.0.8", "192.0.0.8", None),
            ("192.0.0.170", "192.0.0.171", None),
            ("192.0.2.0", "192.0.2.255", Some("192.0.1.255")),
            ("192.88.99.0", "192.88.99.255", Some("192.88.100.0")),
            ("192.168.0.0", "192.168.255.255", Some("192.169.0.0")),
            ("198.18.0.0", "198.19.255.255", Some("198.17.255.255")),
            ("198.51.100.0", "198.51.100.255", Some("198.51.101.0")),
            ("203.0.113.0", "203.0.113.255", Some("203.0.114.0")),
            ("240.0.0.0", "255.255.255.254", Some("223.255.255.255")),
            ("255.255.255.255", "255.255.255.255", None),
            ("::", "::", None),
            ("::1", "::1", None),
            ("::ffff:0:0:0", "::ffff:0:ffff:ffff", None),
            ("::ffff:0:7f00:1", "::ffff:0:808:808", None),
            ("64:ff9b:1::", "64:ff9b:1:ffff:ffff:ffff:ffff:ffff", None),
            ("100::", "100::ffff:ffff:ffff:ffff", None),
            ("100:0:0:1::", "100:0:0:1:ffff:ffff:ffff:ffff", None),
            (
                "2001::",
                "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff",
                Some("2001:200::"),
            ),
            ("2001:2::", "2001:2:0:ffff::", None),
            ("2001:10::", "2001:1f:ffff::", None),
            (
                "2001:db8::",
                "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
                Some("2001:db9::"),
            ),
            (
                "3fff::",
                "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff",
                Some("3ffe:ffff::"),
            ),
            ("5f00::", "5f00:ffff::", None),
            ("fc00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", None),
            ("fe80::", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", None),
            ("ff00::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", None),
            ("4000::", "1fff:ffff::", None),
        ] {
            assert!(kind(first).is_some(), "{first}");
            assert!(kind(last).is_some(), "{last}");
            if let Some(o) = outside {
                assert_eq!(kind(o), None, "{o}");
            }
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
