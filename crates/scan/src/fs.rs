//! The squashed image filesystem: what a container would see after every layer is applied, with
//! whiteouts and opaque directories honoured. It holds metadata for every path, the content of
//! the few files catalogers read afterwards (package databases, manifests), and what the
//! per-file analysers found while the layer streamed past (binaries, archives, malware hits).
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::model::{Package, Severity};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink(String),
    /// Hard link to another path (absolute, normalised).
    Hardlink(String),
    Other,
}

/// A malware hit on one file, before it is tied to a location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalwareHit {
    pub rule: String,
    pub severity: Severity,
    pub description: String,
    /// The archive member that matched (`dir/clam.exe`, `inner.zip!clam.exe`), for a hit
    /// inside a zip or jar; `None` for the file itself.
    pub member: Option<String>,
    /// The member's SHA-256 (the file's is `Derived::sha256`).
    pub member_sha256: Option<[u8; 32]>,
}

/// What the streaming analysers learnt about one file.
#[derive(Debug, Clone, Default)]
pub struct Derived {
    pub sha256: Option<[u8; 32]>,
    /// Packages found inside the file (Go build info, cargo-auditable, Java archives); their
    /// locations are filled in from the entry when the report is built.
    pub packages: Vec<Package>,
    pub malware: Vec<MalwareHit>,
    /// Kinds of secrets found in the content (e.g. "RSA private key").
    pub secrets: Vec<String>,
    /// Credentials found by the secret rules, masked ("GitHub token ghp_…wxyz (line 3)").
    pub tokens: Vec<String>,
    /// Problems met while analysing (a corrupt jar) - reported as warnings.
    pub warnings: Vec<String>,
}

impl Derived {
    pub fn is_empty(&self) -> bool {
        self.packages.is_empty()
            && self.malware.is_empty()
            && self.secrets.is_empty()
            && self.tokens.is_empty()
            && self.warnings.is_empty()
    }
}

#[derive(Debug, Clone)]
pub struct FileEntry {
    /// Absolute, normalised (`/etc/passwd`).
    pub path: String,
    /// Index of the layer that wrote this entry (None for a `dir:` source).
    pub layer: Option<usize>,
    pub kind: EntryKind,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
    /// Kept only for files catalogers read after the layers are applied.
    pub content: Option<Arc<Vec<u8>>>,
    pub derived: Option<Arc<Derived>>,
}

/// One change a layer makes to the filesystem.
#[derive(Debug, Clone)]
pub enum Change {
    Upsert(FileEntry),
    /// `.wh.NAME`: removes PATH (and everything under it) from lower layers.
    Whiteout(String),
    /// `.wh..wh..opq`: hides everything lower layers put under DIR.
    Opaque(String),
}

#[derive(Debug, Default)]
pub struct Filesystem {
    entries: BTreeMap<String, FileEntry>,
}

const MAX_SYMLINK_HOPS: usize = 40;

impl Filesystem {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one layer's changes. Per the OCI image spec, whiteouts and opaque markers in a
    /// layer hide only what lower layers put there, whatever their order in the tar.
    pub fn apply_layer(&mut self, changes: Vec<Change>) {
        let mut upserts = Vec::with_capacity(changes.len());
        for change in changes {
            match change {
                Change::Whiteout(path) => self.remove_tree(&path, true),
                Change::Opaque(dir) => self.remove_tree(&dir, false),
                Change::Upsert(e) => upserts.push(e),
            }
        }
        for mut entry in upserts {
            if let EntryKind::Hardlink(target) = &entry.kind
                && let Some(t) = self.entries.get(target)
            {
                entry.content = t.content.clone();
                entry.derived = t.derived.clone();
                entry.size = t.size;
                entry.mode = t.mode;
            }
            // A non-directory replacing a directory hides what was under it.
            if entry.kind != EntryKind::Dir
                && let Some(old) = self.entries.get(&entry.path)
                && old.kind == EntryKind::Dir
            {
                self.remove_tree(&entry.path.clone(), false);
            }
            self.entries.insert(entry.path.clone(), entry);
        }
    }

