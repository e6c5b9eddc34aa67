//! Repository name and tag grammar of the OCI distribution spec.

/// The longest repository name berth accepts (the spec's recommended client limit).
pub const MAX_REPOSITORY_LEN: usize = 255;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("invalid repository name: {0}")]
    Repository(&'static str),
    #[error("invalid tag: {0}")]
    Tag(&'static str),
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// One path component: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn valid_component(c: &[u8]) -> bool {
    let (Some(&first), Some(&last)) = (c.first(), c.last()) else {
        return false;
    };
    if !is_alnum(first) || !is_alnum(last) {
        return false;
    }
    let mut i = 0;
    while i < c.len() {
        let b = c[i];
        if is_alnum(b) {
            i += 1;
            continue;
        }
        // A separator run: one '.', one or two '_', or any number of '-'.
        let start = i;
        while i < c.len() && !is_alnum(c[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == b"." || sep == b"_" || sep == b"__" || sep.iter().all(|&b| b == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// Validates a repository name like `library/alpine`.
pub fn validate_repository(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Repository("empty"));
    }
    if name.len() > MAX_REPOSITORY_LEN {
        return Err(NameError::Repository("longer than 255 characters"));
    }
    if name.split('/').all(|c| valid_component(c.as_bytes())) {
        Ok(())
    } else {
        Err(NameError::Repository(
            "each path component must match [a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*",
        ))
    }
}

/// Validates a tag: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
pub fn validate_tag(tag: &str) -> Result<(), NameError> {
    let b = tag.as_bytes();
    let Some(&first) = b.first() else {
        return Err(NameError::Tag("empty"));
    };
    if b.len() > 128 {
        return Err(NameError::Tag("longer than 128 characters"));
    }
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    if !word(first) || !b[1..].iter().all(|&c| word(c) || c == b'.' || c == b'-') {
        return Err(NameError::Tag(
            "must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names() {
        for ok in [
            "a",
            "library/alpine",
            "a/b/c",
            "my-app",
            "my--app",
            "my_app",
            "my__app",
            "my.app",
            "a0/b1.c2",
            &"a".repeat(255),
        ] {
            assert!(validate_repository(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "A",
            "library/Alpine",
            "..",
            "a/../b",
            "a//b",
            "/a",
            "a/",
            "-a",
            "a-",
            "a___b",
            "a..b",
            "a._b",
            "a b",
            &"a".repeat(256),
        ] {
            assert!(validate_repository(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tags() {
        for ok in ["latest", "v1.0", "_x", "1", "A-b_c.d", &"a".repeat(128)] {
            assert!(validate_tag(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".x", "-x", "a/b", "a:b", &"a".repeat(129), "sha256:abc"] {
            assert!(validate_tag(bad).is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in ".{0,300}") {
            let _ = validate_repository(&s);
            let _ = validate_tag(&s);
        }
    }
}
