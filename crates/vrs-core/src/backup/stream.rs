//! Streamed backups (format 3): the snapshot's rows are written as lines into chunks of about
//! [`CHUNK_SIZE`], each sealed and written out as soon as it fills, and a restore reads them back
//! chunk by chunk into the target's one transaction, checking every row as it passes and the area
//! against its sealed manifest at the end. Memory stays that of a chunk, whatever the area's size.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use vrs_crypto::backup::stream::{Chunk, FileReader, FileWriter};
use vrs_crypto::backup::FileError;
use vrs_store::{
    AuditScope, BackupKey, CarriedKey, Cell, RestoreSource, SnapshotSink, StoreError, TableSpec,
};

use crate::backup::check::Checker;
use crate::backup::format::{
    line, next_line_of, note_head, AreaLine, AreaManifest, CellsOut, Lines, LinesSource, Manifest,
    TableLine,
};

/// How much of an area's lines one chunk holds before it is sealed and written.
pub const CHUNK_SIZE: usize = 1 << 20;

/// The plaintext header of a streamed file: what the manifest says before the areas' counts are
/// known. Every chunk authenticates it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub format: u32,
    pub kind: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub backend: String,
    pub areas: Vec<String>,
}

impl Header {
    /// The manifest of a file with this header and these areas.
    pub fn manifest(&self, areas: Vec<AreaManifest>) -> Manifest {
        Manifest {
            format: self.format,
            kind: self.kind.clone(),
            created_at: self.created_at,
            created_by: self.created_by.clone(),
            backend: self.backend.clone(),
            areas,
        }
    }
}

fn file_error(e: FileError) -> StoreError {
    StoreError::Other(e.to_string())
}

struct Writing<W: Write> {
    file: Option<FileWriter<W>>,
    /// The backup keys of the areas still to come, in order.
    keys: VecDeque<BackupKey>,
    buf: Vec<u8>,
    chunk_size: usize,
    current: Option<AreaManifest>,
    table: Option<&'static TableSpec>,
    done: Vec<AreaManifest>,
}

impl<W: Write> Writing<W> {
    fn file(&mut self) -> Result<&mut FileWriter<W>, StoreError> {
        self.file
            .as_mut()
            .ok_or_else(|| StoreError::Other("the backup file is already finished".into()))
    }

    fn flush_if_full(&mut self) -> Result<(), StoreError> {
        if self.buf.len() >= self.chunk_size {
            let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(self.chunk_size));
            self.file()?.chunk(chunk).map_err(file_error)?;
        }
        Ok(())
    }

    /// Seals what is left of the current area and its final chunk (its manifest).
    fn end_area(&mut self) -> Result<(), StoreError> {
        let Some(manifest) = self.current.take() else {
            return Ok(());
        };
        if !self.buf.is_empty() {
            let chunk = std::mem::take(&mut self.buf);
            self.file()?.chunk(chunk).map_err(file_error)?;
        }
        let sealed = serde_json::to_vec(&manifest).map_err(|e| StoreError::Other(e.to_string()))?;
        self.file()?.end_area(sealed).map_err(file_error)?;
        self.done.push(manifest);
        Ok(())
    }
}

/// A snapshot sink that writes a streamed backup file as the rows arrive. The caller keeps a clone
/// and [finishes](StreamSink::finish) the file when the snapshot ends.
pub struct StreamSink<W: Write>(Arc<Mutex<Writing<W>>>);

impl<W: Write> Clone for StreamSink<W> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<W: Write + Send + 'static> StreamSink<W> {
    /// Starts the file with its header; `keys` are the backup keys of the header's areas, in order;
    /// a chunk is sealed once it holds `chunk_size` bytes.
    pub fn new(
        out: W,
        header: &Header,
        keys: Vec<BackupKey>,
        chunk_size: usize,
    ) -> Result<Self, StoreError> {
        let bytes = serde_json::to_vec(header).map_err(|e| StoreError::Other(e.to_string()))?;
        let file = FileWriter::new(out, &bytes).map_err(file_error)?;
        Ok(Self(Arc::new(Mutex::new(Writing {
            file: Some(file),
            keys: keys.into(),
            buf: Vec::with_capacity(chunk_size),
            chunk_size,
            current: None,
            table: None,
            done: Vec::new(),
        }))))
    }

    fn lock(&self) -> MutexGuard<'_, Writing<W>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Ends the last area and writes the manifest; gives the manifest, the writer, the file's size
    /// and its SHA-256.
    pub fn finish(self, header: &Header) -> Result<(Manifest, W, u64, [u8; 32]), StoreError> {
        let mut w = self.lock();
        w.end_area()?;
        let manifest = header.manifest(std::mem::take(&mut w.done));
        let listed: Vec<&str> = manifest.areas.iter().map(|a| a.area.as_str()).collect();
        if listed != header.areas {
            return Err(StoreError::Other(format!(
                "the snapshot gave areas {listed:?}, the header lists {:?}",
                header.areas
            )));
        }
        let bytes =
            serde_json::to_vec_pretty(&manifest).map_err(|e| StoreError::Other(e.to_string()))?;
        let file = w
            .file
            .take()
            .ok_or_else(|| StoreError::Other("the backup file is already finished".into()))?;
        let (out, size, digest) = file.finish(&bytes).map_err(file_error)?;
        Ok((manifest, out, size, digest))
    }
}

