//! What the two operations share: the verified call, its parameters, and paging.
use std::collections::BTreeMap;

use berth_acs::AcsError;

use crate::state::App;

/// The API version of the seeds (`x-acs-version` or `Version`).
pub const VERSION: &str = "2018-12-03";
pub const LIST_IMAGE_RISK: &str = "ListImageRisk";
pub const DESCRIBE_SUMMARY: &str = "DescribeClusterImageSecuritySummary";

/// `PageSize` when not given (the seed's default) and its largest value.
pub const DEFAULT_PAGE_SIZE: u32 = 20;
pub const MAX_PAGE_SIZE: u32 = 100;

/// Parameters any operation accepts and ignores: `RegionId` (aliyun-python-sdk-core always
/// sends it), the account parameters the vendor's gateway takes on every RPC call
/// (`ResourceOwnerId` is in the summary operation's SDK model), `SourceIp`, `Lang`.
const COMMON: [&str; 7] = [
    "RegionId",
    "ResourceOwnerId",
    "ResourceOwnerAccount",
    "OwnerId",
    "OwnerAccount",
    "SourceIp",
    "Lang",
];

/// One verified call of the image-risk surface.
pub struct Call {
    pub app: App,
    pub params: BTreeMap<String, String>,
    /// The Host the client sent, without a scheme (tea-openapi sends `http://host:port` when its
    /// endpoint was given as a URL).
    pub host: String,
}

impl Call {
    /// Refuses a parameter the operation does not take: a misspelt filter would otherwise
    /// select everything without a word.
    pub fn check_names(&self, action: &str, takes: &[&str]) -> Result<(), AcsError> {
        for name in self.params.keys() {
            if !takes.contains(&name.as_str()) && !COMMON.contains(&name.as_str()) {
                return Err(AcsError::InvalidParameter(format!(
                    "The parameter {name} is not a parameter of {action}."
                )));
            }
        }
        if let Some(v) = self.params.get("ResourceOwnerId")
            && (v.is_empty() || v.len() > 20 || !v.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(AcsError::InvalidParameter(
                "Specified parameter ResourceOwnerId is not valid.".into(),
            ));
        }
        Ok(())
    }

    /// A filter: absent and empty are the same (no condition).
    pub fn filter(&self, name: &str) -> Option<String> {
        self.params.get(name).filter(|v| !v.is_empty()).cloned()
    }

    /// A positive integer parameter within `1..=max`.
    fn number(&self, name: &str, default: u32, max: u32) -> Result<u32, AcsError> {
        match self.params.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    AcsError::InvalidParameter(format!(
                        "Specified parameter {name} is not valid: an integer from 1 to {max} \
                         is expected."
                    ))
                }),
        }
    }

    pub fn paging(&self) -> Result<Paging, AcsError> {
        Ok(Paging {
            current_page: self.number("CurrentPage", 1, 1_000_000)?,
            page_size: self.number("PageSize", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?,
        })
    }
}

/// `CurrentPage` (from 1) and `PageSize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub current_page: u32,
    pub page_size: u32,
}

impl Paging {
    /// The range of `0..total` on this page (empty past the end).
    pub fn range(&self, total: usize) -> std::ops::Range<usize> {
        let size = self.page_size as usize;
        let start = (self.current_page as usize - 1)
            .saturating_mul(size)
            .min(total);
        start..start.saturating_add(size).min(total)
    }
}

/// The Host header as a host name (and port), without the scheme some SDKs put in it.
pub fn host_of(headers: &axum::http::HeaderMap) -> String {
    let raw = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let host = raw
        .strip_prefix("http://")
        .or_else(|| raw.strip_prefix("https://"))
        .unwrap_or(raw);
    host.trim_end_matches('/').chars().take(255).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages() {
        let p = |current_page, page_size| Paging {
            current_page,
            page_size,
        };
        assert_eq!(p(1, 20).range(5), 0..5);
        assert_eq!(p(2, 2).range(5), 2..4);
        assert_eq!(p(3, 2).range(5), 4..5);
        assert_eq!(p(4, 2).range(5), 5..5);
        assert_eq!(p(1_000_000, 100).range(5), 5..5);
    }

    #[test]
    fn hosts_lose_their_scheme() {
        let mut h = axum::http::HeaderMap::new();
        h.insert(
            axum::http::header::HOST,
            axum::http::HeaderValue::from_static("http://127.0.0.1:5000"),
        );
        assert_eq!(host_of(&h), "127.0.0.1:5000");
        h.insert(
            axum::http::header::HOST,
            axum::http::HeaderValue::from_static("registry.example:443"),
        );
        assert_eq!(host_of(&h), "registry.example:443");
    }
}
