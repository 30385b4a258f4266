//! Registering doses in bulk from a CSV (typically OCR of 予診票): every row is read, tied to a
//! person of the municipality by coupon number, and checked against the data-quality rules with the
//! person's stored doses and the file's earlier rows. By default any bad row means nothing is stored;
//! with `partial` the good rows are stored. A row that states a dose exactly as already stored is
//! unchanged, so importing the same file twice changes nothing. Every problem names its line, column
//! and reason.

use std::collections::{BTreeSet, HashMap};
use std::io::Read;
use vrs_store::Areas;

use chrono::NaiveDate;
use vrs_domain::{AuditAction, CouponNumber, DoseRecord, DoseSource, MunicipalityCode, Reason};
use vrs_interop::{DoseColumn, DoseFieldError, DoseLine, DoseReader, Encoding, EncodingChoice};
use vrs_store::{
    CertificateStore, CouponHolder, DoseStore, GovernanceStore, ResidentStore, StoreError,
};

use crate::doses::{record_for, rules_for};
use crate::import::{ImportError, ImportObserver, Problem};
use crate::Actor;

/// What to import.
#[derive(Clone, Debug)]
pub struct DoseImport {
    /// The importing municipality: every coupon must be one of its targets.
    pub municipality: MunicipalityCode,
    pub encoding: EncodingChoice,
    /// Store the good rows even when some are bad.
    pub partial: bool,
    /// A name for the audit log (the file name, never its content).
    pub source_name: String,
    /// The day the rules treat as today.
    pub today: NaiveDate,
}

/// The outcome of a dose import.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DoseImportReport {
    pub encoding: Encoding,
    pub rows: u64,
    pub rejected_rows: u64,
    /// Rows stating a dose exactly as it is already stored.
    pub unchanged: u64,
    /// Doses stored; `None` when nothing was stored because of bad rows.
    pub added: Option<u64>,
}

impl From<DoseFieldError> for Problem {
    fn from(e: DoseFieldError) -> Self {
        Problem {
            line: e.line,
            column: e.column.map(|c| c.ja().to_owned()),
            reason: e.reason,
        }
    }
}

/// Reads the whole file on a blocking thread: rows and their field problems, in file order.
type Parsed = (Encoding, Vec<Result<DoseLine, Vec<Problem>>>);

fn parse<R: Read>(
    source: R,
    choice: EncodingChoice,
    home: MunicipalityCode,
) -> Result<Parsed, ImportError> {
    let mut reader = DoseReader::new(source, choice)?;
    let mut out = Vec::new();
    while let Some(row) = reader.next_row() {
        out.push(match row? {
            Err(field) => Err(vec![Problem::from(field)]),
            Ok(raw) => raw
                .parse(home)
                .map_err(|errors| errors.into_iter().map(Problem::from).collect()),
        });
    }
    Ok((reader.encoding(), out))
}

/// A person met in the file (no sealed field opened), with their stored doses and the file's
/// doses accepted so far.
struct Person {
    resident: CouponHolder,
    doses: Vec<DoseRecord>,
}

fn problem(observer: &mut dyn ImportObserver, bad: &mut BTreeSet<u64>, p: Problem) {
    bad.insert(p.line);
    observer.problem(&p);
}

/// Imports a dose file into the municipality's area.
pub async fn import_doses<R: Read + Send + 'static>(
    store: &(impl CertificateStore + DoseStore + GovernanceStore + ResidentStore + ?Sized),
    actor: &Actor,
    source: R,
    request: &DoseImport,
    observer: &mut dyn ImportObserver,
) -> Result<DoseImportReport, ImportError> {
    crate::import::ensure_imports_run(store).await?;
    let scope = request.municipality;
    let choice = request.encoding;
    let (encoding, lines) = tokio::task::spawn_blocking(move || parse(source, choice, scope))
        .await
        .map_err(|e| ImportError::Interrupted(e.to_string()))??;
    let mut people: HashMap<CouponNumber, Option<Person>> = HashMap::new();
    let mut accepted: Vec<DoseRecord> = Vec::new();
    let mut bad_lines = BTreeSet::new();
    let mut unchanged = 0u64;
    let rows = lines.len() as u64;
    for (i, line) in lines.into_iter().enumerate() {
        let line = match line {
            Ok(line) => line,
            Err(problems) => {
                for p in problems {
                    problem(observer, &mut bad_lines, p);
                }
                continue;
            }
        };
        let person = match people.get_mut(&line.coupon) {
            Some(p) => p,
            None => {
                let found = match store.area(scope).coupon_holder(&line.coupon).await {
                    Ok(resident) => {
                        let doses = store.area(scope).doses_of(&resident.atena).await?;
                        Some(Person { resident, doses })
                    }
                    Err(StoreError::NotFound) => None,
                    Err(e) => return Err(e.into()),
                };
                people.entry(line.coupon).or_insert(found)
            }
        };
        let Some(person) = person else {
            problem(
                observer,
                &mut bad_lines,
                Problem {
                    line: line.line,
                    column: Some(DoseColumn::Coupon.ja().to_owned()),
                    reason: Reason::new(
                        "coupon_not_held",
                        "この自治体の接種対象者にこの接種券番号の人はいません。",
                        "no target of this municipality holds this coupon",
                    ),
                },
            );
            continue;
        };
        if person.doses.iter().any(|d| d.statement() == line.statement) {
            unchanged += 1;
            continue;
        }
        let record = record_for(&person.resident, line.statement, DoseSource::Csv);
        let rules = rules_for(&record, &person.doses, &person.resident, request.today);
        if rules.is_empty() {
            person.doses.push(record.clone());
            accepted.push(record);
        } else {
            for rule in rules {
                problem(
                    observer,
                    &mut bad_lines,
                    Problem {
                        line: line.line,
                        column: None,
                        reason: Reason::new(
                            rule.code(),
                            format!("{}（{}）", rule.message_ja(), rule.code()),
                            format!("{} ({})", rule.message_en(), rule.code()),
                        ),
                    },
                );
            }
        }
        if i % 1024 == 0 {
            observer.progress(i as u64 + 1, 0);
        }
    }
    observer.progress(rows, 0);
    let rejected_rows = bad_lines.len() as u64;
    let mut report = DoseImportReport {
        encoding,
        rows,
        rejected_rows,
        unchanged,
        added: None,
    };
    if rejected_rows > 0 && !request.partial {
        return Ok(report);
    }
    let audit = actor
        .audit(AuditAction::DosesImport, &request.source_name)
        .with_detail(format!(
            "rows={rows} added={} unchanged={unchanged} rejected={rejected_rows} mode={}",
            accepted.len(),
            if request.partial {
                "partial"
            } else {
                "all-or-nothing"
            }
        ));
    store
        .area(scope)
        .add_doses(&accepted, &actor.user, &audit)
        .await?;
    crate::lifecycle::doses_added(store, scope, accepted.iter().map(|r| &r.dose.atena), &audit)
        .await;
    report.added = Some(accepted.len() as u64);
    Ok(report)
}