impl<W: Write + Send + 'static> SnapshotSink for StreamSink<W> {
    fn area(&mut self, area: AuditScope, keys: Vec<CarriedKey>) -> Result<(), StoreError> {
        let mut w = self.lock();
        w.end_area()?;
        let key = w
            .keys
            .pop_front()
            .ok_or_else(|| StoreError::Other(format!("no backup key for area {area}")))?;
        w.file()?
            .begin_area(&key, area.code())
            .map_err(file_error)?;
        line(&mut w.buf, &AreaLine::of(area, &keys))?;
        w.current = Some(AreaManifest {
            area: area.code().to_owned(),
            rows: Default::default(),
            data_keys: keys.len() as u32,
            chain_heads: Default::default(),
        });
        w.table = None;
        Ok(())
    }

    fn table(&mut self, table: &'static TableSpec, rows: u64) -> Result<(), StoreError> {
        let mut w = self.lock();
        let manifest = w.current.as_mut().ok_or_else(out_of_order)?;
        manifest.rows.insert(table.name.to_owned(), rows);
        w.table = Some(table);
        line(&mut w.buf, &TableLine::of(table, rows))?;
        w.flush_if_full()
    }

    fn row(&mut self, cells: &[Cell]) -> Result<(), StoreError> {
        let mut w = self.lock();
        let table = w.table.ok_or_else(out_of_order)?;
        if table.name == "audit_heads" {
            let manifest = w.current.as_mut().ok_or_else(out_of_order)?;
            note_head(&mut manifest.chain_heads, cells);
        }
        line(&mut w.buf, &CellsOut(cells))?;
        w.flush_if_full()
    }
}

fn out_of_order() -> StoreError {
    StoreError::Other("a snapshot row came before its area or table".into())
}

/// A streamed file being read by a restore, shared by the areas' sources in turn.
pub struct Reading<R: Read> {
    file: Option<FileReader<R>>,
    header: Header,
    areas: Vec<AreaManifest>,
    /// The manifest and the file's SHA-256, once the whole file has been read and checked.
    pub finished: Option<(Manifest, [u8; 32])>,
    /// Why reading failed (the store's error only says that it did).
    pub failure: Option<String>,
}

/// The shared reading of a streamed file.
pub type SharedReading<R> = Arc<Mutex<Reading<R>>>;

impl<R: Read + Send + 'static> Reading<R> {
    pub fn new(file: FileReader<R>, header: Header) -> SharedReading<R> {
        Arc::new(Mutex::new(Self {
            file: Some(file),
            header,
            areas: Vec::new(),
            finished: None,
            failure: None,
        }))
    }

    fn file(&mut self) -> Result<&mut FileReader<R>, String> {
        self.file
            .as_mut()
            .ok_or_else(|| "the backup file was already read to its end".to_owned())
    }

    /// Records the area's sealed manifest; after the last area, reads the plaintext manifest and
    /// checks it says the same.
    fn end_area(&mut self, manifest: AreaManifest) -> Result<(), String> {
        self.areas.push(manifest);
        if self.areas.len() < self.header.areas.len() {
            return Ok(());
        }
        let file = self
            .file
            .take()
            .ok_or("the backup file was already read to its end")?;
        let (plain, digest) = file.finish().map_err(|e| e.to_string())?;
        let listed: Manifest = serde_json::from_slice(&plain)
            .map_err(|e| format!("the backup file's manifest is not readable: {e}"))?;
        let sealed = self.header.manifest(std::mem::take(&mut self.areas));
        if listed != sealed {
            return Err(
                "the backup file's manifest differs from what its sealed chunks say".to_owned(),
            );
        }
        self.finished = Some((sealed, digest));
        Ok(())
    }
}

pub fn lock<R: Read>(shared: &SharedReading<R>) -> MutexGuard<'_, Reading<R>> {
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

/// An area's lines, as its chunks open.
pub struct ChunkLines<R: Read> {
    shared: SharedReading<R>,
    chunk: Vec<u8>,
    at: usize,
    /// The final chunk's plaintext, once reached.
    ended: Option<Vec<u8>>,
}

