//! Bulk inquiry (一括照会): a CSV of My Numbers with the municipality each person moved from,
//! processed as one job under one batch ID. Every row follows the rules of a single inquiry; a row
//! that cannot be read or is refused gets its reason, the others are answered. The job's results
//! are kept as a CSV (宛名番号 and doses, never a My Number) for download.

use std::io::Read;
use vrs_store::Areas;

use chrono::{DateTime, Utc};
use vrs_domain::{AuditAction, Function, MunicipalityCode};
use vrs_interop::{CsvWriter, Encoding, EncodingChoice, InquiryReader, ReadError};
use vrs_store::{
    CertificateStore, DoseStore, InquiryJob, InquiryStore, ProvidedDose, ResidentStore, Store,
    StoreError,
};

use crate::governance::{ensure_running, GovernanceError};
use crate::inquiry::{inquire_as, new_inquiry_id, InquiryError, InquiryRequest};
use crate::Actor;

/// The most rows one file may hold.
pub const MAX_ROWS: usize = 50_000;

/// What became of one row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BulkOutcome {
    Found {
        own_atena: Option<String>,
        doses: Vec<ProvidedDose>,
    },
    NotFound,
    /// Refused by a rule of inquiry (consent, own municipality); the Japanese message.
    Refused(String),
    /// The row could not be read: each problem as `column: reason`.
    Invalid(Vec<vrs_domain::Reason>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BulkRow {
    pub line: u64,
    pub former: Option<MunicipalityCode>,
    pub inquiry_id: Option<String>,
    pub outcome: BulkOutcome,
}

#[derive(Debug, thiserror::Error)]
pub enum BulkError {
    #[error(transparent)]
    Stopped(crate::governance::Stopped),
    #[error("the file cannot be read: {0}")]
    File(#[from] ReadError),
    #[error("the file holds more than {MAX_ROWS} rows; split it")]
    TooManyRows,
    #[error("the file holds no rows")]
    Empty,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A finished job: its stored summary and every row.
#[derive(Clone, Debug)]
pub struct BulkReport {
    pub job: InquiryJob,
    pub rows: Vec<BulkRow>,
}

/// Runs a bulk inquiry file for `requester` (the staff's own municipality) as one job.
pub async fn inquire_bulk<R: Read>(
    store: &dyn Store,
    actor: &Actor,
    requester: MunicipalityCode,
    file: R,
    encoding: EncodingChoice,
) -> Result<BulkReport, BulkError> {
    match ensure_running(store, Function::Inquiry).await {
        Err(GovernanceError::Stopped(s)) => return Err(BulkError::Stopped(s)),
        Err(GovernanceError::Store(e)) => return Err(e.into()),
        _ => {}
    }
    // The whole file is read and checked before anything is asked.
    let mut reader = InquiryReader::new(file, encoding)?;
    let mut lines = Vec::new();
    while let Some(row) = reader.next_line() {
        lines.push(row?);
        if lines.len() > MAX_ROWS {
            return Err(BulkError::TooManyRows);
        }
    }
    if lines.is_empty() {
        return Err(BulkError::Empty);
    }
    let batch = new_inquiry_id(true);
    let started: DateTime<Utc> = Utc::now();
    let mut rows = Vec::with_capacity(lines.len());
    for line in lines {
        let row = match line {
            Err(problems) => BulkRow {
                line: problems.first().map_or(0, |p| p.line),
                former: None,
                inquiry_id: None,
                outcome: BulkOutcome::Invalid(
                    problems
                        .iter()
                        .map(|p| match &p.column {
                            Some(c) => vrs_domain::Reason::new(
                                p.reason.code,
                                format!("{}: {}", c.ja(), p.reason.ja),
                                format!("{}: {}", c.en(), p.reason.en),
                            ),
                            None => p.reason.clone(),
                        })
                        .collect(),
                ),
            },
            Ok(l) => {
                let id = format!("{batch}-{:06}", l.line);
                let request = InquiryRequest {
                    my_number: l.my_number,
                    former: l.former,
                    consent: l.consent,
                };
                let outcome = match inquire_as(store, actor, requester, &request, &id).await {
                    Ok(a) if a.found => BulkOutcome::Found {
                        own_atena: a.own_atena.map(|a| a.to_string()),
                        doses: a.doses,
                    },
                    Ok(_) => BulkOutcome::NotFound,
                    Err(InquiryError::Store(e)) => return Err(e.into()),
                    Err(e) => BulkOutcome::Refused(e.message_ja()),
                };
                let asked = !matches!(outcome, BulkOutcome::Refused(_));
                BulkRow {
                    line: l.line,
                    former: Some(l.former),
                    inquiry_id: asked.then_some(id),
                    outcome,
                }
            }
        };
        rows.push(row);
    }
    let count = |f: fn(&BulkOutcome) -> bool| rows.iter().filter(|r| f(&r.outcome)).count() as u32;
    let job = InquiryJob {
        municipality: requester,
        batch: batch.clone(),
        created_by: actor.user.clone(),
        created_at: started,
        rows: rows.len() as u32,
        found: count(|o| matches!(o, BulkOutcome::Found { .. })),
        not_found: count(|o| matches!(o, BulkOutcome::NotFound)),
        refused: count(|o| matches!(o, BulkOutcome::Refused(_))),
        invalid: count(|o| matches!(o, BulkOutcome::Invalid(_))),
        results_csv: results_csv(&rows).map_err(|e| StoreError::Corrupt(e.to_string()))?,
    };
    let audit = actor
        .audit(AuditAction::InquirySend, &batch)
        .with_outcome("bulk")
        .with_detail(format!(
            "rows={} found={} not_found={} refused={} invalid={}",
            job.rows, job.found, job.not_found, job.refused, job.invalid
        ));
    store.save_inquiry_job(&job, &audit).await?;
    Ok(BulkReport { job, rows })
}

/// The columns of a job's results file.
pub const RESULTS_HEADER: [&str; 13] = [
    "行番号",
    "転出元自治体コード",
    "転出元自治体名",
    "結果",
    "宛名番号",
    "接種回",
    "接種日",
    "ワクチン",
    "メーカー",
    "ロット番号",
    "接種券番号",
    "接種自治体コード",
    "照会番号・備考",
];

/// The results as CSV text (UTF-8, no BOM; [`encode_results`] makes the download): one row per
/// dose found, one row for a row without doses.
pub fn results_csv(rows: &[BulkRow]) -> std::io::Result<String> {
    let mut out = Vec::new();
    let mut w = CsvWriter::start(&mut out, Encoding::Utf8, &RESULTS_HEADER)?;
    for r in rows {
        let former = r.former.map(|f| f.to_string()).unwrap_or_default();
        let name = r
            .former
            .map(|f| f.info().name.to_owned())
            .unwrap_or_default();
        let id = r.inquiry_id.clone().unwrap_or_default();
        let base = |result: &str, atena: &str, note: String| -> Vec<String> {
            let mut v = vec![
                r.line.to_string(),
                former.clone(),
                name.clone(),
                result.to_owned(),
                atena.to_owned(),
            ];
            v.extend(std::iter::repeat_n(String::new(), 7));
            v.push(note);
            v
        };
        let key = format!("line {}", r.line);
        match &r.outcome {
            BulkOutcome::Found { own_atena, doses } if !doses.is_empty() => {
                for d in doses {
                    let product = vrs_domain::VaccineProduct::by_code(&d.product_code);
                    let mut row = base("該当あり", own_atena.as_deref().unwrap_or(""), id.clone());
                    row[5] = d.dose_number.to_string();
                    row[6] = d.administered_on.format("%Y-%m-%d").to_string();
                    row[7] = product.map_or(d.product_code.clone(), |p| p.name_ja.to_owned());
                    row[8] = product.map_or(String::new(), |p| p.ledger_maker_name().to_owned());
                    row[9] = d.lot_number.clone();
                    row[10] = d.coupon.to_string();
                    row[11] = d.site_municipality.to_string();
                    w.row(&key, &row)?;
                }
            }
            BulkOutcome::Found { own_atena, .. } => w.row(
                &key,
                &base(
                    "該当あり（接種記録なし）",
                    own_atena.as_deref().unwrap_or(""),
                    id,
                ),
            )?,
            BulkOutcome::NotFound => w.row(&key, &base("該当なし", "", id))?,
            BulkOutcome::Refused(m) => w.row(&key, &base("照会不可", "", m.clone()))?,
            BulkOutcome::Invalid(p) => {
                let said: Vec<&str> = p.iter().map(|r| r.ja.as_str()).collect();
                w.row(&key, &base("入力誤り", "", said.join(" / ")))?
            }
        }
    }
    w.finish()?;
    let text = String::from_utf8(out).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(text.trim_start_matches('\u{feff}').to_owned())
}

/// The stored results in the encoding asked for (UTF-8 with a BOM, or CP932).
pub fn encode_results(csv: &str, encoding: Encoding) -> Vec<u8> {
    match encoding {
        Encoding::Utf8 => {
            let mut v = "\u{feff}".as_bytes().to_vec();
            v.extend_from_slice(csv.as_bytes());
            v
        }
        // Every field is a code, a digit string, a catalogue name or one of the messages above,
        // all of which CP932 holds.
        Encoding::Cp932 => encoding_rs::SHIFT_JIS.encode(csv).0.into_owned(),
    }
}

/// What registering a bulk inquiry's findings did: each inquiry of the batch that found someone
/// held by this municipality, registered or refused on its own (one person's doses all or none).
#[derive(Debug, Default)]
pub struct BatchRegistered {
    pub registered: Vec<(String, crate::inquiry::Registered)>,
    pub refused: Vec<(String, crate::inquiry::RegisterInquiredError)>,
}

/// Registers, in one step, the received doses of every inquiry of `batch` (a bulk inquiry of the
/// own municipality) that found the person: as [`crate::inquiry::register_received`] does for one,
/// each audited on its own. Registering a batch again changes nothing already registered.
pub async fn register_batch(
    store: &(impl CertificateStore + DoseStore + InquiryStore + ResidentStore + ?Sized),
    actor: &Actor,
    scope: MunicipalityCode,
    batch: &str,
    today: chrono::NaiveDate,
) -> Result<BatchRegistered, StoreError> {
    let job = store.area(scope).inquiry_job(batch).await?;
    let filter = vrs_store::ProvisionFilter {
        side: Some(vrs_store::ProvisionSide::Inquired),
        inquiry_prefix: Some(format!("{}-", job.batch)),
        limit: job.rows.max(1),
        ..vrs_store::ProvisionFilter::default()
    };
    let mut found: Vec<String> = store
        .area(scope)
        .provision_records(&filter)
        .await?
        .into_iter()
        .filter(|r| r.found)
        .map(|r| r.inquiry_id)
        .collect();
    found.sort();
    let mut done = BatchRegistered::default();
    for id in found {
        match crate::inquiry::register_received(store, actor, scope, &id, today).await {
            Ok(r) => done.registered.push((id, r)),
            Err(crate::inquiry::RegisterInquiredError::Store(e)) => return Err(e),
            Err(e) => done.refused.push((id, e)),
        }
    }
    Ok(done)
}
