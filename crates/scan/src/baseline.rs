//! Baseline risks: named checks on the image config and on the squashed filesystem, each with a
//! stable id, a severity and a remediation text.
use std::collections::BTreeMap;

use serde::Deserialize;

use crate::fs::{EntryKind, FileEntry, Filesystem};
use crate::model::Severity;

/// The parts of an OCI/Docker image config the scanner reads. Every field is optional: configs
/// in the wild omit most of them.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ImageConfig {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub variant: Option<String>,
    #[serde(default)]
    pub config: Option<ContainerConfig>,
    #[serde(default)]
    pub rootfs: Option<RootFs>,
    #[serde(default)]
    pub history: Vec<History>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub env: Option<Vec<String>>,
    #[serde(default)]
    pub exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    pub healthcheck: Option<Healthcheck>,
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Healthcheck {
    #[serde(default)]
    pub test: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RootFs {
    #[serde(default)]
    pub diff_ids: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct History {
    #[serde(default)]
    pub created_by: Option<String>,
    #[serde(default)]
    pub empty_layer: bool,
}

/// A baseline finding before the layer reference is attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub check: &'static Check,
    pub detail: String,
    pub path: Option<String>,
    pub layer: Option<usize>,
    /// History index (for config findings coming from history, e.g. ADD from URL).
    pub history: Option<usize>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Check {
    pub id: &'static str,
    pub name: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    pub remediation: &'static str,
}

pub const NO_USER: Check = Check {
    id: "BERTH-CFG-001",
    name: "no-user",
    title: "Image has no USER: containers run as root by default",
    severity: Severity::Medium,
    remediation: "Add a USER instruction with a non-root user (e.g. `USER 10001`).",
};
pub const ROOT_USER: Check = Check {
    id: "BERTH-CFG-002",
    name: "root-user",
    title: "Image runs as root",
    severity: Severity::High,
    remediation: "Set USER to a non-root user; grant only the capabilities the process needs.",
};
pub const NO_HEALTHCHECK: Check = Check {
    id: "BERTH-CFG-003",
    name: "no-healthcheck",
    title: "Image has no HEALTHCHECK",
    severity: Severity::Low,
    remediation: "Add a HEALTHCHECK instruction, or rely on orchestrator probes and document it.",
};
pub const SECRET_ENV: Check = Check {
    id: "BERTH-CFG-004",
    name: "secret-in-env",
    title: "Secret in an ENV variable",
    severity: Severity::High,
    remediation: "Do not bake secrets into the image; pass them at run time (secrets manager, mounted files).",
};
pub const SECRET_LABEL: Check = Check {
    id: "BERTH-CFG-005",
    name: "secret-in-label",
    title: "Secret in an image label",
    severity: Severity::High,
    remediation: "Remove the secret from LABEL and rotate it: labels are public metadata.",
};
pub const REMOTE_SHELL_PORT: Check = Check {
    id: "BERTH-CFG-006",
    name: "ssh-telnet-port",
    title: "SSH or telnet port exposed",
    severity: Severity::Medium,
    remediation: "Do not run SSH/telnet daemons in containers; use `kubectl exec`/`docker exec` for access.",
};
pub const ADD_URL: Check = Check {
    id: "BERTH-CFG-007",
    name: "add-from-url",
    title: "ADD downloads from a URL",
    severity: Severity::Medium,
    remediation: "Download with curl/wget and verify a checksum, or use `ADD --checksum=`; pin what you fetch.",
};
pub const PRIVATE_KEY: Check = Check {
    id: "BERTH-FS-001",
    name: "private-key",
    title: "Private key in the image",
    severity: Severity::High,
    remediation: "Remove the key from the image and rotate it; mount keys at run time.",
};
pub const CLOUD_CREDENTIALS: Check = Check {
    id: "BERTH-FS-002",
    name: "credentials-file",
    title: "Credentials file in the image",
    severity: Severity::High,
    remediation: "Remove the file (and the layer that added it: deleting in a later layer does not help) and rotate the credentials.",
};
pub const EMPTY_PASSWORD: Check = Check {
    id: "BERTH-FS-003",
    name: "empty-password",
    title: "Account with an empty password in /etc/shadow",
    severity: Severity::High,
    remediation: "Lock the account (`passwd -l USER`) or set a password hash; `*` or `!` disables password login.",
};
pub const SETUID: Check = Check {
    id: "BERTH-FS-004",
    name: "setuid-setgid",
    title: "setuid/setgid binary outside the known list",
    severity: Severity::Medium,
    remediation: "Remove the setuid/setgid bit (`chmod u-s,g-s FILE`) unless the binary needs it; run containers with `no-new-privileges`.",
};
pub const WORLD_WRITABLE: Check = Check {
    id: "BERTH-FS-005",
    name: "world-writable",
    title: "World-writable file or directory",
    severity: Severity::Medium,
    remediation: "Remove write permission for others (`chmod o-w FILE`).",
};
pub const PKG_CACHE: Check = Check {
    id: "BERTH-FS-006",
    name: "package-cache",
    title: "Package-manager cache left in the image",
    severity: Severity::Low,
    remediation: "Clean the cache in the same RUN step (`apt-get clean && rm -rf /var/lib/apt/lists/*`, `apk --no-cache`, `pip --no-cache-dir`, `npm cache clean --force`).",
};

pub const UNSAFE_LAYER_ENTRY: Check = Check {
    id: "BERTH-FS-007",
    name: "unsafe-layer-entry",
    title: "Layer entry leads out of the image root",
    severity: Severity::High,
    remediation: "Rebuild the layer with a standard image builder: no tar entry may lead out of the root with `..`, nor hard-link to such a path. Runtimes refuse such a layer (Docker) or clamp the entry to the root (containerd); crafted ones target extraction bugs to write outside the container. Find out who produced it.",
};

pub const SECRET_FILE: Check = Check {
    id: "BERTH-FS-008",
    name: "secret-in-file",
    title: "Credential in a file",
    severity: Severity::High,
    remediation: "Remove the credential from the image (and the layer that added it: deleting in a later layer does not help), rotate it, and pass it at run time.",
};

pub const ALL_CHECKS: &[&Check] = &[
    &NO_USER,
    &ROOT_USER,
    &NO_HEALTHCHECK,
    &SECRET_ENV,
    &SECRET_LABEL,
    &REMOTE_SHELL_PORT,
    &ADD_URL,
    &PRIVATE_KEY,
    &CLOUD_CREDENTIALS,
    &EMPTY_PASSWORD,
    &SETUID,
    &WORLD_WRITABLE,
    &PKG_CACHE,
    &UNSAFE_LAYER_ENTRY,
    &SECRET_FILE,
];

const SECRET_WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "TOKEN",
    "API_KEY",
    "APIKEY",
    "ACCESS_KEY",
    "PRIVATE_KEY",
    "CREDENTIAL",
    "AUTH_KEY",
];
const NOT_SECRET_SUFFIXES: &[&str] = &[
    "_FILE",
    "_PATH",
    "_DIR",
    "_URL",
    "_HOST",
    "_PORT",
    "_USER",
    "_USERNAME",
    "_NAME",
    "_LENGTH",
    "_TTL",
    "_EXPIRY",
    "_TIMEOUT",
];

fn looks_like_secret_value(v: &str) -> bool {
    let v = v.trim();
    (v.starts_with("AKIA")
        && v.len() == 20
        && v.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()))
        || v.starts_with("ghp_")
        || v.starts_with("github_pat_")
        || v.starts_with("glpat-")
        || v.starts_with("xoxb-")
        || v.starts_with("xoxp-")
        || v.starts_with("sk_live_")
        || v.contains("PRIVATE KEY-----")
}