impl<R: Read + Send + 'static> Lines for ChunkLines<R> {
    fn next_line(&mut self) -> Result<Option<&[u8]>, String> {
        while self.at >= self.chunk.len() {
            if self.ended.is_some() {
                return Ok(None);
            }
            let next = lock(&self.shared)
                .file()?
                .next_chunk()
                .map_err(|e| e.to_string())?;
            self.at = 0;
            match next {
                Chunk::Data(plain) => self.chunk = plain,
                Chunk::Final(plain) => {
                    self.chunk.clear();
                    self.ended = Some(plain);
                }
            }
        }
        Ok(next_line_of(&self.chunk, &mut self.at))
    }
}

/// One area of a streamed file as a restore source: rows checked as they pass, the area checked
/// against its sealed manifest when its last table ends.
pub struct StreamedArea<R: Read> {
    shared: SharedReading<R>,
    area: AuditScope,
    key: BackupKey,
    source: Option<LinesSource<ChunkLines<R>>>,
    checker: Checker,
    table: Option<&'static TableSpec>,
}

impl<R: Read + Send + 'static> StreamedArea<R> {
    pub fn new(shared: SharedReading<R>, area: AuditScope, key: BackupKey) -> Self {
        Self {
            shared,
            area,
            key,
            source: None,
            checker: Checker::default(),
            table: None,
        }
    }

    /// The format the file says it is (3 or later: the streamed layout).
    fn format(&self) -> u32 {
        lock(&self.shared).header.format
    }

    /// Keeps the first reason reading failed and gives the store an error naming it.
    fn fail(&self, reason: String) -> StoreError {
        let mut shared = lock(&self.shared);
        let reason = shared.failure.get_or_insert(reason).clone();
        StoreError::Corrupt(reason)
    }

    fn source(&mut self) -> Result<&mut LinesSource<ChunkLines<R>>, StoreError> {
        self.source
            .as_mut()
            .ok_or_else(|| StoreError::Corrupt("rows were asked for before the data keys".into()))
    }

    fn end(&mut self) -> Result<(), String> {
        let source = self.source.take().ok_or("the area ended twice")?;
        let data_keys = source.carried().len();
        let mut source = source;
        let last = source
            .lines_mut()
            .ended
            .take()
            .ok_or("the area's rows end before its final chunk")?;
        let manifest: AreaManifest = serde_json::from_slice(&last)
            .map_err(|e| format!("the area's sealed manifest is not readable: {e}"))?;
        if manifest.area != self.area.code() {
            return Err(format!(
                "area {}: its final chunk is that of area {}",
                self.area.code(),
                manifest.area
            ));
        }
        let format = self.format();
        std::mem::take(&mut self.checker)
            .finish(self.area, format, data_keys, &manifest)
            .map_err(|reason| format!("area {}: {reason}", self.area.code()))?;
        lock(&self.shared).end_area(manifest)
    }
}

impl<R: Read + Send + 'static> RestoreSource for StreamedArea<R> {
    fn keys(&mut self) -> Result<Vec<CarriedKey>, StoreError> {
        let begun = lock(&self.shared).file().and_then(|f| {
            f.begin_area(&self.key, self.area.code())
                .map_err(|e| e.to_string())
        });
        begun.map_err(|e| self.fail(e))?;
        let lines = ChunkLines {
            shared: self.shared.clone(),
            chunk: Vec::new(),
            at: 0,
            ended: None,
        };
        let source = LinesSource::new(self.area, self.format(), lines)
            .map_err(|e| self.fail(format!("area {}: {e}", self.area.code())))?;
        let keys = source.carried().to_vec();
        self.source = Some(source);
        Ok(keys)
    }

    fn next_table(&mut self) -> Result<Option<&'static TableSpec>, StoreError> {
        let next = self.source()?.next_table();
        match next {
            Ok(Some(spec)) => {
                self.checker.table(spec);
                self.table = Some(spec);
                Ok(Some(spec))
            }
            Ok(None) => {
                self.end().map_err(|e| self.fail(e))?;
                Ok(None)
            }
            Err(e) => Err(self.fail(format!("area {}: {e}", self.area.code()))),
        }
    }

    fn next_row(&mut self, cells: &mut Vec<Cell>) -> Result<bool, StoreError> {
        let more = self.source()?.next_row(cells);
        match more {
            Ok(true) => {
                let spec = self
                    .table
                    .ok_or_else(|| StoreError::Corrupt("no table".into()))?;
                self.checker
                    .row(spec, cells)
                    .map_err(|e| self.fail(format!("area {}: {e}", self.area.code())))?;
                Ok(true)
            }
            Ok(false) => Ok(false),
            Err(e) => Err(self.fail(format!("area {}: {e}", self.area.code()))),
        }
    }
}
