//! Exporting a municipality's doses: the VRS ledger layout 「予防接種台帳向け出力」 (one row per
//! person, read by existing municipal ledger systems) or one CSV row per dose, in UTF-8 or CP932.
//! The area is read page by page and written as it is read, so an export of a large city never
//! sits in memory. No export carries a My Number, a name or a birth date: only the 宛名番号 ties a row
//! to a person, as the ledger layout fixed.

use std::io::Write;
use std::str::FromStr;
use std::sync::Arc;
use vrs_store::Areas;

use vrs_domain::{AtenaNumber, AuditAction, MunicipalityCode};
use vrs_interop::{DoseCsvWriter, Encoding, LedgerPerson, LedgerWriter};
use vrs_store::{DoseStore, PersonDoses, Store, StoreError};

use crate::Actor;

/// People read per page.
const PAGE: u32 = 2000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// 「予防接種台帳向け出力」: one row per person.
    Ledger,
    /// One row per dose.
    Csv,
}

impl ExportFormat {
    pub fn name(self) -> &'static str {
        match self {
            ExportFormat::Ledger => "vrs-ledger",
            ExportFormat::Csv => "csv",
        }
    }
}

impl FromStr for ExportFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "vrs-ledger" | "ledger" => Ok(ExportFormat::Ledger),
            "csv" => Ok(ExportFormat::Csv),
            other => Err(format!(
                "unknown export format {other:?}: use vrs-ledger or csv"
            )),
        }
    }
}

#[derive(Clone, Debug)]
pub struct DoseExport {
    pub municipality: MunicipalityCode,
    pub format: ExportFormat,
    pub encoding: Encoding,
}

impl DoseExport {
    /// A file name for downloads: `doses-382060-vrs-ledger-cp932.csv`.
    pub fn file_name(&self) -> String {
        format!(
            "doses-{}-{}-{}.csv",
            self.municipality,
            self.format.name(),
            self.encoding.name().to_ascii_lowercase()
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write the export: {0}")]
    Write(#[from] std::io::Error),
    #[error("the export stopped: {0}")]
    Interrupted(String),
}

/// Writes the municipality's doses to `out` and audits the export (format, encoding and count)
/// in the municipality's chain. Returns the rows written (people for the ledger, doses for csv).
pub async fn export_doses<W: Write + Send + 'static>(
    store: Arc<dyn Store>,
    actor: &Actor,
    request: &DoseExport,
    out: W,
) -> Result<u64, ExportError> {
    let scope = request.municipality;
    let task = {
        let store = store.clone();
        let request = request.clone();
        let handle = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || write_all(&*store, &handle, &request, out))
    };
    let result = task
        .await
        .map_err(|e| ExportError::Interrupted(e.to_string()))
        .and_then(|r| r);
    let outcome = match &result {
        Ok(_) => "ok",
        Err(_) => "failed",
    };
    let audit = actor
        .audit(AuditAction::DosesExport, &request.file_name())
        .with_outcome(outcome)
        .with_detail(format!(
            "format={} encoding={} rows={}",
            request.format.name(),
            request.encoding.name(),
            result.as_ref().copied().unwrap_or(0)
        ));
    store.append_audit(scope.into(), &audit).await?;
    result
}

/// Calls `each` with every page of the area's people with doses.
fn pages(
    store: &(impl DoseStore + ?Sized),
    handle: &tokio::runtime::Handle,
    scope: MunicipalityCode,
    mut each: impl FnMut(&[PersonDoses]) -> Result<(), ExportError>,
) -> Result<(), ExportError> {
    let mut after: Option<AtenaNumber> = None;
    loop {
        let page = handle.block_on(store.area(scope).area_doses(after.as_ref(), PAGE))?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        after = Some(last.atena.clone());
        each(&page)?;
    }
}

fn write_all<W: Write>(
    store: &(impl DoseStore + ?Sized),
    handle: &tokio::runtime::Handle,
    request: &DoseExport,
    out: W,
) -> Result<u64, ExportError> {
    let scope = request.municipality;
    match request.format {
        ExportFormat::Ledger => {
            // The header names every dose number present, so the widest person is found first.
            let mut max_dose = 1u8;
            pages(store, handle, scope, |page| {
                let most = page
                    .iter()
                    .flat_map(|p| &p.doses)
                    .map(|d| d.dose.dose_number.get());
                max_dose = most.fold(max_dose, u8::max);
                Ok(())
            })?;
            let mut writer = LedgerWriter::start(out, request.encoding, max_dose)?;
            pages(store, handle, scope, |page| {
                for p in page {
                    writer.person(LedgerPerson {
                        atena: &p.atena,
                        doses: &p.doses,
                    })?;
                }
                Ok(())
            })?;
            Ok(writer.finish()?)
        }
        ExportFormat::Csv => {
            let mut writer = DoseCsvWriter::start(out, request.encoding)?;
            pages(store, handle, scope, |page| {
                for d in page.iter().flat_map(|p| &p.doses) {
                    writer.dose(d)?;
                }
                Ok(())
            })?;
            Ok(writer.finish()?)
        }
    }
}
