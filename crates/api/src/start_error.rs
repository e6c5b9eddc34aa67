//! Why berth could not start.
use crate::seal;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("storage: {0}")]
    Store(#[from] berth_store::StoreError),
    #[error("cannot create the data directory {0}: {1}")]
    DataDir(std::path::PathBuf, std::io::Error),
    #[error("cannot listen on {0}: {1}")]
    Listen(std::net::SocketAddr, std::io::Error),
    #[error("server: {0}")]
    Serve(std::io::Error),
    #[error("{0}")]
    MasterKey(#[from] seal::KeyError),
    #[error("cannot hash the admin password: {0}")]
    Hash(String),
}
