//! [`EndpointStore`] on PostgreSQL.
use super::PgMetadataStore;
use crate::endpoints::*;
use crate::{Result, StoreError, now_millis};
use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

fn endpoint_row(row: &PgRow) -> Result<InternalEndpoint> {
    let status: String = row.try_get("status")?;
    Ok(InternalEndpoint {
        instance_id: row.try_get("instance_id")?,
        vpc_id: row.try_get("vpc_id")?,
        subnet_id: row.try_get("subnet_id")?,
        cidr: row.try_get("cidr")?,
        ip_address: row
            .try_get::<Option<String>, _>("ip_address")?
            .unwrap_or_default(),
        status: EndpointStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("bad endpoint status {status:?}")))?,
        created_at: row.try_get("created_at")?,
    })
}

fn dns_row(row: &PgRow) -> Result<EndpointDns> {
    let status: String = row.try_get("status")?;
    Ok(EndpointDns {
        instance_id: row.try_get("instance_id")?,
        vpc_id: row.try_get("vpc_id")?,
        ip_address: row.try_get("ip_address")?,
        domain: row.try_get("domain")?,
        status: DnsStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("bad DNS record status {status:?}")))?,
        created_at: row.try_get("created_at")?,
    })
}

/// Moves the zone serial past both its previous value and the current time, so that a
/// secondary DNS server sees every change even when two happen within one second.
async fn bump_serial(c: &mut PgConnection, instance_id: &str) -> Result<()> {
    let now_secs = now_millis() / 1000;
    sqlx::query(
        "INSERT INTO internal_endpoint_zones (instance_id, serial) VALUES ($1, $2)
         ON CONFLICT (instance_id) DO UPDATE
           SET serial = GREATEST(internal_endpoint_zones.serial + 1, EXCLUDED.serial)",
    )
    .bind(instance_id)
    .bind(now_secs)
    .execute(&mut *c)
    .await?;
    Ok(())
}

