//! Open data on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::PostgresStore;
use crate::opendata::{self as open, OpenDataStore, OpenFile, OpenFileInfo, OpenGrain, OpenRow};
use crate::StoreError;

#[async_trait]
impl OpenDataStore for PostgresStore {
    async fn open_counts(&self, grain: OpenGrain) -> Result<Vec<OpenRow>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client.query(&open::counts_sql(grain), &[]).await?;
        rows.iter()
            .map(|r| {
                Ok(OpenRow {
                    area: r.get::<_, String>(1).trim_end().to_owned(),
                    count: open::open_count(
                        r.get::<_, NaiveDate>(0),
                        i64::from(r.get::<_, i16>(2)),
                        r.get::<_, &str>(3),
                        i64::from(r.get::<_, i16>(4)),
                        r.get::<_, String>(5),
                        r.get::<_, i64>(6),
                    )?,
                })
            })
            .collect()
    }

    async fn put_open_release(&self, files: &[OpenFile]) -> Result<(), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute("DELETE FROM opendata_files", &[]).await?;
        for f in files {
            tx.execute(
                "INSERT INTO opendata_files (name, content_type, body, etag, generated_at) \
                 VALUES ($1, $2, $3, $4, $5)",
                &[&f.name, &f.content_type, &f.body, &f.etag, &f.generated_at],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn open_file(&self, name: &str) -> Result<Option<OpenFile>, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT name, content_type, body, etag, generated_at FROM opendata_files \
                 WHERE name = $1",
                &[&name],
            )
            .await?;
        Ok(row.map(|r| OpenFile {
            name: r.get(0),
            content_type: r.get(1),
            body: r.get(2),
            etag: r.get(3),
            generated_at: r.get::<_, DateTime<Utc>>(4),
        }))
    }

    async fn open_release(&self) -> Result<Vec<OpenFileInfo>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT name, content_type, octet_length(body)::bigint, etag, generated_at \
                 FROM opendata_files ORDER BY name",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| OpenFileInfo {
                name: r.get(0),
                content_type: r.get(1),
                size: u64::try_from(r.get::<_, i64>(2)).unwrap_or(0),
                etag: r.get(3),
                generated_at: r.get(4),
            })
            .collect())
    }
}
