//! [`ProtectionStore`] on PostgreSQL.
use super::{PgMetadataStore, u};
use crate::Result;
use crate::protection::*;
use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;

const POLICY_COLS: &str =
    "project_id, policy_id, policy_name, template_id, document, created_at, updated_at";
const EVENT_COLS: &str = "project_id, event_id, cluster_id, cluster_name, policy_id, policy_name,
     event_name, event_class_id, event_type, event_content, action, handle_status, resource_info,
     created_at, updated_at";

fn policy_row(row: &PgRow) -> Result<ProtectionPolicy> {
    Ok(ProtectionPolicy {
        project_id: row.try_get("project_id")?,
        policy_id: row.try_get("policy_id")?,
        policy_name: row.try_get("policy_name")?,
        template_id: row.try_get("template_id")?,
        document: row.try_get("document")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn event_row(row: &PgRow) -> Result<ProtectionEvent> {
    Ok(ProtectionEvent {
        project_id: row.try_get("project_id")?,
        event_id: row.try_get("event_id")?,
        cluster_id: row.try_get("cluster_id")?,
        cluster_name: row.try_get("cluster_name")?,
        policy_id: row.try_get("policy_id")?,
        policy_name: row.try_get("policy_name")?,
        event_name: row.try_get("event_name")?,
        event_class_id: row.try_get("event_class_id")?,
        event_type: row.try_get("event_type")?,
        event_content: row.try_get("event_content")?,
        action: row.try_get("action")?,
        handle_status: row.try_get("handle_status")?,
        resource_info: row.try_get("resource_info")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

#[async_trait]
impl ProtectionStore for PgMetadataStore {
    async fn create_protection_policy(&self, p: &ProtectionPolicy) -> Result<bool> {
        // Through the instance row, so an unknown project writes nothing instead of failing on
        // the foreign key.
        let done = sqlx::query(
            "INSERT INTO cluster_protection_policies
                 (project_id, policy_id, policy_name, template_id, document, created_at,
                  updated_at)
             SELECT id, $2, $3, $4, $5, $6, $7 FROM instances WHERE id = $1
             ON CONFLICT DO NOTHING",
        )
        .bind(&p.project_id)
        .bind(&p.policy_id)
        .bind(&p.policy_name)
        .bind(&p.template_id)
        .bind(&p.document)
        .bind(p.created_at)
        .bind(p.updated_at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn update_protection_policy(&self, p: &ProtectionPolicy) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE cluster_protection_policies
             SET policy_name = $3, template_id = $4, document = $5, updated_at = $6
             WHERE project_id = $1 AND policy_id = $2",
        )
        .bind(&p.project_id)
        .bind(&p.policy_id)
        .bind(&p.policy_name)
        .bind(&p.template_id)
        .bind(&p.document)
        .bind(p.updated_at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_protection_policy(&self, project_id: &str, policy_id: &str) -> Result<bool> {
        let done = sqlx::query(
            "DELETE FROM cluster_protection_policies WHERE project_id = $1 AND policy_id = $2",
        )
        .bind(project_id)
        .bind(policy_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn get_protection_policy(
        &self,
        project_id: &str,
        policy_id: &str,
    ) -> Result<Option<ProtectionPolicy>> {
        sqlx::query(&format!(
            "SELECT {POLICY_COLS} FROM cluster_protection_policies
             WHERE project_id = $1 AND policy_id = $2"
        ))
        .bind(project_id)
        .bind(policy_id)
        .fetch_optional(&self.pool)
        .await?
        .map(|r| policy_row(&r))
        .transpose()
    }

    async fn list_protection_policies(&self, project_id: &str) -> Result<Vec<ProtectionPolicy>> {
        sqlx::query(&format!(
            "SELECT {POLICY_COLS} FROM cluster_protection_policies WHERE project_id = $1
             ORDER BY created_at, policy_id"
        ))
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(policy_row)
        .collect()
    }

    async fn record_protection_event(&self, e: &ProtectionEvent) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO cluster_protection_events
                 (project_id, event_id, cluster_id, cluster_name, policy_id, policy_name,
                  event_name, event_class_id, event_type, event_content, action, handle_status,
                  resource_info, created_at, updated_at)
             SELECT id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15
             FROM instances WHERE id = $1
             ON CONFLICT DO NOTHING",
        )
        .bind(&e.project_id)
        .bind(&e.event_id)
        .bind(&e.cluster_id)
        .bind(&e.cluster_name)
        .bind(&e.policy_id)
        .bind(&e.policy_name)
        .bind(&e.event_name)
        .bind(&e.event_class_id)
        .bind(e.event_type)
        .bind(&e.event_content)
        .bind(&e.action)
        .bind(&e.handle_status)
        .bind(&e.resource_info)
        .bind(e.created_at)
        .bind(e.updated_at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn list_protection_events(
        &self,
        project_id: &str,
        cluster_id: Option<&str>,
        offset: u64,
        limit: u64,
    ) -> Result<ProtectionPage<ProtectionEvent>> {
        // One read transaction, so the total and the page agree.
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await?;
        let filter = "project_id = $1 AND ($2::TEXT IS NULL OR cluster_id = $2)";
        let total: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM cluster_protection_events WHERE {filter}"
        ))
        .bind(project_id)
        .bind(cluster_id)
        .fetch_one(&mut *tx)
        .await?;
        let items = sqlx::query(&format!(
            "SELECT {EVENT_COLS} FROM cluster_protection_events WHERE {filter}
             ORDER BY created_at DESC, event_id LIMIT $3 OFFSET $4"
        ))
        .bind(project_id)
        .bind(cluster_id)
        .bind(u(limit))
        .bind(u(offset))
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(event_row)
        .collect::<Result<Vec<_>>>()?;
        tx.commit().await?;
        Ok(ProtectionPage {
            total: u64::try_from(total).unwrap_or(0),
            items,
        })
    }

    async fn count_protection_events(&self, project_id: &str) -> Result<ProtectionEventCounts> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS total, COUNT(*) FILTER (WHERE action = 'block') AS blocked
             FROM cluster_protection_events WHERE project_id = $1",
        )
        .bind(project_id)
        .fetch_one(&self.pool)
        .await?;
        let total: i64 = row.try_get("total")?;
        let blocked: i64 = row.try_get("blocked")?;
        Ok(ProtectionEventCounts {
            total: u64::try_from(total).unwrap_or(0),
            blocked: u64::try_from(blocked).unwrap_or(0),
        })
    }

    async fn set_protection_event_status(
        &self,
        project_id: &str,
        event_ids: &[String],
        handle_status: &str,
        now: i64,
    ) -> Result<Option<Vec<ProtectionEvent>>> {
        in_transaction!(self, |c| async {
            let mut changed = Vec::with_capacity(event_ids.len());
            for id in event_ids {
                let row = sqlx::query(&format!(
                    "UPDATE cluster_protection_events SET handle_status = $3, updated_at = $4
                 WHERE project_id = $1 AND event_id = $2 RETURNING {EVENT_COLS}"
                ))
                .bind(project_id)
                .bind(id)
                .bind(handle_status)
                .bind(now)
                .fetch_optional(&mut *c)
                .await?;
                match row {
                    Some(row) => changed.push(event_row(&row)?),
                    // Rolls the earlier updates back.
                    None => return Ok((None, false)),
                }
            }
            Ok::<_, crate::StoreError>((Some(changed), true))
        })
    }

    async fn set_cluster_protection(
        &self,
        cluster_ids: &[String],
        protection: &str,
    ) -> Result<bool> {
        in_transaction!(self, |c| async {
            for id in cluster_ids {
                let done = sqlx::query("UPDATE clusters SET protection = $2 WHERE id = $1")
                    .bind(id)
                    .bind(protection)
                    .execute(&mut *c)
                    .await?;
                if done.rows_affected() != 1 {
                    return Ok((false, false));
                }
            }
            Ok::<_, crate::StoreError>((true, true))
        })
    }
}
