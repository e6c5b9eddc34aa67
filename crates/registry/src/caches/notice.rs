//! What one process tells the others sharing its metadata store about a cache entry its write
//! made stale, so a moved tag or a namespace made private is seen everywhere at once instead of
//! after the entries' lifetime.
//!
//! A notice is a line of text (the store carries it: PostgreSQL's `NOTIFY`, whose payloads are
//! text under 8,000 bytes). Names are percent-free: repository ids and digests are plain, and
//! instance, namespace and tag names cannot hold a tab, which separates the fields.
use super::Caches;
use berth_oci::Digest;

/// The store topic these notices travel on.
pub const TOPIC: &str = "caches";

/// One stale entry (or family of entries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheNotice {
    /// Every instance (a status change, a deletion).
    Instances,
    /// One namespace of an instance.
    Namespace { instance_id: String, name: String },
    /// One repository of an instance (created, deleted, its settings changed).
    Repository { instance_id: String, name: String },
    /// One tag of a repository moved or went.
    Tag { repository_id: i64, tag: String },
    /// Every tag (a manifest deleted with the tags that named it).
    Tags,
    /// A manifest deleted.
    Manifest { repository_id: i64, digest: Digest },
    /// Every cached blob link (a collection pass).
    BlobLinks,
    /// Everything.
    All,
}

impl CacheNotice {
    pub fn encode(&self) -> String {
        match self {
            CacheNotice::Instances => "instances".into(),
            CacheNotice::Namespace { instance_id, name } => {
                format!("namespace\t{instance_id}\t{name}")
            }
            CacheNotice::Repository { instance_id, name } => {
                format!("repository\t{instance_id}\t{name}")
            }
            CacheNotice::Tag { repository_id, tag } => format!("tag\t{repository_id}\t{tag}"),
            CacheNotice::Tags => "tags".into(),
            CacheNotice::Manifest {
                repository_id,
                digest,
            } => format!("manifest\t{repository_id}\t{digest}"),
            CacheNotice::BlobLinks => "blob_links".into(),
            CacheNotice::All => "all".into(),
        }
    }

    /// The notice `text` encodes; `None` for anything else (a newer process's notice kind, which
    /// an older one can only answer by forgetting everything: see [`Caches::apply`]).
    pub fn decode(text: &str) -> Option<CacheNotice> {
        let mut parts = text.split('\t');
        let kind = parts.next()?;
        let mut field = || parts.next();
        let notice = match kind {
            "instances" => CacheNotice::Instances,
            "namespace" => CacheNotice::Namespace {
                instance_id: field()?.to_string(),
                name: field()?.to_string(),
            },
            "repository" => CacheNotice::Repository {
                instance_id: field()?.to_string(),
                name: field()?.to_string(),
            },
            "tag" => CacheNotice::Tag {
                repository_id: field()?.parse().ok()?,
                tag: field()?.to_string(),
            },
            "tags" => CacheNotice::Tags,
            "manifest" => CacheNotice::Manifest {
                repository_id: field()?.parse().ok()?,
                digest: field()?.parse().ok()?,
            },
            "blob_links" => CacheNotice::BlobLinks,
            "all" => CacheNotice::All,
            _ => return None,
        };
        field().is_none().then_some(notice)
    }
}

impl Caches {
    /// Drops what `notice` names. An unreadable notice drops everything: forgetting costs a
    /// few reads, keeping a stale entry could serve a moved tag.
    pub fn apply(&self, notice: Option<&CacheNotice>) {
        match notice {
            Some(CacheNotice::Instances) => self.instances.invalidate_all(),
            Some(CacheNotice::Namespace { instance_id, name }) => {
                self.namespaces
                    .invalidate(&(instance_id.clone(), name.clone()));
                // Repositories carry their namespace's settings.
                self.repositories.invalidate_all();
            }
            Some(CacheNotice::Repository { instance_id, name }) => {
                self.repositories
                    .invalidate(&(instance_id.clone(), name.clone()));
            }
            Some(CacheNotice::Tag { repository_id, tag }) => {
                self.tags.invalidate(&(*repository_id, tag.clone()));
            }
            Some(CacheNotice::Tags) => self.tags.invalidate_all(),
            Some(CacheNotice::Manifest {
                repository_id,
                digest,
            }) => {
                self.manifests.invalidate(&(*repository_id, digest.clone()));
                self.tags.invalidate_all();
            }
            Some(CacheNotice::BlobLinks) => self.blob_links.invalidate_all(),
            Some(CacheNotice::All) | None => self.clear(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_round_trip() {
        let digest = Digest::sha256_of(b"x");
        for n in [
            CacheNotice::Instances,
            CacheNotice::Namespace {
                instance_id: "kcr-1".into(),
                name: "team".into(),
            },
            CacheNotice::Repository {
                instance_id: "kcr-1".into(),
                name: "team/app".into(),
            },
            CacheNotice::Tag {
                repository_id: 7,
                tag: "v1.2".into(),
            },
            CacheNotice::Tags,
            CacheNotice::Manifest {
                repository_id: 7,
                digest,
            },
            CacheNotice::BlobLinks,
            CacheNotice::All,
        ] {
            assert_eq!(CacheNotice::decode(&n.encode()), Some(n));
        }
        for bad in ["", "tag\tx\tv1", "tag\t7", "tag\t7\tv1\textra", "teleport"] {
            assert_eq!(CacheNotice::decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_moved_tag_is_forgotten() {
        let caches = Caches::default();
        let (a, b) = (Digest::sha256_of(b"a"), Digest::sha256_of(b"b"));
        caches.tags.insert((1, "v1".into()), a.clone());
        caches.tags.insert((2, "v1".into()), a);
        caches.apply(CacheNotice::decode("tag\t1\tv1").as_ref());
        assert_eq!(caches.tags.get(&(1, "v1".into())), None);
        assert!(caches.tags.get(&(2, "v1".into())).is_some());
        caches.tags.insert((1, "v1".into()), b);
        caches.apply(None);
        assert_eq!(caches.tags.get(&(2, "v1".into())), None);
    }
}
