//! docker-archive (`docker save` / `podman save`) tarball reader.
