//! CreateInternalEndpoint, DescribeInternalEndpoint, DeleteInternalEndpoint,
//! CreateInternalEndpointDns, DescribeInternalEndpointDns, DeleteInternalEndpointDns.
//!
//! On a self-hosted registry an internal endpoint is a source-network allow-list for the
//! instance, and its private DNS record is published in a zone file (`crate::network`,
//! ARCHITECTURE.md "Private network access").
use berth_store::{DnsCreate, DnsStatus, EndpointCreate, NewInternalEndpoint};
use serde_json::{Value, json};
use std::net::IpAddr;

use super::context::{Ctx, Reply};
use super::error::{KcrError, KcrResult};
use crate::network::{self, PRIVATE_DOMAIN, SubnetRejection};

const MAX_VPC_ID_BYTES: usize = 128;

/// A VPC id names a network outside berth; any printable token is accepted, as cloud VPC ids
/// (UUIDs, `vpc-...`) are.
fn vpc_id(ctx: &Ctx) -> KcrResult<&str> {
    let v = ctx.params.required("VpcId")?;
    let ok = v.len() <= MAX_VPC_ID_BYTES
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    if ok {
        Ok(v)
    } else {
        Err(KcrError::invalid_value("VpcId"))
    }
}

/// `EniLBIp` in the form the store keeps (so `FD00::1` finds `fd00::1`).
fn eni_lb_ip(ctx: &Ctx) -> KcrResult<String> {
    ctx.params
        .required("EniLBIp")?
        .parse::<IpAddr>()
        .map(|ip| ip.to_canonical().to_string())
        .map_err(|_| KcrError::invalid_value("EniLBIp"))
}

fn dns_kind(value: &str) -> KcrResult<&'static str> {
    if value == PRIVATE_DOMAIN {
        Ok(PRIVATE_DOMAIN)
    } else {
        Err(KcrError::invalid_value("InternalEndpointDns"))
    }
}

pub async fn create(ctx: &Ctx) -> KcrResult<Reply> {
    let instance = ctx.instance().await?;
    let vpc = vpc_id(ctx)?;
    let subnet = ctx.params.required("ReserveSubnetId")?;
    let resolved =
        network::resolve_subnet(&ctx.app.config.network, vpc, subnet).map_err(|r| match r {
            SubnetRejection::Unknown => KcrError::invalid_value_because(
                "ReserveSubnetId",
                "Name a subnet of the registry's [network.subnets] or give a CIDR.",
            ),
            SubnetRejection::OtherVpc => {
                KcrError::invalid_value_because("VpcId", "The subnet belongs to another VPC.")
            }
        })?;
    let outcome = ctx
        .app
        .meta
        .create_endpoint(&NewInternalEndpoint {
            instance_id: instance.id.clone(),
            vpc_id: vpc.to_string(),
            subnet_id: subnet.to_string(),
            cidr: resolved.cidr.to_string(),
            ip_address: resolved.endpoint_ip.to_string(),
        })
        .await?;
    match outcome {
        EndpointCreate::Created => {}
        EndpointCreate::Duplicate => {
            return Err(KcrError::already_exists(
                "An internal endpoint for this VPC and subnet (or address)",
            ));
        }
        EndpointCreate::InstanceUnknown => {
            return Err(KcrError::not_found("InstanceId", "The instance"));
        }
    }
    network::invalidate(&ctx.app, &instance.id);
    network::spawn_reconcile(&ctx.app, &instance.id);
    Ok(Reply::new())
}

pub async fn describe(ctx: &Ctx) -> KcrResult<Reply> {
    let instance = ctx.instance().await?;
    let set: Vec<Value> = ctx
        .app
        .meta
        .list_endpoints(&instance.id)
        .await?
        .into_iter()
        .map(|e| {
            json!({
                "VpcId": e.vpc_id,
                "SubnetId": e.subnet_id,
                "Status": e.status.as_str(),
                "EniLBIp": e.ip_address,
            })
        })
        .collect();
    let mut reply = Reply::new();
    reply.insert("TotalCount".into(), json!(set.len()));
    reply.insert("AccessVpcSet".into(), Value::Array(set));
    Ok(reply)
}

pub async fn delete(ctx: &Ctx) -> KcrResult<Reply> {
    let instance = ctx.instance().await?;
    let vpc = vpc_id(ctx)?;
    let ip = eni_lb_ip(ctx)?;
    if !ctx.app.meta.delete_endpoint(&instance.id, vpc, &ip).await? {
        return Err(KcrError::not_found("EniLBIp", "The internal endpoint"));
    }
    network::invalidate(&ctx.app, &instance.id);
    Ok(Reply::new())
}

pub async fn create_dns(ctx: &Ctx) -> KcrResult<Reply> {
    let instance = ctx.instance().await?;
    let vpc = vpc_id(ctx)?;
    let ip = eni_lb_ip(ctx)?;
    let kind = dns_kind(ctx.params.required("InternalEndpointDns")?)?;
    match ctx
        .app
        .meta
        .create_endpoint_dns(&instance.id, vpc, &ip, kind)
        .await?
    {
        DnsCreate::Created => {}
        DnsCreate::Duplicate => {
            return Err(KcrError::already_exists(
                "The private domain record of this endpoint",
            ));
        }
        DnsCreate::EndpointUnknown => {
            return Err(KcrError::not_found("EniLBIp", "The internal endpoint"));
        }
    }
    network::spawn_reconcile(&ctx.app, &instance.id);
    Ok(Reply::new())
}

pub async fn describe_dns(ctx: &Ctx) -> KcrResult<Reply> {
    let instance = ctx.instance().await?;
    let vpc = vpc_id(ctx)?;
    let ip = eni_lb_ip(ctx)?;
    let kinds = match ctx.params.optional("InternalEndpointDns") {
        Some(v) => vec![dns_kind(v)?],
        None => vec![PRIVATE_DOMAIN],
    };
    if ctx
        .app
        .meta
        .get_endpoint(&instance.id, vpc, &ip)
        .await?
        .is_none()
    {
        return Err(KcrError::not_found("EniLBIp", "The internal endpoint"));
    }
    let records = ctx
        .app
        .meta
        .list_endpoint_dns(&instance.id, Some(vpc), Some(&ip))
        .await?;
    // A record that does not exist reads as Closed (the seed's "not resolved").
    let set: Vec<Value> = kinds
        .into_iter()
        .map(|kind| {
            let status = records
                .iter()
                .find(|r| r.domain == kind)
                .map_or(DnsStatus::Closed, |r| r.status);
            json!({"InternalEndpointDns": kind, "Status": status.as_str()})
        })
        .collect();
    let mut reply = Reply::new();
    reply.insert("InternalEndpointDnsSet".into(), Value::Array(set));
    Ok(reply)
}

pub async fn delete_dns(ctx: &Ctx) -> KcrResult<Reply> {
    let instance = ctx.instance().await?;
    let vpc = vpc_id(ctx)?;
    let ip = eni_lb_ip(ctx)?;
    let kind = dns_kind(ctx.params.required("InternalEndpointDns")?)?;
    if !ctx
        .app
        .meta
        .delete_endpoint_dns(&instance.id, vpc, &ip, kind)
        .await?
    {
        return Err(KcrError::not_found(
            "InternalEndpointDns",
            "The private domain record",
        ));
    }
    Ok(Reply::new())
}
