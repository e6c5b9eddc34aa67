//! `object_store` errors as [`std::io::Error`]s whose kind the layer and the API act on.
use std::io;

/// Error codes by which S3-compatible servers say the bucket or the disk under it is full
/// (Ceph RGW and AWS quotas, MinIO, and HTTP 507 from any of them).
const FULL: [&str; 4] = [
    "QuotaExceeded",
    "XMinioStorageFull",
    "StorageFull",
    "507 Insufficient Storage",
];

/// Keeps the meaning the layer needs: not found (an upload cancelled meanwhile), already exists
/// (a part or marker another writer made first), storage full (answered with 507).
pub(super) fn to_io(e: object_store::Error) -> io::Error {
    use object_store::Error as E;
    let kind = match &e {
        E::NotFound { .. } => io::ErrorKind::NotFound,
        E::AlreadyExists { .. } | E::Precondition { .. } => io::ErrorKind::AlreadyExists,
        E::PermissionDenied { .. } | E::Unauthenticated { .. } => io::ErrorKind::PermissionDenied,
        E::NotSupported { .. } | E::NotImplemented { .. } => io::ErrorKind::Unsupported,
        _ if says_full(&e.to_string()) => io::ErrorKind::StorageFull,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, e)
}

fn says_full(text: &str) -> bool {
    FULL.iter().any(|code| text.contains(code))
}

#[cfg(test)]
mod tests {
    use super::to_io;
    use std::io::ErrorKind;

    fn generic(text: &str) -> object_store::Error {
        object_store::Error::Generic {
            store: "S3",
            source: text.to_string().into(),
        }
    }

    #[test]
    fn a_full_bucket_keeps_its_meaning() {
        let quota = "Client error with status 403 Forbidden: <Error><Code>QuotaExceeded</Code>";
        assert_eq!(to_io(generic(quota)).kind(), ErrorKind::StorageFull);
        let minio = "<Error><Code>XMinioStorageFull</Code><Message>Storage backend has reached its minimum free drive threshold.</Message></Error>";
        assert_eq!(to_io(generic(minio)).kind(), ErrorKind::StorageFull);
        assert_eq!(
            to_io(generic("Server error: 500 Internal")).kind(),
            ErrorKind::Other
        );
        let exists = object_store::Error::AlreadyExists {
            path: "uploads/x/00000000000000000000".into(),
            source: "412".into(),
        };
        assert_eq!(to_io(exists).kind(), ErrorKind::AlreadyExists);
    }
}
