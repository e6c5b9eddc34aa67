//! Image references: `[registry/]repository[:tag][@digest]`, normalised like Docker does.
use crate::digest::Digest;
use crate::name::{validate_repository, validate_tag};
use std::fmt;
use std::str::FromStr;

pub const DOCKER_HUB: &str = "docker.io";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Registry host with optional port, e.g. `localhost:5000`; `docker.io` when none was given.
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("invalid image reference {0:?}: {1}")]
    Invalid(String, String),
}

impl Reference {
    /// The tag or digest to ask the registry for (`latest` when neither was given).
    pub fn object(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".to_string(),
        }
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |why: &str| ReferenceError::Invalid(s.to_string(), why.to_string());
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => (
                r,
                Some(d.parse::<Digest>().map_err(|e| err(&e.to_string()))?),
            ),
            None => (s, None),
        };
        // A tag follows the last ':' that comes after the last '/' (a port precedes a '/').
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(t) = tag {
            validate_tag(t).map_err(|e| err(&e.to_string()))?;
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, remainder))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_string(), remainder.to_string())
            }
            _ => (DOCKER_HUB.to_string(), name.to_string()),
        };
        let repository = if registry == DOCKER_HUB && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        let (host, port) = registry.split_once(':').unwrap_or((&registry, "0"));
        if host.is_empty() || port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err("invalid registry host"));
        }
        validate_repository(&repository).map_err(|e| err(&e.to_string()))?;
        Ok(Reference {
            registry,
            repository,
            tag: tag.map(str::to_string),
            digest,
        })
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let r: Reference = "alpine".parse().unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            ("docker.io", "library/alpine")
        );
        assert_eq!(r.object(), "latest");
        let r: Reference = "localhost:5000/team/app:v1".parse().unwrap();
        assert_eq!(r.registry, "localhost:5000");
        assert_eq!(r.repository, "team/app");
        assert_eq!(r.tag.as_deref(), Some("v1"));
        let d = Digest::sha256_of(b"");
        let r: Reference = format!("127.0.0.1:5000/app:v2@{d}").parse().unwrap();
        assert_eq!(r.object(), d.to_string());
        assert_eq!(r.to_string(), format!("127.0.0.1:5000/app:v2@{d}"));
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "Upper/case",
            "a/:tag",
            "app@sha256:zz",
            "app:bad/tag",
            "host:5000/",
        ] {
            assert!(bad.parse::<Reference>().is_err(), "{bad}");
        }
    }
}
