//! [`WebhookStore`] on PostgreSQL. Event types and headers are JSON arrays in their columns.
use super::{PgMetadataStore, u};
use crate::webhooks::*;
use crate::{Result, StoreError};
use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;

const TRIGGER_COLS: &str =
    "t.id, t.instance_id, t.namespace_id, n.name AS namespace, t.name, t.url,
    t.event_types, t.headers, t.enabled, t.secret, t.created_at, t.updated_at";

const DELIVERY_COLS: &str = "d.id, d.trigger_id, t.namespace_id, n.name AS namespace, d.event_type,
    d.payload, d.attempt, d.status, d.status_code, d.response, d.url, d.created_at";

fn json_col<T: serde::de::DeserializeOwned>(row: &PgRow, col: &str) -> Result<T> {
    let s: String = row.try_get(col)?;
    serde_json::from_str(&s)
        .map_err(|e| StoreError::Corrupt(format!("bad JSON in column {col}: {e}")))
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(format!("cannot encode JSON: {e}")))
}

fn trigger_row(row: &PgRow) -> Result<WebhookTrigger> {
    Ok(WebhookTrigger {
        id: row.try_get("id")?,
        instance_id: row.try_get("instance_id")?,
        namespace_id: row.try_get("namespace_id")?,
        namespace: row.try_get("namespace")?,
        name: row.try_get("name")?,
        url: row.try_get("url")?,
        event_types: json_col(row, "event_types")?,
        headers: json_col(row, "headers")?,
        enabled: row.try_get("enabled")?,
        secret: row.try_get("secret")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn delivery_row(row: &PgRow) -> Result<WebhookDelivery> {
    let status: String = row.try_get("status")?;
    Ok(WebhookDelivery {
        id: row.try_get("id")?,
        trigger_id: row.try_get("trigger_id")?,
        namespace_id: row.try_get("namespace_id")?,
        namespace: row.try_get("namespace")?,
        event_type: row.try_get("event_type")?,
        payload: row.try_get("payload")?,
        attempt: u32::try_from(row.try_get::<i64, _>("attempt")?).unwrap_or(0),
        status: DeliveryStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("bad delivery status {status:?}")))?,
        status_code: row
            .try_get::<Option<i64>, _>("status_code")?
            .and_then(|c| u16::try_from(c).ok()),
        response: row.try_get("response")?,
        url: row.try_get("url")?,
        created_at: row.try_get("created_at")?,
    })
}

impl PgMetadataStore {
    async fn trigger_by_id(
        &self,
        pool: &sqlx::PgPool,
        namespace_id: i64,
        id: i64,
    ) -> Result<Option<WebhookTrigger>> {
        sqlx::query(&format!(
            "SELECT {TRIGGER_COLS} FROM webhook_triggers t JOIN namespaces n ON n.id = t.namespace_id
             WHERE t.id = $1 AND t.namespace_id = $2"
        ))
        .bind(id)
        .bind(namespace_id)
        .fetch_optional(pool)
        .await?
        .map(|r| trigger_row(&r))
        .transpose()
    }
}

#[async_trait]
impl WebhookStore for PgMetadataStore {
    async fn create_webhook_trigger(
        &self,
        trigger: &NewWebhookTrigger,
        max_per_namespace: u32,
    ) -> Result<Option<WebhookTrigger>> {
        let now = crate::now_millis();
        let id = serializable!(self, |tx| async {
            let count: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM webhook_triggers WHERE namespace_id = $1")
                    .bind(trigger.namespace_id)
                    .fetch_one(&mut *tx)
                    .await?;
            if count >= i64::from(max_per_namespace) {
                return Ok(None);
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO webhook_triggers
               (instance_id, namespace_id, name, url, event_types, headers, enabled, secret,
                created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
            )
            .bind(&trigger.instance_id)
            .bind(trigger.namespace_id)
            .bind(&trigger.name)
            .bind(&trigger.url)
            .bind(to_json(&trigger.event_types)?)
            .bind(to_json(&trigger.headers)?)
            .bind(trigger.enabled)
            .bind(&trigger.secret)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            Ok::<_, StoreError>(Some(id))
        })?;
        let Some(id) = id else {
            return Ok(None);
        };
        self.trigger_by_id(&self.pool, trigger.namespace_id, id)
            .await
    }

    async fn get_webhook_trigger(
        &self,
        namespace_id: i64,
        id: i64,
    ) -> Result<Option<WebhookTrigger>> {
        self.trigger_by_id(&self.pool, namespace_id, id).await
    }

    async fn list_webhook_triggers(
        &self,
        namespace_id: i64,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<WebhookTrigger>, u64)> {
        let total: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM webhook_triggers WHERE namespace_id = $1")
                .bind(namespace_id)
                .fetch_one(&self.pool)
                .await?;
        let rows = sqlx::query(&format!(
            "SELECT {TRIGGER_COLS} FROM webhook_triggers t JOIN namespaces n ON n.id = t.namespace_id
             WHERE t.namespace_id = $1 ORDER BY t.id DESC LIMIT $2 OFFSET $3"
        ))
        .bind(namespace_id)
        .bind(i64::from(limit))
        .bind(u(offset))
        .fetch_all(&self.pool)
        .await?;
        let triggers = rows.iter().map(trigger_row).collect::<Result<Vec<_>>>()?;
        Ok((triggers, u64::try_from(total).unwrap_or(0)))
    }

    async fn update_webhook_trigger(
        &self,
        namespace_id: i64,
        id: i64,
        update: &WebhookTriggerUpdate,
    ) -> Result<Option<WebhookTrigger>> {
        let event_types = update.event_types.as_ref().map(to_json).transpose()?;
        let headers = update.headers.as_ref().map(to_json).transpose()?;
        let done = sqlx::query(
            "UPDATE webhook_triggers SET
               name = COALESCE($1, name),
               url = COALESCE($2, url),
               event_types = COALESCE($3, event_types),
               headers = COALESCE($4, headers),
               enabled = COALESCE($5, enabled),
               updated_at = $6
             WHERE id = $7 AND namespace_id = $8",
        )
        .bind(&update.name)
        .bind(&update.url)
        .bind(event_types)
        .bind(headers)
        .bind(update.enabled)
        .bind(crate::now_millis())
        .bind(id)
        .bind(namespace_id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        self.trigger_by_id(&self.pool, namespace_id, id).await
    }

    async fn delete_webhook_trigger(&self, namespace_id: i64, id: i64) -> Result<bool> {
        let done = sqlx::query("DELETE FROM webhook_triggers WHERE id = $1 AND namespace_id = $2")
            .bind(id)
            .bind(namespace_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn webhook_triggers_for_event(
        &self,
        namespace_id: i64,
        event_type: &str,
    ) -> Result<Vec<WebhookTrigger>> {
        let rows = sqlx::query(&format!(
            "SELECT {TRIGGER_COLS} FROM webhook_triggers t JOIN namespaces n ON n.id = t.namespace_id
             WHERE t.namespace_id = $1 AND t.enabled
               AND EXISTS (SELECT 1 FROM jsonb_array_elements_text(t.event_types::jsonb) e
                           WHERE e = $2)
             ORDER BY t.id"
        ))
        .bind(namespace_id)
        .bind(event_type)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(trigger_row).collect()
    }

    async fn record_webhook_delivery(
        &self,
        d: &NewWebhookDelivery,
        result: &DeliveryResult,
    ) -> Result<Option<i64>> {
        let status = if result.success {
            DeliveryStatus::Success
        } else {
            DeliveryStatus::Failed
        };
        // Nothing is logged for a trigger deleted while its attempt ran.
        Ok(sqlx::query_scalar(
            "INSERT INTO webhook_deliveries
               (trigger_id, event_type, payload, attempt, status, status_code, response, url,
                created_at)
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9
             WHERE EXISTS (SELECT 1 FROM webhook_triggers WHERE id = $1)
             RETURNING id",
        )
        .bind(d.trigger_id)
        .bind(&d.event_type)
        .bind(&d.payload)
        .bind(i64::from(d.attempt))
        .bind(status.as_str())
        .bind(result.status_code.map(i64::from))
        .bind(&result.response)
        .bind(&result.url)
        .bind(result.at)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn prune_webhook_deliveries(&self, keep: u32) -> Result<u64> {
        let done = sqlx::query(
            "DELETE FROM webhook_deliveries WHERE id IN (
               SELECT id FROM (
                 SELECT id, ROW_NUMBER() OVER (
                   PARTITION BY trigger_id ORDER BY created_at DESC, id DESC) AS n
                 FROM webhook_deliveries) ranked
               WHERE n > $1)",
        )
        .bind(i64::from(keep))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn list_webhook_deliveries(
        &self,
        trigger_id: i64,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<WebhookDelivery>, u64)> {
        let total: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE trigger_id = $1")
                .bind(trigger_id)
                .fetch_one(&self.pool)
                .await?;
        let rows = sqlx::query(&format!(
            "SELECT {DELIVERY_COLS} FROM webhook_deliveries d
             JOIN webhook_triggers t ON t.id = d.trigger_id
             JOIN namespaces n ON n.id = t.namespace_id
             WHERE d.trigger_id = $1
             ORDER BY d.created_at DESC, d.id DESC LIMIT $2 OFFSET $3"
        ))
        .bind(trigger_id)
        .bind(i64::from(limit))
        .bind(u(offset))
        .fetch_all(&self.pool)
        .await?;
        let deliveries = rows.iter().map(delivery_row).collect::<Result<Vec<_>>>()?;
        Ok((deliveries, u64::try_from(total).unwrap_or(0)))
    }
}
