//! Internal endpoints: per-instance source-network allow-lists (VPC id + subnet CIDR) and the
//! private DNS records that point an instance's domain at an endpoint's address inside a VPC.
//!
//! The store keeps addresses and CIDRs as text and statuses as the seed's words; parsing and
//! validating them against the configured networks is the API layer's job.
use crate::Result;
use async_trait::async_trait;

/// The seed's `AccessVpc.Status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointStatus {
    Creating,
    Running,
    Error,
}

impl EndpointStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointStatus::Creating => "Creating",
            EndpointStatus::Running => "Running",
            EndpointStatus::Error => "Error",
        }
    }

    pub fn parse(s: &str) -> Option<EndpointStatus> {
        match s {
            "Creating" => Some(EndpointStatus::Creating),
            "Running" => Some(EndpointStatus::Running),
            "Error" => Some(EndpointStatus::Error),
            _ => None,
        }
    }
}

/// The seed's `InternalEndpointDns.Status`. `Closed` is never stored: it is what an absent
/// record reads as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsStatus {
    Opening,
    Running,
    Error,
    Closed,
}

impl DnsStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DnsStatus::Opening => "Opening",
            DnsStatus::Running => "Running",
            DnsStatus::Error => "Error",
            DnsStatus::Closed => "Closed",
        }
    }

    pub fn parse(s: &str) -> Option<DnsStatus> {
        match s {
            "Opening" => Some(DnsStatus::Opening),
            "Running" => Some(DnsStatus::Running),
            "Error" => Some(DnsStatus::Error),
            "Closed" => Some(DnsStatus::Closed),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInternalEndpoint {
    pub instance_id: String,
    pub vpc_id: String,
    /// As the caller named it: a configured subnet id or a CIDR literal.
    pub subnet_id: String,
    /// The subnet's network in canonical form, e.g. `10.0.1.0/24`.
    pub cidr: String,
    /// The address berth answers at inside the subnet (`EniLBIp`).
    pub ip_address: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InternalEndpoint {
    pub instance_id: String,
    pub vpc_id: String,
    pub subnet_id: String,
    pub cidr: String,
    pub ip_address: String,
    pub status: EndpointStatus,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointDns {
    pub instance_id: String,
    pub vpc_id: String,
    pub ip_address: String,
    /// The seed's `InternalEndpointDns` value (`PrivateDomain`): which name of the instance
    /// resolves to the endpoint. The name itself is derived when the zone is rendered, so a
    /// change of base domain needs no data migration.
    pub domain: String,
    pub status: DnsStatus,
    pub created_at: i64,
}

/// Which networks may reach an instance's OCI API.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    /// The instance has at least one internal endpoint, whatever its status.
    pub restricted: bool,
    /// CIDRs of the endpoints that are `Running`.
    pub cidrs: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointCreate {
    Created,
    /// The instance already has an endpoint for this VPC and subnet, or at this address.
    Duplicate,
    InstanceUnknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsCreate {
    Created,
    Duplicate,
    EndpointUnknown,
}

#[async_trait]
pub trait EndpointStore: Send + Sync {
    /// Records the endpoint as `Creating` and marks the instance restricted, in one transaction.
    async fn create_endpoint(&self, endpoint: &NewInternalEndpoint) -> Result<EndpointCreate>;
    /// The instance's endpoints, oldest first.
    async fn list_endpoints(&self, instance_id: &str) -> Result<Vec<InternalEndpoint>>;
    /// Every endpoint of every instance (for revalidation at start).
    async fn all_endpoints(&self) -> Result<Vec<InternalEndpoint>>;
    async fn get_endpoint(
        &self,
        instance_id: &str,
        vpc_id: &str,
        ip_address: &str,
    ) -> Result<Option<InternalEndpoint>>;
    /// Deletes the endpoint with its DNS records; the instance stays restricted while any
    /// endpoint remains. `false` when there was no such endpoint.
    async fn delete_endpoint(
        &self,
        instance_id: &str,
        vpc_id: &str,
        ip_address: &str,
    ) -> Result<bool>;
    /// Sets the endpoint's status; `false` when it no longer exists.
    async fn set_endpoint_status(
        &self,
        instance_id: &str,
        vpc_id: &str,
        ip_address: &str,
        status: EndpointStatus,
    ) -> Result<bool>;
    async fn allow_list(&self, instance_id: &str) -> Result<AllowList>;

    /// Records the DNS record as `Opening`.
    async fn create_endpoint_dns(
        &self,
        instance_id: &str,
        vpc_id: &str,
        ip_address: &str,
        domain: &str,
    ) -> Result<DnsCreate>;
    /// The instance's DNS records, optionally of one VPC and one endpoint address.
    async fn list_endpoint_dns(
        &self,
        instance_id: &str,
        vpc_id: Option<&str>,
        ip_address: Option<&str>,
    ) -> Result<Vec<EndpointDns>>;
    async fn delete_endpoint_dns(
        &self,
        instance_id: &str,
        vpc_id: &str,
        ip_address: &str,
        domain: &str,
    ) -> Result<bool>;
    async fn set_endpoint_dns_status(
        &self,
        instance_id: &str,
        vpc_id: &str,
        ip_address: &str,
        domain: &str,
        status: DnsStatus,
    ) -> Result<bool>;
    /// The SOA serial of the instance's private zone: at least the Unix time (seconds) of the
    /// last change to its DNS records, and greater after every change.
    async fn zone_serial(&self, instance_id: &str) -> Result<u32>;
}
