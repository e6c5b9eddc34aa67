//! Image references as written in pod specs, and the `imageID` runtimes report.
//!
//! References are parsed by `berth_oci::Reference` (Docker's normalisation: `nginx` is
//! `docker.io/library/nginx`). `status.containerStatuses[].imageID` comes in these forms:
//!
//! | runtime | form | meaning |
//! | --- | --- | --- |
//! | dockershim, cri-dockerd | `docker-pullable://nginx@sha256:…` | manifest digest the image was pulled by |
//! | dockershim, cri-dockerd | `docker://sha256:…` | local image ID (config digest): built or loaded locally |
//! | containerd, CRI-O | `docker.io/library/nginx@sha256:…` | manifest digest |
//! | containerd, CRI-O | `sha256:…` | local image ID (config digest) |
//!
//! A `repo@digest` form gives the manifest digest, which is what a registry stores and scans;
//! a bare digest is the image's config digest, a different number for the same image, kept
//! apart so the two are never confused (see [`crate::Container::risk_digest`]).
use crate::model::{ImageName, ImageRef};
use berth_oci::{Digest, Reference};

/// What an `imageID` identifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageIdentity {
    /// A manifest digest (`repo@sha256:…`), with the repository as the runtime wrote it.
    Manifest { repository: String, digest: Digest },
    /// A local image ID, the config digest (`sha256:…`).
    ImageId(Digest),
}

/// Parses an image reference as written. Never fails: a reference that does not parse is kept
/// as written with no name.
pub fn parse_reference(written: &str) -> ImageRef {
    let name = written.parse::<Reference>().ok().map(|r| ImageName {
        registry: r.registry,
        repository: r.repository,
        tag: r.tag,
        digest: r.digest,
    });
    ImageRef {
        written: written.to_string(),
        name,
    }
}

/// Parses a container status's `imageID`; `None` for an empty or unrecognised value (a pending
/// container has none; an unsupported digest algorithm is not a digest berth can look up).
pub fn parse_image_id(image_id: &str) -> Option<ImageIdentity> {
    let s = strip_scheme(image_id.trim());
    match s.rsplit_once('@') {
        Some((repository, digest)) => {
            if repository.is_empty() {
                return None;
            }
            let digest = digest.parse::<Digest>().ok()?;
            Some(ImageIdentity::Manifest {
                repository: repository.to_string(),
                digest,
            })
        }
        None => s.parse::<Digest>().ok().map(ImageIdentity::ImageId),
    }
}

/// `docker-pullable://x` → `x`. A scheme is letters, digits, `+`, `-` and `.` before `://`.
fn strip_scheme(s: &str) -> &str {
    match s.split_once("://") {
        Some((scheme, rest))
            if !scheme.is_empty()
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b)) =>
        {
            rest
        }
        _ => s,
    }
}