/// Whether `KEY=value` (ENV) or a label carries a secret. Returns a redacted description.
pub fn secret_in(key: &str, value: &str) -> Option<String> {
    let upper = key.to_ascii_uppercase();
    let named = SECRET_WORDS.iter().any(|w| upper.contains(w))
        && !NOT_SECRET_SUFFIXES.iter().any(|s| upper.ends_with(s));
    let value_trim = value.trim();
    let placeholder = value_trim.is_empty()
        || value_trim.starts_with('$')
        || matches!(
            value_trim.to_ascii_lowercase().as_str(),
            "changeme" | "none" | "null" | "false" | "true" | "<secret>" | "xxx"
        );
    if (named && !placeholder) || looks_like_secret_value(value_trim) {
        return Some(format!("{key}={}", redact(value_trim)));
    }
    None
}

fn redact(v: &str) -> String {
    let shown: String = v.chars().take(4).collect();
    format!("{shown}… ({} chars, redacted)", v.chars().count())
}

pub fn config_checks(cfg: &ImageConfig) -> Vec<Finding> {
    let mut out = Vec::new();
    let mk = |check: &'static Check, detail: String| Finding {
        check,
        detail,
        path: None,
        layer: None,
        history: None,
    };
    let c = cfg.config.clone().unwrap_or_default();
    match c.user.as_deref().map(str::trim) {
        None | Some("") => out.push(mk(&NO_USER, "config.User is empty".into())),
        Some(u) => {
            let name = u.split(':').next().unwrap_or(u);
            if name == "root" || name == "0" {
                out.push(mk(&ROOT_USER, format!("config.User is {u:?}")));
            }
        }
    }
    let hc = c.healthcheck.as_ref().and_then(|h| h.test.as_ref());
    if hc.is_none_or(|t| t.is_empty() || t.first().map(String::as_str) == Some("NONE")) {
        out.push(mk(&NO_HEALTHCHECK, "config.Healthcheck is not set".into()));
    }
    for kv in c.env.iter().flatten() {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        if let Some(d) = secret_in(k, v) {
            out.push(mk(&SECRET_ENV, d));
        }
    }
    for (k, v) in c.labels.iter().flatten() {
        if let Some(d) = secret_in(k, v) {
            out.push(mk(&SECRET_LABEL, d));
        }
    }
    for port in c.exposed_ports.iter().flat_map(|p| p.keys()) {
        let num = port.split('/').next().unwrap_or(port);
        if num == "22" || num == "23" {
            out.push(mk(&REMOTE_SHELL_PORT, format!("EXPOSE {port}")));
        }
    }
    for (i, h) in cfg.history.iter().enumerate() {
        let Some(cb) = h.created_by.as_deref() else {
            continue;
        };
        if add_from_url(cb) {
            out.push(Finding {
                history: Some(i),
                ..mk(&ADD_URL, cb.chars().take(300).collect())
            });
        }
    }
    out
}