    /// Removes everything under `path`, and `path` itself when `include_self`.
    fn remove_tree(&mut self, path: &str, include_self: bool) {
        if include_self {
            self.entries.remove(path);
        }
        let prefix = if path == "/" {
            "/".to_string()
        } else {
            format!("{path}/")
        };
        let doomed: Vec<String> = self
            .entries
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k.clone())
            .collect();
        for k in doomed {
            self.entries.remove(&k);
        }
    }

    pub fn insert(&mut self, entry: FileEntry) {
        self.entries.insert(entry.path.clone(), entry);
    }

    pub fn get(&self, path: &str) -> Option<&FileEntry> {
        self.entries.get(path)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &FileEntry> {
        self.entries.values()
    }

    /// Entries under a directory (recursively).
    pub fn under<'a>(&'a self, dir: &str) -> impl Iterator<Item = &'a FileEntry> + 'a {
        let prefix = if dir.ends_with('/') {
            dir.to_string()
        } else {
            format!("{dir}/")
        };
        self.entries
            .range(prefix.clone()..)
            .take_while(move |(k, _)| k.starts_with(&prefix))
            .map(|(_, v)| v)
    }

    /// Looks a path up, following symlinks in every component (at most 40 hops).
    pub fn resolve(&self, path: &str) -> Result<Option<&FileEntry>, String> {
        let mut hops = 0;
        let mut pending: Vec<String> = components(path).into_iter().rev().collect();
        let mut current: Vec<String> = Vec::new();
        while let Some(comp) = pending.pop() {
            if comp == ".." {
                current.pop();
                continue;
            }
            current.push(comp);
            let p = join(&current);
            // Parents missing from the tar are plain directories.
            if let Some(FileEntry {
                kind: EntryKind::Symlink(target),
                ..
            }) = self.entries.get(&p)
            {
                hops += 1;
                if hops > MAX_SYMLINK_HOPS {
                    return Err(format!("symlink loop resolving {path}"));
                }
                current.pop();
                if target.starts_with('/') {
                    current.clear();
                }
                for c in components(target).into_iter().rev() {
                    pending.push(c);
                }
            }
        }
        Ok(self.entries.get(&join(&current)))
    }

    /// Content of a file, following symlinks; None when absent or not kept.
    pub fn read(&self, path: &str) -> Option<&[u8]> {
        match self.resolve(path) {
            Ok(Some(e)) => e.content.as_deref().map(|v| v.as_slice()),
            _ => None,
        }
    }
}

fn components(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .map(str::to_string)
        .collect()
}

fn join(parts: &[String]) -> String {
    if parts.is_empty() {
        "/".into()
    } else {
        format!("/{}", parts.join("/"))
    }
}

/// A tar entry that was not read because extracting it would write outside the image root:
/// its name leads out with `..`, or it is a hard link to such a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsafeEntry {
    /// The entry name as written in the tar (lossy UTF-8, cut at 512 characters).
    pub path: String,
    /// For a hard link: its target as written in the tar.
    pub link_target: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, layer: usize) -> FileEntry {
        FileEntry {
            path: path.into(),
            layer: Some(layer),
            kind: EntryKind::File,
            mode: 0o644,
            uid: 0,
            gid: 0,
            size: 0,
            content: Some(Arc::new(path.as_bytes().to_vec())),
            derived: None,
        }
    }

    fn link(path: &str, target: &str) -> FileEntry {
        FileEntry {
            kind: EntryKind::Symlink(target.into()),
            content: None,
            ..file(path, 0)
        }
    }

    #[test]
    fn whiteout_removes_tree_from_lower_layers_only() {
        let mut fs = Filesystem::new();
        fs.apply_layer(vec![
            Change::Upsert(file("/a/b", 0)),
            Change::Upsert(file("/a/c/d", 0)),
            Change::Upsert(file("/ab", 0)),
        ]);
        fs.apply_layer(vec![
            Change::Upsert(file("/a/new", 1)),
            Change::Whiteout("/a".into()),
        ]);
        assert!(fs.get("/a/b").is_none());
        assert!(fs.get("/a/c/d").is_none());
        assert!(
            fs.get("/ab").is_some(),
            "sibling with a common prefix survives"
        );
        assert!(
            fs.get("/a/new").is_some(),
            "same-layer entries are not whited out"
        );
    }

    #[test]
    fn opaque_dir_hides_lower_content_keeps_dir() {
        let mut fs = Filesystem::new();
        fs.apply_layer(vec![
            Change::Upsert(FileEntry {
                kind: EntryKind::Dir,
                ..file("/d", 0)
            }),
            Change::Upsert(file("/d/x", 0)),
        ]);
        fs.apply_layer(vec![
            Change::Upsert(file("/d/y", 1)),
            Change::Opaque("/d".into()),
        ]);
        assert!(fs.get("/d").is_some());
        assert!(fs.get("/d/x").is_none());
        assert!(fs.get("/d/y").is_some());
    }

    #[test]
    fn resolve_follows_links_and_stops_loops() {
        let mut fs = Filesystem::new();
        fs.insert(file("/usr/lib/os-release", 0));
        fs.insert(link("/etc/os-release", "../usr/lib/os-release"));
        fs.insert(link("/lib", "usr/lib"));
        fs.insert(link("/loop1", "/loop2"));
        fs.insert(link("/loop2", "loop1"));
        assert_eq!(
            fs.read("/etc/os-release"),
            Some(&b"/usr/lib/os-release"[..])
        );
        assert_eq!(
            fs.read("/lib/os-release"),
            Some(&b"/usr/lib/os-release"[..])
        );
        assert!(fs.resolve("/loop1/x").is_err());
    }
}
