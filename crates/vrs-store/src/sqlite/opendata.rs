//! Open data on SQLite.

use async_trait::async_trait;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row};

use super::accounts::time;
use super::{configure, SqliteStore};
use crate::audit::timestamp_text;
use crate::opendata::{self as open, OpenCounts, OpenDataStore, OpenFileInfo, OpenGrain, OpenRow};
use crate::{rows, StoreError};

const FILE_COLUMNS: &str = "name, content_type, size, etag, generated_at, release, parts";

fn file_info(r: &Row<'_>) -> rusqlite::Result<(OpenFileInfo, String)> {
    Ok((
        OpenFileInfo {
            name: r.get(0)?,
            content_type: r.get(1)?,
            size: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
            etag: r.get(3)?,
            generated_at: chrono::DateTime::UNIX_EPOCH,
            release: r.get(5)?,
            parts: r.get(6)?,
        },
        r.get(4)?,
    ))
}

fn with_time((mut f, at): (OpenFileInfo, String)) -> Result<OpenFileInfo, StoreError> {
    f.generated_at = time(&at)?;
    Ok(f)
}

fn open_row(r: &Row<'_>) -> Result<OpenRow, StoreError> {
    Ok(OpenRow {
        area: r.get(1)?,
        count: open::open_count(
            rows::date(&r.get::<_, String>(0)?)?,
            r.get(2)?,
            &r.get::<_, String>(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
        )?,
    })
}

#[async_trait]
impl OpenDataStore for SqliteStore {
    async fn open_counts(&self, grain: OpenGrain) -> Result<OpenCounts, StoreError> {
        let path = self.path().to_owned();
        let (tx, counts) = OpenCounts::channel();
        tokio::task::spawn_blocking(move || {
            // A connection of its own: the read lasts as long as the publication takes to store
            // what it reads, and holds none of the readers the requests share meanwhile. One
            // statement: one snapshot of the counts.
            let read = || -> Result<(), StoreError> {
                let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let conn = Connection::open_with_flags(&path, flags)?;
                configure(&conn)?;
                let mut stmt = conn.prepare(&open::counts_sql(grain))?;
                let mut rows = stmt.query([])?;
                let mut batch = Vec::with_capacity(open::BATCH);
                while let Some(r) = rows.next()? {
                    batch.push(open_row(r)?);
                    if batch.len() == open::BATCH
                        && tx.blocking_send(Ok(std::mem::take(&mut batch))).is_err()
                    {
                        return Ok(()); // the caller stopped reading
                    }
                }
                if !batch.is_empty() {
                    let _ = tx.blocking_send(Ok(batch));
                }
                Ok(())
            };
            if let Err(e) = read() {
                let _ = tx.blocking_send(Err(e));
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
        let (release, name, bytes) = (release.to_owned(), name.to_owned(), bytes.to_vec());
        self.write(move |tx, _| {
            tx.prepare_cached(
                "INSERT INTO opendata_parts (release, name, seq, bytes) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![release, name, seq, bytes])?;
            Ok(())
        })
        .await
    }

    async fn publish_open_release(&self, files: &[OpenFileInfo]) -> Result<(), StoreError> {
        let release = open::one_release(files)?.to_owned();
        let files = files.to_vec();
        self.write(move |tx, _| {
            let stored = tx
                .prepare_cached(&open::stored_parts_sql('?'))?
                .query_map([&release], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<Vec<(String, i64, i64)>, _>>()?;
            open::parts_complete(&files, &stored)?;
            // Kept: this release's parts and those of the release it replaces.
            tx.execute(
                "DELETE FROM opendata_parts WHERE release <> ?1 \
                 AND release NOT IN (SELECT release FROM opendata_files)",
                [&release],
            )?;
            tx.execute("DELETE FROM opendata_files", [])?;
            for f in &files {
                tx.execute(
                    &format!(
                        "INSERT INTO opendata_files ({FILE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                    ),
                    params![
                        f.name,
                        f.content_type,
                        i64::try_from(f.size).unwrap_or(i64::MAX),
                        f.etag,
                        timestamp_text(&f.generated_at),
                        f.release,
                        f.parts
                    ],
                )?;
            }
            Ok(())
        })
        .await
    }

    async fn open_file(&self, name: &str) -> Result<Option<OpenFileInfo>, StoreError> {
        let name = name.to_owned();
        self.read_point(move |conn, _| {
            conn.prepare_cached(&format!(
                "SELECT {FILE_COLUMNS} FROM opendata_files WHERE name = ?1"
            ))?
            .query_row([&name], file_info)
            .optional()?
            .map(with_time)
            .transpose()
        })
        .await
    }

    async fn open_part(
        &self,
        file: &OpenFileInfo,
        seq: u32,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let (release, name) = (file.release.clone(), file.name.clone());
        self.read_point(move |conn, _| {
            Ok(conn
                .prepare_cached(
                    "SELECT bytes FROM opendata_parts WHERE release = ?1 AND name = ?2 AND seq = ?3",
                )?
                .query_row(params![release, name, seq], |r| r.get(0))
                .optional()?)
        })
        .await
    }

    async fn open_release(&self) -> Result<Vec<OpenFileInfo>, StoreError> {
        self.read_point(move |conn, _| {
            conn.prepare_cached(&format!(
                "SELECT {FILE_COLUMNS} FROM opendata_files ORDER BY name"
            ))?
            .query_map([], file_info)?
            .map(|r| with_time(r?))
            .collect()
        })
        .await
    }
}