#[async_trait]
impl EndpointStore for PgMetadataStore {
    async fn create_endpoint(&self, e: &NewInternalEndpoint) -> Result<EndpointCreate> {
        serializable!(self, |tx| async {
            let known: Option<bool> =
                sqlx::query_scalar("SELECT TRUE FROM instances WHERE id = $1")
                    .bind(&e.instance_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if known.is_none() {
                return Ok(EndpointCreate::InstanceUnknown);
            }
            let taken: Option<bool> = sqlx::query_scalar(
                "SELECT TRUE FROM internal_endpoints WHERE instance_id = $1 AND vpc_id = $2
             AND (subnet_id = $3 OR ip_address = $4)",
            )
            .bind(&e.instance_id)
            .bind(&e.vpc_id)
            .bind(&e.subnet_id)
            .bind(&e.ip_address)
            .fetch_optional(&mut *tx)
            .await?;
            if taken.is_some() {
                return Ok(EndpointCreate::Duplicate);
            }
            sqlx::query(
                "INSERT INTO internal_endpoints
             (instance_id, vpc_id, subnet_id, cidr, ip_address, status, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&e.instance_id)
            .bind(&e.vpc_id)
            .bind(&e.subnet_id)
            .bind(&e.cidr)
            .bind(&e.ip_address)
            .bind(EndpointStatus::Creating.as_str())
            .bind(now_millis())
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE instances SET restricted = TRUE WHERE id = $1")
                .bind(&e.instance_id)
                .execute(&mut *tx)
                .await?;
            Ok::<_, StoreError>(EndpointCreate::Created)
        })
    }

    async fn list_endpoints(&self, instance_id: &str) -> Result<Vec<InternalEndpoint>> {
        sqlx::query(
            "SELECT * FROM internal_endpoints WHERE instance_id = $1
             ORDER BY created_at, vpc_id, subnet_id",
        )
        .bind(instance_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(endpoint_row)
        .collect()
    }

    async fn all_endpoints(&self) -> Result<Vec<InternalEndpoint>> {
        sqlx::query("SELECT * FROM internal_endpoints ORDER BY instance_id, created_at")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(endpoint_row)
            .collect()
    }

    async fn get_endpoint(
        &self,
        instance_id: &str,
        vpc_id: &str,
        ip_address: &str,
    ) -> Result<Option<InternalEndpoint>> {
        sqlx::query(
            "SELECT * FROM internal_endpoints
             WHERE instance_id = $1 AND vpc_id = $2 AND ip_address = $3",
        )
        .bind(instance_id)
        .bind(vpc_id)
        .bind(ip_address)
        .fetch_optional(&self.pool)
        .await?
        .map(|r| endpoint_row(&r))
        .transpose()
    }

    async fn delete_endpoint(
        &self,
        instance_id: &str,
        vpc_id: &str,
        ip_address: &str,
    ) -> Result<bool> {
        serializable!(self, |tx| async {
            let records: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM internal_endpoint_dns
             WHERE instance_id = $1 AND vpc_id = $2 AND ip_address = $3",
            )
            .bind(instance_id)
            .bind(vpc_id)
            .bind(ip_address)
            .fetch_one(&mut *tx)
            .await?;
            let deleted = sqlx::query(
                "DELETE FROM internal_endpoints
             WHERE instance_id = $1 AND vpc_id = $2 AND ip_address = $3",
            )
            .bind(instance_id)
            .bind(vpc_id)
            .bind(ip_address)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if deleted == 0 {
                return Ok(false);
            }
            sqlx::query(
                "UPDATE instances SET restricted =
               EXISTS (SELECT 1 FROM internal_endpoints WHERE instance_id = $1)
             WHERE id = $1",
            )
            .bind(instance_id)
            .execute(&mut *tx)
            .await?;
            if records > 0 {
                bump_serial(tx, instance_id).await?;
            }
            Ok::<_, StoreError>(true)
        })
    }

    async fn set_endpoint_status(
        &self,
        instance_id: &str,
        vpc_id: &str,
        ip_address: &str,
        status: EndpointStatus,
    ) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE internal_endpoints SET status = $4
             WHERE instance_id = $1 AND vpc_id = $2 AND ip_address = $3",
        )
        .bind(instance_id)
        .bind(vpc_id)
        .bind(ip_address)
        .bind(status.as_str())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n > 0)
    }

    async fn allow_list(&self, instance_id: &str) -> Result<AllowList> {
        // One snapshot: the flag and the endpoints change together.
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await?;
        let restricted: Option<bool> =
            sqlx::query_scalar("SELECT restricted FROM instances WHERE id = $1")
                .bind(instance_id)
                .fetch_optional(&mut *tx)
                .await?;
        let cidrs = sqlx::query_scalar(
            "SELECT cidr FROM internal_endpoints WHERE instance_id = $1 AND status = $2
             ORDER BY cidr",
        )
        .bind(instance_id)
        .bind(EndpointStatus::Running.as_str())
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(AllowList {
            restricted: restricted.unwrap_or(false),
            cidrs,
        })
    }

    async fn create_endpoint_dns(
        &self,
        instance_id: &str,
        vpc_id: &str,
        ip_address: &str,
        domain: &str,
    ) -> Result<DnsCreate> {
        serializable!(self, |tx| async {
            let endpoint: Option<bool> = sqlx::query_scalar(
                "SELECT TRUE FROM internal_endpoints
             WHERE instance_id = $1 AND vpc_id = $2 AND ip_address = $3",
            )
            .bind(instance_id)
            .bind(vpc_id)
            .bind(ip_address)
            .fetch_optional(&mut *tx)
            .await?;
            if endpoint.is_none() {
                return Ok(DnsCreate::EndpointUnknown);
            }
            let inserted = sqlx::query(
                "INSERT INTO internal_endpoint_dns
             (instance_id, vpc_id, ip_address, domain, status, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            )
            .bind(instance_id)
            .bind(vpc_id)
            .bind(ip_address)
            .bind(domain)
            .bind(DnsStatus::Opening.as_str())
            .bind(now_millis())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                return Ok(DnsCreate::Duplicate);
            }
            bump_serial(tx, instance_id).await?;
            Ok::<_, StoreError>(DnsCreate::Created)
        })
    }

    async fn list_endpoint_dns(
        &self,
        instance_id: &str,
        vpc_id: Option<&str>,
        ip_address: Option<&str>,
    ) -> Result<Vec<EndpointDns>> {
        sqlx::query(
            "SELECT * FROM internal_endpoint_dns
             WHERE instance_id = $1 AND ($2::TEXT IS NULL OR vpc_id = $2)
               AND ($3::TEXT IS NULL OR ip_address = $3)
             ORDER BY vpc_id, ip_address, domain",
        )
        .bind(instance_id)
        .bind(vpc_id)
        .bind(ip_address)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(dns_row)
        .collect()
    }

    async fn delete_endpoint_dns(
        &self,
        instance_id: &str,
        vpc_id: &str,
        ip_address: &str,
        domain: &str,
    ) -> Result<bool> {
        serializable!(self, |tx| async {
            let n = sqlx::query(
                "DELETE FROM internal_endpoint_dns
             WHERE instance_id = $1 AND vpc_id = $2 AND ip_address = $3 AND domain = $4",
            )
            .bind(instance_id)
            .bind(vpc_id)
            .bind(ip_address)
            .bind(domain)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Ok(false);
            }
            bump_serial(tx, instance_id).await?;
            Ok::<_, StoreError>(true)
        })
    }

    async fn set_endpoint_dns_status(
        &self,
        instance_id: &str,
        vpc_id: &str,
        ip_address: &str,
        domain: &str,
        status: DnsStatus,
    ) -> Result<bool> {
        let n = serializable!(self, |tx| async {
            let n = sqlx::query(
                "UPDATE internal_endpoint_dns SET status = $5
             WHERE instance_id = $1 AND vpc_id = $2 AND ip_address = $3 AND domain = $4
               AND status <> $5",
            )
            .bind(instance_id)
            .bind(vpc_id)
            .bind(ip_address)
            .bind(domain)
            .bind(status.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n > 0 {
                bump_serial(tx, instance_id).await?;
            }
            Ok::<_, StoreError>(n)
        })?;
        // An unchanged status is still "the record exists".
        if n > 0 {
            return Ok(true);
        }
        let exists: Option<bool> = sqlx::query_scalar(
            "SELECT TRUE FROM internal_endpoint_dns
             WHERE instance_id = $1 AND vpc_id = $2 AND ip_address = $3 AND domain = $4",
        )
        .bind(instance_id)
        .bind(vpc_id)
        .bind(ip_address)
        .bind(domain)
        .fetch_optional(&self.pool)
        .await?;
        Ok(exists.is_some())
    }

    async fn zone_serial(&self, instance_id: &str) -> Result<u32> {
        let serial: Option<i64> =
            sqlx::query_scalar("SELECT serial FROM internal_endpoint_zones WHERE instance_id = $1")
                .bind(instance_id)
                .fetch_optional(&self.pool)
                .await?;
        // RFC 1982 serials are 32-bit; Unix seconds fit until 2106.
        Ok(serial
            .map(|s| u32::try_from(s).unwrap_or(u32::MAX))
            .unwrap_or(1)
            .max(1))
    }
}
