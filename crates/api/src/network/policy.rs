//! An instance's network allow-list as the request path checks it.
use ipnet::IpNet;

/// Which client networks may reach an instance, parsed once per cache lifetime.
#[derive(Debug, Default)]
pub struct Policy {
    pub(crate) restricted: bool,
    pub(crate) nets: Vec<IpNet>,
}