fn add_from_url(created_by: &str) -> bool {
    let s = created_by.trim_start_matches("/bin/sh -c #(nop) ").trim();
    let mut words = s.split_whitespace();
    if words.next() != Some("ADD") {
        return false;
    }
    words.any(|w| w.starts_with("http://") || w.starts_with("https://"))
}

/// Credentials files, by path.
pub fn is_credential_path(path: &str) -> bool {
    credential_kind(path).is_some()
}

fn credential_kind(path: &str) -> Option<&'static str> {
    let base = path.rsplit('/').next().unwrap_or(path);
    if path.ends_with("/.aws/credentials") {
        Some("AWS credentials")
    } else if path.ends_with("/.config/gcloud/application_default_credentials.json")
        || path.ends_with("/.config/gcloud/credentials.db")
    {
        Some("Google Cloud credentials")
    } else if path.ends_with("/.azure/accessTokens.json")
        || path.ends_with("/.azure/msal_token_cache.json")
    {
        Some("Azure credentials")
    } else if path.ends_with("/.docker/config.json") {
        Some("Docker registry credentials")
    } else if base == ".git-credentials" {
        Some("git credentials")
    } else if base == ".npmrc" || base == ".pypirc" || base == ".netrc" {
        Some("package registry credentials")
    } else if path.ends_with("/.kube/config") {
        Some("Kubernetes credentials")
    } else {
        None
    }
}

/// Whether a credentials file actually holds a credential (a docker config without `auth`, an
/// `.npmrc` with only a registry URL, are fine).
fn holds_credential(path: &str, content: &[u8]) -> bool {
    let text = String::from_utf8_lossy(content);
    let base = path.rsplit('/').next().unwrap_or(path);
    match base {
        "config.json" => text.contains("\"auth\"") || text.contains("\"identitytoken\""),
        ".npmrc" => {
            text.contains("_authToken") || text.contains("_auth") || text.contains("_password")
        }
        ".pypirc" | ".netrc" => text.contains("password"),
        "config" => {
            text.contains("token:")
                || text.contains("client-key-data")
                || text.contains("password:")
        }
        "credentials" => {
            text.contains("aws_secret_access_key") || text.contains("aws_session_token")
        }
        _ => !content.is_empty(),
    }
}

