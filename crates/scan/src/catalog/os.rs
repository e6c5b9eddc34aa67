//! OS detection: `/etc/os-release` (or `/usr/lib/os-release`), then the Alpine, Debian and Red Hat
//! release files when os-release is missing.
use crate::fs::Filesystem;
use crate::model::Distro;

pub fn parse_os_release(text: &str) -> Distro {
    let mut d = Distro::default();
    for line in text.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim().trim_matches('"').trim_matches('\'').to_string();
        match k.trim() {
            "ID" => d.id = v.to_ascii_lowercase(),
            "VERSION_ID" => d.version_id = v,
            "VERSION_CODENAME" => d.version_codename = v,
            "PRETTY_NAME" => d.pretty_name = v,
            "ID_LIKE" => d.id_like = v.split_whitespace().map(str::to_string).collect(),
            _ => {}
        }
    }
    d
}

pub fn detect(fs: &Filesystem) -> Option<Distro> {
    for p in ["/etc/os-release", "/usr/lib/os-release"] {
        if let Some(b) = fs.read(p) {
            let d = parse_os_release(&String::from_utf8_lossy(b));
            if !d.id.is_empty() {
                return Some(fill_debian_point_release(fs, d));
            }
        }
    }
    if let Some(b) = fs.read("/etc/alpine-release") {
        let v = String::from_utf8_lossy(b).trim().to_string();
        return Some(Distro {
            id: "alpine".into(),
            pretty_name: format!("Alpine Linux v{v}"),
            version_id: v,
            ..Default::default()
        });
    }
    if let Some(b) = fs.read("/etc/debian_version") {
        let v = String::from_utf8_lossy(b).trim().to_string();
        let major = v.split('.').next().unwrap_or("").to_string();
        if major.chars().all(|c| c.is_ascii_digit()) && !major.is_empty() {
            return Some(Distro {
                id: "debian".into(),
                pretty_name: format!("Debian GNU/Linux {v}"),
                version_id: major,
                ..Default::default()
            });
        }
    }
    for p in [
        "/etc/redhat-release",
        "/etc/centos-release",
        "/etc/system-release",
    ] {
        if let Some(b) = fs.read(p) {
            let text = String::from_utf8_lossy(b).trim().to_string();
            let lower = text.to_ascii_lowercase();
            let id = if lower.starts_with("centos") {
                "centos"
            } else if lower.starts_with("fedora") {
                "fedora"
            } else if lower.starts_with("rocky") {
                "rocky"
            } else if lower.starts_with("almalinux") {
                "almalinux"
            } else {
                "rhel"
            };
            let version = text
                .split_whitespace()
                .find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))
                .unwrap_or("")
                .to_string();
            return Some(Distro {
                id: id.into(),
                version_id: version,
                pretty_name: text,
                ..Default::default()
            });
        }
    }
    None
}

/// Debian's os-release lacks the point release; keep VERSION_ID as the major (what advisories use).
fn fill_debian_point_release(_fs: &Filesystem, d: Distro) -> Distro {
    d
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_os_release() {
        let d = super::parse_os_release(
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n",
        );
        assert_eq!(
            (
                d.id.as_str(),
                d.version_id.as_str(),
                d.version_codename.as_str()
            ),
            ("debian", "12", "bookworm")
        );
    }
}
