//! Open data on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::TryStreamExt;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::PostgresStore;
use crate::opendata::{self as open, OpenCounts, OpenDataStore, OpenFileInfo, OpenGrain, OpenRow};
use crate::StoreError;

const FILE_COLUMNS: &str = "name, content_type, size, etag, generated_at, release, parts";

fn file_info(r: &Row) -> OpenFileInfo {
    OpenFileInfo {
        name: r.get(0),
        content_type: r.get(1),
        size: u64::try_from(r.get::<_, i64>(2)).unwrap_or(0),
        etag: r.get(3),
        generated_at: r.get::<_, DateTime<Utc>>(4),
        release: r.get(5),
        parts: u32::try_from(r.get::<_, i32>(6)).unwrap_or(0),
    }
}

fn open_row(r: &Row) -> Result<OpenRow, StoreError> {
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
}

#[async_trait]
impl OpenDataStore for PostgresStore {
    async fn open_counts(&self, grain: OpenGrain) -> Result<OpenCounts, StoreError> {
        let client = self.pool.get().await?;
        let (tx, counts) = OpenCounts::channel();
        tokio::spawn(async move {
            // One statement (one snapshot), its rows taken from the connection as they come.
            let read = async {
                let none: [&(dyn ToSql + Sync); 0] = [];
                let rows = client.query_raw(&open::counts_sql(grain), none).await?;
                futures_util::pin_mut!(rows);
                let mut batch = Vec::with_capacity(open::BATCH);
                while let Some(r) = rows.try_next().await? {
                    batch.push(open_row(&r)?);
                    if batch.len() == open::BATCH
                        && tx.send(Ok(std::mem::take(&mut batch))).await.is_err()
                    {
                        return Ok(()); // the caller stopped reading
                    }
                }
                if !batch.is_empty() {
                    let _ = tx.send(Ok(batch)).await;
                }
                Ok::<_, StoreError>(())
            };
            if let Err(e) = read.await {
                let _ = tx.send(Err(e)).await;
            }
        });
        Ok(counts)
    }

    async fn put_open_part(
        &self,
        release: &str,
        name: &str,
        seq: u32,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        let seq = i32::try_from(seq).map_err(|_| StoreError::Other("too many parts".into()))?;
        client
            .execute(
                "INSERT INTO opendata_parts (release, name, seq, bytes) VALUES ($1, $2, $3, $4)",
                &[&release, &name, &seq, &bytes],
            )
            .await?;
        Ok(())
    }

    async fn publish_open_release(&self, files: &[OpenFileInfo]) -> Result<(), StoreError> {
        let release = open::one_release(files)?;
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // One publication at a time: the index is locked before its parts are counted.
        tx.execute("LOCK TABLE opendata_files IN EXCLUSIVE MODE", &[])
            .await?;
        let stored: Vec<(String, i64, i64)> = tx
            .query(&open::stored_parts_sql('$'), &[&release])
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        open::parts_complete(files, &stored)?;
        // Kept: this release's parts and those of the release it replaces.
        tx.execute(
            "DELETE FROM opendata_parts WHERE release <> $1 \
             AND release NOT IN (SELECT release FROM opendata_files)",
            &[&release],
        )
        .await?;
        tx.execute("DELETE FROM opendata_files", &[]).await?;
        for f in files {
            tx.execute(
                &format!(
                    "INSERT INTO opendata_files ({FILE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                ),
                &[
                    &f.name,
                    &f.content_type,
                    &i64::try_from(f.size).unwrap_or(i64::MAX),
                    &f.etag,
                    &f.generated_at,
                    &f.release,
                    &i32::try_from(f.parts).unwrap_or(i32::MAX),
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn open_file(&self, name: &str) -> Result<Option<OpenFileInfo>, StoreError> {
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {FILE_COLUMNS} FROM opendata_files WHERE name = $1"
            ))
            .await?;
        Ok(client
            .query_opt(&stmt, &[&name])
            .await?
            .as_ref()
            .map(file_info))
    }

    async fn open_part(
        &self,
        file: &OpenFileInfo,
        seq: u32,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let client = self.pool.get().await?;
        let seq = i32::try_from(seq).map_err(|_| StoreError::NotFound)?;
        let stmt = client
            .prepare_cached(
                "SELECT bytes FROM opendata_parts WHERE release = $1 AND name = $2 AND seq = $3",
            )
            .await?;
        Ok(client
            .query_opt(&stmt, &[&file.release, &file.name, &seq])
            .await?
            .map(|r| r.get(0)))
    }

    async fn open_release(&self) -> Result<Vec<OpenFileInfo>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &format!("SELECT {FILE_COLUMNS} FROM opendata_files ORDER BY name"),
                &[],
            )
            .await?;
        Ok(rows.iter().map(file_info).collect())
    }
}
