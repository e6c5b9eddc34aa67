//! Copying SQLite's tables into PostgreSQL's, by name, in one transaction.
use super::error::MigrateError;
use futures::TryStreamExt;
use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;
use sqlx::{Row, TypeInfo, ValueRef};
use std::collections::{BTreeMap, BTreeSet};

/// Rows per INSERT statement (PostgreSQL takes at most 65,535 parameters per statement).
const BATCH_ROWS: usize = 200;

/// Tables that are each engine's own bookkeeping, not berth's data.
const SKIPPED: &[&str] = &["_sqlx_migrations", "sqlite_sequence", "schema_migrations"];

/// One table's copy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TableCopy {
    pub table: String,
    /// Rows in SQLite.
    pub rows: u64,
    /// Rows written to PostgreSQL (fewer when the target already held some: a second run).
    pub inserted: u64,
}

/// A value read from SQLite, as it is bound for PostgreSQL.
enum Value {
    Null,
    Text(String),
    Bytes(Vec<u8>),
}

/// Copies every table of `sqlite` into the table of the same name in `pg` (which its
/// migrations created), parents before children, in one transaction; rows PostgreSQL already
/// holds (same key) are kept. Then moves every sequence past the copied ids.
pub async fn copy_metadata(
    source: &crate::SqliteMetadataStore,
    pg_url: &str,
) -> Result<Vec<TableCopy>, MigrateError> {
    let pg = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(pg_url)
        .await?;
    let pg = &pg;
    let sqlite = source.read_pool();
    let tables = sqlite_tables(sqlite).await?;
    let target = pg_columns(pg).await?;
    // Every column must have somewhere to go before anything is written.
    let mut plan = Vec::new();
    for table in &tables {
        let columns = sqlite_columns(sqlite, table).await?;
        let Some(types) = target.get(table) else {
            // SQLite's first schema made tables nothing ever used (PostgreSQL's schema left
            // them out): an empty one has nothing to carry over.
            let rows: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {}", quote(table)))
                .fetch_one(sqlite)
                .await?;
            if rows == 0 {
                continue;
            }
            return Err(MigrateError::Schema(format!(
                "PostgreSQL has no table {table}, which holds {rows} rows in SQLite"
            )));
        };
        let mut typed = Vec::new();
        for c in columns {
            let Some(ty) = types.get(&c) else {
                return Err(MigrateError::Schema(format!(
                    "PostgreSQL's table {table} has no column {c}"
                )));
            };
            typed.push((c, ty.clone()));
        }
        plan.push((table.clone(), typed));
    }
    let mut tx = pg.begin().await?;
    let mut report = Vec::new();
    for (table, columns) in &plan {
        let names: Vec<&str> = columns.iter().map(|(c, _)| c.as_str()).collect();
        let select = format!(
            "SELECT {} FROM {}",
            names
                .iter()
                .map(|c| quote(c))
                .collect::<Vec<_>>()
                .join(", "),
            quote(table)
        );
        // Streamed a batch at a time: a table is never held in memory whole.
        let mut rows = sqlx::query(&select).fetch(sqlite).try_chunks(BATCH_ROWS);
        let (mut read, mut inserted) = (0u64, 0u64);
        while let Some(batch) = rows.try_next().await.map_err(|e| e.1)? {
            let mut values = Vec::with_capacity(batch.len() * columns.len());
            for row in &batch {
                for i in 0..columns.len() {
                    values.push(read_value(row, i)?);
                }
            }
            let sql = insert_sql(table, columns, batch.len());
            let mut q = sqlx::query(&sql);
            for v in values {
                q = match v {
                    Value::Null => q.bind(None::<String>),
                    Value::Text(s) => q.bind(s),
                    Value::Bytes(b) => q.bind(b),
                };
            }
            inserted += q.execute(&mut *tx).await?.rows_affected();
            read += batch.len() as u64;
        }
        report.push(TableCopy {
            table: table.clone(),
            rows: read,
            inserted,
        });
    }
    advance_sequences(&mut tx).await?;
    tx.commit().await?;
    Ok(report)
}

/// `"name"`, with quotes doubled: table and column names come from the source database.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn insert_sql(table: &str, columns: &[(String, String)], rows: usize) -> String {
    let names = columns
        .iter()
        .map(|(c, _)| quote(c))
        .collect::<Vec<_>>()
        .join(", ");
    let mut sql = format!("INSERT INTO {} ({names}) VALUES ", quote(table));
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for (i, (_, ty)) in columns.iter().enumerate() {
            n += 1;
            if i > 0 {
                sql.push_str(", ");
            }
            // A bytea column takes the bytes as they are; every other value is text cast to
            // the column's type (text → bigint, boolean, jsonb, ...: PostgreSQL's input syntax).
            if ty == "bytea" {
                sql.push_str(&format!("${n}"));
            } else {
                sql.push_str(&format!("CAST(${n} AS {ty})"));
            }
        }
        sql.push(')');
    }
    sql.push_str(" ON CONFLICT DO NOTHING");
    sql
}