/// The digests of a container: (manifest digest, image ID), from its reported `imageID` first
/// and then from a digest its reference pins.
pub fn resolve_digests(reference: &ImageRef, image_id: &str) -> (Option<Digest>, Option<Digest>) {
    let pinned = reference.name.as_ref().and_then(|n| n.digest.clone());
    match parse_image_id(image_id) {
        Some(ImageIdentity::Manifest { digest, .. }) => (Some(digest), None),
        Some(ImageIdentity::ImageId(id)) => (pinned, Some(id)),
        None => (pinned, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HEX: &str = "4c5f2d6e1b3a29f07d8e6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a392817";

    fn d() -> Digest {
        format!("sha256:{HEX}").parse().unwrap()
    }

    #[test]
    fn image_id_forms() {
        let manifest = |repo: &str| ImageIdentity::Manifest {
            repository: repo.to_string(),
            digest: d(),
        };
        assert_eq!(
            parse_image_id(&format!("docker-pullable://nginx@sha256:{HEX}")),
            Some(manifest("nginx"))
        );
        assert_eq!(
            parse_image_id(&format!("docker.io/library/nginx@sha256:{HEX}")),
            Some(manifest("docker.io/library/nginx"))
        );
        assert_eq!(
            parse_image_id(&format!("registry.local:5000/team/app@sha256:{HEX}")),
            Some(manifest("registry.local:5000/team/app"))
        );
        assert_eq!(
            parse_image_id(&format!("sha256:{HEX}")),
            Some(ImageIdentity::ImageId(d()))
        );
        assert_eq!(
            parse_image_id(&format!("docker://sha256:{HEX}")),
            Some(ImageIdentity::ImageId(d()))
        );
        for bad in [
            "",
            "nginx",
            "sha256:abc",
            &format!("@sha256:{HEX}"),
            &format!("md5:{HEX}"),
            "docker-pullable://",
            &format!("nginx@sha256:{}", HEX.to_uppercase()),
        ] {
            assert_eq!(parse_image_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn references() {
        let r = parse_reference("nginx:1.27");
        let n = r.name.unwrap();
        assert_eq!(n.registry, "docker.io");
        assert_eq!(n.repository, "library/nginx");
        assert_eq!((n.repo_namespace(), n.repo_name()), ("library", "nginx"));
        assert_eq!(n.tag.as_deref(), Some("1.27"));
        let n = parse_reference(&format!("ghcr.io/org/team/app:v1@sha256:{HEX}"))
            .name
            .unwrap();
        assert_eq!((n.repo_namespace(), n.repo_name()), ("org", "team/app"));
        assert_eq!(n.digest, Some(d()));
        let bad = parse_reference("Not A Reference");
        assert_eq!(bad.written, "Not A Reference");
        assert_eq!(bad.name, None);
    }

    #[test]
    fn status_digest_wins_over_pinned_and_image_id_is_apart() {
        let other = Digest::sha256_of(b"other");
        let pinned = parse_reference(&format!("nginx@{other}"));
        assert_eq!(
            resolve_digests(&pinned, &format!("nginx@sha256:{HEX}")),
            (Some(d()), None)
        );
        assert_eq!(
            resolve_digests(&pinned, &format!("sha256:{HEX}")),
            (Some(other.clone()), Some(d()))
        );
        assert_eq!(resolve_digests(&pinned, ""), (Some(other), None));
        assert_eq!(resolve_digests(&parse_reference("nginx"), ""), (None, None));
    }

    proptest! {
        #[test]
        fn image_id_never_panics(s in "\\PC{0,300}") {
            let _ = parse_image_id(&s);
            let _ = parse_reference(&s);
        }

        #[test]
        fn image_id_round_trips(
            scheme in prop::option::of("docker-pullable|docker|[a-z]{1,8}"),
            repo in prop::option::of("[a-z0-9]{1,10}(/[a-z0-9._-]{1,10}){0,3}"),
            hex in "[0-9a-f]{64}",
        ) {
            let digest: Digest = format!("sha256:{hex}").parse().unwrap();
            let mut s = String::new();
            if let Some(scheme) = &scheme {
                s.push_str(scheme);
                s.push_str("://");
            }
            if let Some(repo) = &repo {
                s.push_str(repo);
                s.push('@');
            }
            s.push_str(&digest.to_string());
            let expected = match repo {
                Some(repository) => ImageIdentity::Manifest { repository, digest },
                None => ImageIdentity::ImageId(digest),
            };
            prop_assert_eq!(parse_image_id(&s), Some(expected));
        }

        #[test]
        fn reference_keeps_what_was_written(
            host in prop::option::of("[a-z]{1,8}\\.(io|com)(:[0-9]{2,5})?"),
            path in "[a-z0-9]{1,8}(/[a-z0-9]{1,8}){0,2}",
            tag in prop::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}"),
            hex in prop::option::of("[0-9a-f]{64}"),
        ) {
            let mut s = String::new();
            if let Some(h) = &host { s.push_str(h); s.push('/'); }
            s.push_str(&path);
            if let Some(t) = &tag { s.push(':'); s.push_str(t); }
            if let Some(h) = &hex { s.push_str("@sha256:"); s.push_str(h); }
            let r = parse_reference(&s);
            prop_assert_eq!(&r.written, &s);
            let name = r.name.expect("a well-formed reference parses");
            prop_assert_eq!(name.tag, tag);
            prop_assert_eq!(name.digest.map(|d| d.hex().to_string()), hex);
            prop_assert!(name.repository.ends_with(&path));
        }
    }
}