const KNOWN_SETUID: &[&str] = &[
    "/bin/su",
    "/usr/bin/su",
    "/bin/mount",
    "/usr/bin/mount",
    "/bin/umount",
    "/usr/bin/umount",
    "/bin/ping",
    "/usr/bin/ping",
    "/usr/bin/passwd",
    "/usr/bin/chsh",
    "/usr/bin/chfn",
    "/usr/bin/gpasswd",
    "/usr/bin/newgrp",
    "/usr/bin/chage",
    "/usr/bin/expiry",
    "/usr/bin/sudo",
    "/usr/bin/pkexec",
    "/usr/bin/crontab",
    "/usr/bin/ssh-agent",
    "/usr/bin/wall",
    "/usr/bin/write",
    "/usr/bin/bsd-write",
    "/usr/bin/at",
    "/usr/bin/newuidmap",
    "/usr/bin/newgidmap",
    "/usr/bin/dotlockfile",
    "/sbin/unix_chkpwd",
    "/usr/sbin/unix_chkpwd",
    "/usr/sbin/pam_extrausers_chkpwd",
    "/usr/lib/openssh/ssh-keysign",
    "/usr/libexec/openssh/ssh-keysign",
    "/usr/lib/dbus-1.0/dbus-daemon-launch-helper",
    "/usr/libexec/dbus-daemon-launch-helper",
    "/bin/bbsuid",
    "/usr/sbin/userhelper",
    "/usr/libexec/utempter/utempter",
    "/usr/lib/x86_64-linux-gnu/utempter/utempter",
    "/usr/bin/fusermount",
    "/usr/bin/fusermount3",
    "/usr/sbin/postdrop",
    "/usr/sbin/postqueue",
];

const SYSTEM_PREFIXES: &[&str] = &[
    "/bin/", "/sbin/", "/usr/", "/lib/", "/lib64/", "/lib32/", "/etc/", "/boot/",
];

/// Where world-writable is the point: scratch directories (their directories carry the sticky
/// bit and are skipped by that already; files in them are anyone's by design) and pseudo
/// filesystems a runtime mounts over.
const SCRATCH_PREFIXES: &[&str] = &[
    "/tmp/",
    "/var/tmp/",
    "/dev/shm/",
    "/run/lock/",
    "/var/lock/",
    "/dev/",
    "/proc/",
    "/sys/",
];

struct CacheDir {
    dir: &'static str,
    what: &'static str,
    skip: &'static [&'static str],
}

const CACHES: &[CacheDir] = &[
    CacheDir {
        dir: "/var/cache/apt/archives",
        what: "apt package archives",
        skip: &["lock", "partial"],
    },
    CacheDir {
        dir: "/var/lib/apt/lists",
        what: "apt package lists",
        skip: &["lock", "partial", "auxfiles"],
    },
    CacheDir {
        dir: "/var/cache/apk",
        what: "apk cache",
        skip: &[],
    },
    CacheDir {
        dir: "/var/cache/yum",
        what: "yum cache",
        skip: &[],
    },
    CacheDir {
        dir: "/var/cache/dnf",
        what: "dnf cache",
        skip: &[],
    },
    CacheDir {
        dir: "/var/cache/zypp",
        what: "zypper cache",
        skip: &[],
    },
    CacheDir {
        dir: "/root/.cache/pip",
        what: "pip cache",
        skip: &[],
    },
    CacheDir {
        dir: "/root/.npm/_cacache",
        what: "npm cache",
        skip: &[],
    },
    CacheDir {
        dir: "/usr/local/share/.cache/yarn",
        what: "yarn cache",
        skip: &[],
    },
    CacheDir {
        dir: "/root/.cargo/registry",
        what: "cargo registry cache",
        skip: &[],
    },
];

fn fs_finding(check: &'static Check, e: &FileEntry, detail: String) -> Finding {
    Finding {
        check,
        detail,
        path: Some(e.path.clone()),
        layer: e.layer,
        history: None,
    }
}

/// The finding for a tar entry skipped because it leads out of the root (`layer::read_layer`).
pub fn unsafe_entry(entry: &crate::fs::UnsafeEntry, layer: usize) -> Finding {
    let detail = match &entry.link_target {
        Some(target) => format!(
            "hard link {:?} -> {target:?}: the target leads out of the image root; entry skipped",
            entry.path
        ),
        None => format!(
            "tar entry {:?} leads out of the image root with '..'; entry skipped",
            entry.path
        ),
    };
    Finding {
        check: &UNSAFE_LAYER_ENTRY,
        detail,
        path: Some(entry.path.clone()),
        layer: Some(layer),
        history: None,
    }
}

