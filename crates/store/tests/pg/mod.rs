//! Fresh PostgreSQL databases for tests: one per test, created on the cluster that
//! `BERTH_TEST_POSTGRES_URL` names (scripts/test.sh starts one and sets it) and dropped after.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]
use berth_store::PgMetadataStore;
use sqlx::{Connection, Executor, PgConnection};

pub struct TestDb {
    admin: String,
    name: String,
    pub url: String,
}

fn admin_url() -> String {
    std::env::var("BERTH_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "BERTH_TEST_POSTGRES_URL is not set: the PostgreSQL tests need a server. Run \
             scripts/test.sh (it starts one with scripts/services/postgres.sh and sets the \
             variable), or export BERTH_TEST_POSTGRES_URL=\"$(scripts/services/postgres.sh)\""
        )
    })
}

/// `url` with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_at = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[authority_at..].find('/') {
        Some(slash) => &base[..authority_at + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

impl TestDb {
    pub async fn create() -> TestDb {
        let admin = admin_url();
        let name = format!("berth_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL at {admin}: {e}"));
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap();
        conn.close().await.unwrap();
        let url = with_database(&admin, &name);
        TestDb { admin, name, url }
    }

    pub async fn store(&self) -> PgMetadataStore {
        PgMetadataStore::connect(&self.url).await.unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Also after a failed test: on a thread of its own, since Drop cannot await.
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let mut conn = PgConnection::connect(&admin).await?;
                conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await?;
                conn.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}: {dropped:?}", self.name);
        }
    }
}