fn read_value(row: &sqlx::sqlite::SqliteRow, i: usize) -> Result<Value, MigrateError> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let kind = raw.type_info().name().to_ascii_uppercase();
    Ok(match kind.as_str() {
        "INTEGER" => Value::Text(row.try_get::<i64, _>(i)?.to_string()),
        "REAL" => Value::Text(row.try_get::<f64, _>(i)?.to_string()),
        "BLOB" => Value::Bytes(row.try_get::<Vec<u8>, _>(i)?),
        _ => Value::Text(row.try_get::<String, _>(i)?),
    })
}

/// berth's tables in SQLite, each after the tables its foreign keys name.
async fn sqlite_tables(sqlite: &SqlitePool) -> Result<Vec<String>, MigrateError> {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .fetch_all(sqlite)
            .await?;
    let names: Vec<String> = names
        .into_iter()
        .filter(|n| !SKIPPED.contains(&n.as_str()) && !n.starts_with("sqlite_"))
        .collect();
    let mut parents: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for n in &names {
        let refs: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT \"table\" FROM pragma_foreign_key_list({})",
            sql_string(n)
        ))
        .fetch_all(sqlite)
        .await?;
        parents.insert(
            n.clone(),
            refs.into_iter().filter(|p| p != n).collect::<BTreeSet<_>>(),
        );
    }
    let mut ordered = Vec::new();
    let mut done = BTreeSet::new();
    while ordered.len() < names.len() {
        let ready: Vec<String> = names
            .iter()
            .filter(|n| !done.contains(*n))
            .filter(|n| {
                parents
                    .get(*n)
                    .is_none_or(|ps| ps.iter().all(|p| done.contains(p) || !names.contains(p)))
            })
            .cloned()
            .collect();
        if ready.is_empty() {
            return Err(MigrateError::Schema(
                "the foreign keys between SQLite's tables form a cycle".into(),
            ));
        }
        for n in ready {
            done.insert(n.clone());
            ordered.push(n);
        }
    }
    Ok(ordered)
}

async fn sqlite_columns(sqlite: &SqlitePool, table: &str) -> Result<Vec<String>, MigrateError> {
    Ok(sqlx::query_scalar(&format!(
        "SELECT name FROM pragma_table_info({}) ORDER BY cid",
        sql_string(table)
    ))
    .fetch_all(sqlite)
    .await?)
}

/// `'text'` as an SQL string literal.
fn sql_string(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Every table of the current schema with its columns' types, as a cast names them.
async fn pg_columns(
    pg: &PgPool,
) -> Result<BTreeMap<String, BTreeMap<String, String>>, MigrateError> {
    let rows = sqlx::query(
        "SELECT table_name::text, column_name::text, format_type(a.atttypid, a.atttypmod) \
         FROM information_schema.columns c \
         JOIN pg_attribute a ON a.attrelid = (quote_ident(c.table_schema) || '.' || \
              quote_ident(c.table_name))::regclass AND a.attname = c.column_name \
         WHERE c.table_schema = current_schema()",
    )
    .fetch_all(pg)
    .await?;
    let mut tables: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for r in rows {
        let (table, column, ty): (String, String, String) =
            (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
        tables.entry(table).or_default().insert(column, ty);
    }
    Ok(tables)
}

/// Sets every serial or identity sequence past the largest id now in its table, so that the
/// next row PostgreSQL numbers does not collide with a copied one.
async fn advance_sequences(tx: &mut sqlx::PgConnection) -> Result<(), MigrateError> {
    let columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() \
           AND (column_default LIKE 'nextval(%' OR is_identity = 'YES')",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (table, column) in columns {
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence({t}, {c}), \
             COALESCE((SELECT MAX({qc}) FROM {qt}), 0) + 1, false)",
            t = sql_string(&quote(&table)),
            c = sql_string(&column),
            qc = quote(&column),
            qt = quote(&table),
        );
        sqlx::query(&sql).execute(&mut *tx).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_cast_text_and_keep_bytes() {
        let cols = vec![
            ("id".to_string(), "bigint".to_string()),
            ("body".to_string(), "bytea".to_string()),
        ];
        assert_eq!(
            insert_sql("t\"x", &cols, 2),
            "INSERT INTO \"t\"\"x\" (\"id\", \"body\") VALUES (CAST($1 AS bigint), $2), \
             (CAST($3 AS bigint), $4) ON CONFLICT DO NOTHING"
        );
    }

    #[tokio::test]
    async fn sqlite_tables_come_parents_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::SqliteMetadataStore::open(&dir.path().join("m.db"))
            .await
            .unwrap();
        let order = sqlite_tables(store.read_pool()).await.unwrap();
        let at = |t: &str| order.iter().position(|n| n == t).unwrap();
        assert!(at("instances") < at("namespaces"));
        assert!(at("namespaces") < at("repositories"));
        assert!(at("repositories") < at("manifests"));
        assert!(at("manifests") < at("tags"));
        assert!(at("blobs") < at("repository_blobs"));
        assert!(!order.iter().any(|t| t == "_sqlx_migrations"));
    }
}
