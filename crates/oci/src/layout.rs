//! OCI image layout (`oci-layout`, `index.json`, `blobs/`) reader.
