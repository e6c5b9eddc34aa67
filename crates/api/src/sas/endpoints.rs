//! Where an instance's images are pulled from: `EndPointList`, `Endpoints`, `InternetURLs` and
//! `VpcURLs` of ListImageRisk.
//!
//! - **internet**: the instance's OCI endpoint. The default instance's is `public_url`'s host
//!   when configured, else the Host the image-risk request came to (berth serves every surface
//!   on one listener, so that is where the client reaches it); another instance's is
//!   `<instance>.<management.base_domain>`, and it has none without a base domain.
//! - **intranet**: the private DNS names of its `Running` internal-endpoint records and the
//!   addresses (`EniLBIp`) of its `Running` internal endpoints.
use std::collections::HashMap;

use berth_store::{DnsStatus, EndpointStatus, StoreError};
use serde::Serialize;

use crate::state::App;

/// `EndPointList[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndPoint {
    #[serde(rename = "Domains")]
    pub domains: Vec<String>,
    /// `internet` or `intranet`.
    #[serde(rename = "Type")]
    pub kind: &'static str,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstanceEndpoints {
    /// `http` or `https`.
    pub scheme: String,
    pub internet: Vec<String>,
    pub intranet: Vec<String>,
}

impl InstanceEndpoints {
    pub fn list(&self) -> Vec<EndPoint> {
        let mut out = Vec::new();
        if !self.internet.is_empty() {
            out.push(EndPoint {
                domains: self.internet.clone(),
                kind: "internet",
            });
        }
        if !self.intranet.is_empty() {
            out.push(EndPoint {
                domains: self.intranet.clone(),
                kind: "intranet",
            });
        }
        out
    }

    /// `scheme://domain` of the internet endpoint, or "".
    pub fn endpoint(&self) -> String {
        self.internet
            .first()
            .map(|d| format!("{}://{d}", self.scheme))
            .unwrap_or_default()
    }
}

/// `(scheme, host[:port])` of a configured public URL.
fn public_host(url: &str) -> Option<(String, String)> {
    let parsed = url::Url::parse(url).ok()?;
    let host = parsed.host_str()?;
    let authority = match parsed.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    };
    Some((parsed.scheme().to_string(), authority))
}

/// The endpoints of instances, each looked up once per request.
pub struct EndpointCache<'a> {
    app: &'a App,
    request_host: &'a str,
    known: HashMap<String, InstanceEndpoints>,
}

impl<'a> EndpointCache<'a> {
    pub fn new(app: &'a App, request_host: &'a str) -> Self {
        EndpointCache {
            app,
            request_host,
            known: HashMap::new(),
        }
    }

    pub async fn of(
        &mut self,
        instance_id: &str,
        instance_name: &str,
    ) -> Result<InstanceEndpoints, StoreError> {
        if let Some(e) = self.known.get(instance_id) {
            return Ok(e.clone());
        }
        let config = &self.app.config;
        let is_default = instance_id == self.app.default_instance.id;
        let public = config.public_url.as_deref().and_then(public_host);
        let mut endpoints = InstanceEndpoints {
            scheme: public
                .as_ref()
                .map_or_else(|| "http".to_string(), |(s, _)| s.clone()),
            ..Default::default()
        };
        match (&config.management.base_domain, is_default) {
            (_, true) => endpoints.internet.push(
                public
                    .map(|(_, h)| h)
                    .unwrap_or_else(|| self.request_host.to_string()),
            ),
            (Some(base), false) => endpoints
                .internet
                .push(format!("{instance_name}.{}", base.trim_end_matches('.'))),
            (None, false) => {}
        }
        for dns in self
            .app
            .meta
            .list_endpoint_dns(instance_id, None, None)
            .await?
        {
            if dns.status == DnsStatus::Running && !endpoints.intranet.contains(&dns.domain) {
                endpoints.intranet.push(dns.domain);
            }
        }
        for e in self.app.meta.list_endpoints(instance_id).await? {
            if e.status == EndpointStatus::Running && !endpoints.intranet.contains(&e.ip_address) {
                endpoints.intranet.push(e.ip_address);
            }
        }
        endpoints.internet.retain(|d| !d.is_empty());
        self.known
            .insert(instance_id.to_string(), endpoints.clone());
        Ok(endpoints)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_urls_give_scheme_and_authority() {
        assert_eq!(
            public_host("https://registry.example.com"),
            Some(("https".into(), "registry.example.com".into()))
        );
        assert_eq!(
            public_host("http://10.0.0.1:5000/"),
            Some(("http".into(), "10.0.0.1:5000".into()))
        );
        assert_eq!(public_host("not a url"), None);
        let e = InstanceEndpoints {
            scheme: "https".into(),
            internet: vec!["r.example".into()],
            intranet: vec![],
        };
        assert_eq!(e.endpoint(), "https://r.example");
        assert_eq!(e.list().len(), 1);
    }
}
