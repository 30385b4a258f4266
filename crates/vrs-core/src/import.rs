//! Importing a municipality's targets (接種対象者) from a resident-registry CSV.
//!
//! The file is streamed: a blocking thread reads and validates rows (phase one and two of
//! [`vrs_interop::targets`]) and hands batches to the store, which seals and stages them in one
//! transaction while the next batch is parsed. After the last row the store reports duplicates within
//! the file and conflicts with other people in the area. By default any bad row means nothing is
//! stored; with `partial` the good rows are stored and the bad ones reported. Every problem names its
//! line, column and reason, and never repeats a My Number.

use std::collections::BTreeSet;
use std::io::Read;
use vrs_store::Areas;

use tokio::sync::mpsc;
use vrs_domain::{AuditAction, MunicipalityCode, Reason};
use vrs_interop::{Encoding, EncodingChoice, FieldError, ReadError, TargetReader};
use vrs_store::{
    GovernanceStore, ImportRow, ImportSummary, ResidentStore, SealedBatch, Sealer, StoreError,
};

use crate::Actor;

/// Rows per batch handed from the parser to the store.
const BATCH: usize = 4096;

/// What to import.
#[derive(Clone, Debug)]
pub struct TargetImport {
    /// The municipality importing; every row must carry this code.
    pub municipality: MunicipalityCode,
    pub encoding: EncodingChoice,
    /// Store the good rows even when some are bad.
    pub partial: bool,
    /// A name for the audit log (the file name, never its content).
    pub source_name: String,
}

/// One refused row's reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub line: u64,
    /// The column's header name (Japanese), when the problem is about one column.
    pub column: Option<String>,
    /// Why, in both languages.
    pub reason: Reason,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.column {
            Some(c) => write!(f, "line {}, {}: {}", self.line, c, self.reason),
            None => write!(f, "line {}: {}", self.line, self.reason),
        }
    }
}

impl From<FieldError> for Problem {
    fn from(e: FieldError) -> Self {
        Problem {
            line: e.line,
            column: e.column.map(|c| c.ja().to_owned()),
            reason: e.reason,
        }
    }
}

/// Receives progress and problems as the import runs (a terminal progress bar, a report file).
pub trait ImportObserver: Send {
    fn progress(&mut self, rows: u64, bytes: u64);
    fn problem(&mut self, problem: &Problem);
}

/// The outcome of an import.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportReport {
    pub encoding: Encoding,
    /// Data rows read.
    pub rows: u64,
    /// Rows refused (each may have several problems).
    pub rejected_rows: u64,
    /// `Some` when the import was committed.
    pub stored: Option<ImportSummary>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file as a whole cannot be read (encoding, header, IO): nothing was stored.
    #[error(transparent)]
    File(#[from] ReadError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the import was interrupted: {0}")]
    Interrupted(String),
    /// The national operator has stopped imports (緊急時の措置): nothing was read or stored.
    #[error(transparent)]
    Stopped(crate::governance::Stopped),
}

/// Refuses an import while the operator has stopped imports.
pub(crate) async fn ensure_imports_run(
    store: &(impl GovernanceStore + ?Sized),
) -> Result<(), ImportError> {
    use crate::governance::{ensure_running, GovernanceError};
    match ensure_running(store, vrs_domain::Function::Import).await {
        Ok(()) => Ok(()),
        Err(GovernanceError::Stopped(s)) => Err(ImportError::Stopped(s)),
        Err(GovernanceError::Store(e)) => Err(e.into()),
        Err(other) => Err(ImportError::Interrupted(other.to_string())),
    }
}

enum Message {
    Batch {
        rows: SealedBatch,
        problems: Vec<Problem>,
        read: u64,
        bytes: u64,
    },
    Done(Encoding),
}

