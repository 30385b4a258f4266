//! Open data on SQLite.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};

use super::accounts::time;
use super::SqliteStore;
use crate::audit::timestamp_text;
use crate::opendata::{self as open, OpenDataStore, OpenFile, OpenFileInfo, OpenGrain, OpenRow};
use crate::{rows, StoreError};

#[async_trait]
impl OpenDataStore for SqliteStore {
    async fn open_counts(&self, grain: OpenGrain) -> Result<Vec<OpenRow>, StoreError> {
        self.read(move |conn, _| {
            let raw = conn
                .prepare(&open::counts_sql(grain))?
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, i64>(6)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            raw.into_iter()
                .map(|(day, area, sex, group, n, product, doses)| {
                    Ok(OpenRow {
                        area,
                        count: open::open_count(rows::date(&day)?, sex, &group, n, product, doses)?,
                    })
                })
                .collect()
        })
        .await
    }

    async fn put_open_release(&self, files: &[OpenFile]) -> Result<(), StoreError> {
        let files = files.to_vec();
        self.write(move |tx, _| {
            tx.execute("DELETE FROM opendata_files", [])?;
            for f in &files {
                tx.execute(
                    "INSERT INTO opendata_files (name, content_type, body, etag, generated_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        f.name,
                        f.content_type,
                        f.body,
                        f.etag,
                        timestamp_text(&f.generated_at)
                    ],
                )?;
            }
            Ok(())
        })
        .await
    }

    async fn open_file(&self, name: &str) -> Result<Option<OpenFile>, StoreError> {
        let name = name.to_owned();
        self.read_point(move |conn, _| {
            let row = conn
                .prepare_cached(
                    "SELECT name, content_type, body, etag, generated_at FROM opendata_files \
                     WHERE name = ?1",
                )?
                .query_row([&name], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Vec<u8>>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                    ))
                })
                .optional()?;
            row.map(|(name, content_type, body, etag, at)| {
                Ok(OpenFile {
                    name,
                    content_type,
                    body,
                    etag,
                    generated_at: time(&at)?,
                })
            })
            .transpose()
        })
        .await
    }

    async fn open_release(&self) -> Result<Vec<OpenFileInfo>, StoreError> {
        self.read_point(move |conn, _| {
            let raw = conn
                .prepare_cached(
                    "SELECT name, content_type, length(body), etag, generated_at FROM opendata_files \
                     ORDER BY name",
                )?
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            raw.into_iter()
                .map(|(name, content_type, size, etag, at)| {
                    Ok(OpenFileInfo {
                        name,
                        content_type,
                        size: u64::try_from(size).unwrap_or(0),
                        etag,
                        generated_at: time(&at)?,
                    })
                })
                .collect()
        })
        .await
    }
}