pub fn filesystem_checks(fs: &Filesystem) -> Vec<Finding> {
    let mut out = Vec::new();
    for e in fs.iter() {
        if let Some(d) = &e.derived {
            for s in &d.secrets {
                let sev_detail = if s.contains("ENCRYPTED") {
                    format!("{s} (passphrase-protected)")
                } else {
                    s.clone()
                };
                out.push(fs_finding(&PRIVATE_KEY, e, sev_detail));
            }
            for t in &d.tokens {
                out.push(fs_finding(&SECRET_FILE, e, t.clone()));
            }
        }
        if e.kind == EntryKind::File {
            if let Some(kind) = credential_kind(&e.path)
                && e.content
                    .as_deref()
                    .is_some_and(|c| holds_credential(&e.path, c))
            {
                out.push(fs_finding(&CLOUD_CREDENTIALS, e, kind.to_string()));
            }
            if e.mode & 0o6000 != 0 && !KNOWN_SETUID.contains(&e.path.as_str()) {
                let bits = match (e.mode & 0o4000 != 0, e.mode & 0o2000 != 0) {
                    (true, true) => "setuid+setgid",
                    (true, false) => "setuid",
                    _ => "setgid",
                };
                out.push(fs_finding(
                    &SETUID,
                    e,
                    format!(
                        "{bits}, mode {:04o}, owner {}:{}",
                        e.mode & 0o7777,
                        e.uid,
                        e.gid
                    ),
                ));
            }
        }
        // Anywhere but scratch locations: an application directory left 0777 (`/app`) lets
        // any process in the container rewrite the code it runs, as a system path does.
        let scratch = SCRATCH_PREFIXES
            .iter()
            .any(|p| e.path.starts_with(p) || e.path == p.trim_end_matches('/'));
        let ww = match e.kind {
            EntryKind::File => e.mode & 0o002 != 0,
            EntryKind::Dir => e.mode & 0o002 != 0 && e.mode & 0o1000 == 0,
            _ => false,
        };
        if !scratch && ww {
            let system = SYSTEM_PREFIXES.iter().any(|p| e.path.starts_with(p));
            out.push(fs_finding(
                &WORLD_WRITABLE,
                e,
                format!(
                    "mode {:04o}{}",
                    e.mode & 0o7777,
                    if system { ", in a system path" } else { "" }
                ),
            ));
        }
    }
    if let Some(e) = fs.get("/etc/shadow")
        && let Some(text) = e.content.as_deref()
    {
        for line in String::from_utf8_lossy(text).lines() {
            let mut f = line.split(':');
            if let (Some(user), Some("")) = (f.next(), f.next())
                && !user.is_empty()
            {
                out.push(fs_finding(
                    &EMPTY_PASSWORD,
                    e,
                    format!("user {user:?} has an empty password field"),
                ));
            }
        }
    }
    for c in CACHES {
        let files: Vec<&FileEntry> = fs
            .under(c.dir)
            .filter(|e| e.kind == EntryKind::File && e.size > 0)
            .filter(|e| {
                let rel = &e.path[c.dir.len() + 1..];
                let first = rel.split('/').next().unwrap_or(rel);
                !c.skip.contains(&first)
            })
            .collect();
        if let Some(first) = files.first() {
            let bytes: u64 = files.iter().map(|e| e.size).sum();
            let mut f = fs_finding(
                &PKG_CACHE,
                first,
                format!("{}: {} files, {} bytes", c.what, files.len(), bytes),
            );
            f.path = Some(c.dir.to_string());
            out.push(f);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_env() {
        assert!(secret_in("DB_PASSWORD", "hunter2").is_some());
        assert!(secret_in("DB_PASSWORD_FILE", "/run/secrets/db").is_none());
        assert!(secret_in("GPG_KEY", "A035C8C19219BA821ECEA86B64E628F8D684696D").is_none());
        assert!(secret_in("X", "AKIAIOSFODNN7EXAMPLE").is_some());
        assert!(
            !secret_in("API_TOKEN", "abcdefgh")
                .unwrap_or_default()
                .contains("efgh")
        );
    }

    #[test]
    fn add_url_detection() {
        assert!(add_from_url("ADD https://example.com/x.tgz /x # buildkit"));
        assert!(add_from_url("/bin/sh -c #(nop) ADD http://x/y /y"));
        assert!(!add_from_url("/bin/sh -c #(nop) ADD file:abc in / "));
        assert!(!add_from_url("RUN curl https://x"));
    }
}