/// Imports `source` into the municipality's area.
pub async fn import_targets<R: Read + Send + 'static>(
    store: &(impl GovernanceStore + ResidentStore + ?Sized),
    actor: &Actor,
    source: R,
    request: &TargetImport,
    observer: &mut dyn ImportObserver,
) -> Result<ImportReport, ImportError> {
    ensure_imports_run(store).await?;
    let scope = request.municipality;
    let mut import = store.area(scope).begin_import().await?;
    let (tx, mut rx) = mpsc::channel::<Result<Message, ImportError>>(2);
    let encoding = request.encoding;
    let sealer = import.sealer();
    let parser = tokio::task::spawn_blocking(move || parse(source, encoding, scope, &sealer, &tx));
    let mut bad_lines = BTreeSet::new();
    let mut rows = 0;
    let mut file_encoding = None;
    while let Some(message) = rx.recv().await {
        match message? {
            Message::Batch {
                rows: batch,
                problems,
                read,
                bytes,
            } => {
                for p in &problems {
                    bad_lines.insert(p.line);
                    observer.problem(p);
                }
                rows = read;
                if !batch.is_empty() {
                    import.stage(batch).await?;
                }
                observer.progress(read, bytes);
            }
            Message::Done(e) => file_encoding = Some(e),
        }
    }
    parser
        .await
        .map_err(|e| ImportError::Interrupted(e.to_string()))?;
    let encoding =
        file_encoding.ok_or_else(|| ImportError::Interrupted("the reader stopped early".into()))?;
    let rejections = import.check().await?;
    for (line, rejection) in &rejections {
        bad_lines.insert(*line);
        observer.problem(&Problem {
            line: *line,
            column: Some(column_name(rejection.column()).to_owned()),
            reason: rejection.reason(),
        });
    }
    let rejected_rows = bad_lines.len() as u64;
    if rejected_rows > 0 && !request.partial {
        drop(import);
        return Ok(ImportReport {
            encoding,
            rows,
            rejected_rows,
            stored: None,
        });
    }
    let refused: Vec<u64> = rejections.iter().map(|(line, _)| *line).collect();
    let audit = actor
        .audit(AuditAction::TargetsImport, &request.source_name)
        .with_detail(format!(
            "rows={rows} invalid={} mode={}",
            rejected_rows - refused.len() as u64,
            if request.partial {
                "partial"
            } else {
                "all-or-nothing"
            }
        ));
    tracing::info!(municipality = %scope, rows, refused = refused.len(), "import checked; merging");
    let stored = import.commit(&refused, audit).await?;
    tracing::info!(municipality = %scope, added = stored.added, updated = stored.updated, "import committed");
    Ok(ImportReport {
        encoding,
        rows,
        rejected_rows,
        stored: Some(stored),
    })
}

fn column_name(english: &str) -> &'static str {
    vrs_interop::Column::ALL
        .into_iter()
        .find(|c| c.en() == english)
        .map(|c| c.ja())
        .unwrap_or("")
}

/// The parser thread: reads, validates, seals and sends batches until the file ends or the receiver
/// goes. Sealing here lets the store write one batch while the next is being prepared.
fn parse<R: Read>(
    source: R,
    encoding: EncodingChoice,
    scope: MunicipalityCode,
    sealer: &Sealer,
    tx: &mpsc::Sender<Result<Message, ImportError>>,
) {
    let mut reader = match TargetReader::new(source, encoding) {
        Ok(r) => r,
        Err(e) => {
            let _ = tx.blocking_send(Err(e.into()));
            return;
        }
    };
    let mut rows = Vec::with_capacity(BATCH);
    let mut problems = Vec::new();
    let mut read = 0u64;
    loop {
        let next = reader.next_row();
        let end = next.is_none();
        match next {
            None => {}
            Some(Err(e)) => {
                let _ = tx.blocking_send(Err(e.into()));
                return;
            }
            Some(Ok(Err(field))) => {
                read += 1;
                problems.push(Problem::from(field));
            }
            Some(Ok(Ok(raw))) => {
                read += 1;
                match raw.parse(scope) {
                    Ok(resident) => rows.push(ImportRow {
                        line: raw.line,
                        resident,
                    }),
                    Err(errors) => problems.extend(errors.into_iter().map(Problem::from)),
                }
            }
        }
        if end || rows.len() >= BATCH || problems.len() >= BATCH {
            let sealed = match sealer.seal(std::mem::replace(&mut rows, Vec::with_capacity(BATCH)))
            {
                Ok(sealed) => sealed,
                Err(e) => {
                    let _ = tx.blocking_send(Err(e.into()));
                    return;
                }
            };
            let batch = Message::Batch {
                rows: sealed,
                problems: std::mem::take(&mut problems),
                read,
                bytes: reader.bytes_read(),
            };
            if tx.blocking_send(Ok(batch)).is_err() {
                return;
            }
        }
        if end {
            let _ = tx.blocking_send(Ok(Message::Done(reader.encoding())));
            return;
        }
    }
}
