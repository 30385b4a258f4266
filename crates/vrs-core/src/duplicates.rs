//! Duplicate people (重複者): finding likely duplicates in the staff's own municipality, the review
//! queue, and reversible merges.
//!
//! Three signals, strongest first:
//! - [`CandidateKind::KanaBirthSex`]: same kana name (spaces ignored), birth date and sex under two
//!   宛名番号 — a re-registration, e.g. after a lost coupon was re-issued. Found in the database
//!   through the search index, without opening a sealed field.
//! - [`CandidateKind::KanjiBirthSex`]: same kanji name, birth date and sex but a different kana
//!   reading — a typo'd reading on a re-registration. Found in the database the same way, through
//!   the kanji name and birth date's search index (a row stored before that index existed is
//!   opened once, the first time its area is scanned, to index it).
//! - [`CandidateKind::UnfetchedMove`]: a person who moved in (the resident registry names the
//!   municipality they came from) and whose doses are still in that area, never fetched. The scan
//!   finds them the way staff would: each of the area's own movers without received doses is sent
//!   through the inquiry ([`crate::inquiry`]) — the named former area only, through its own index,
//!   under the consent rule (a scan confirms nobody's consent, so only where both municipalities
//!   agreed to the no-consent terms), while the `inquiry` function runs, with provision records on
//!   both sides and audit entries without the number. No area's sealed field is opened for another
//!   municipality, and each inquiry is its own short write, so registrations go on during a scan.
//!
//! A merge moves the merged-away person's doses to the kept person and is undone exactly by
//! [`unmerge`]. Every step is audited (`duplicates.scan`, `duplicates.view`, `duplicates.dismiss`,
//! `person.merge`, `person.unmerge`) with the staff's reason; no detail holds a My Number.

use std::collections::HashMap;
use vrs_store::Areas;

use chrono::{DateTime, Utc};
use rand::Rng;
use vrs_domain::{AtenaNumber, AuditAction, DoseRecord, Function, MunicipalityCode, Resident};
use vrs_store::{
    AuditStore, Candidate, CandidateKind, CandidateStatus, DoseStore, DuplicateStore, PersonMerge,
    ResidentStore, Store, StoreError,
};

use crate::governance::{ensure_running, GovernanceError, Stopped};
use crate::inquiry::{consent_basis, inquire_as, new_inquiry_id, InquiryError, InquiryRequest};
use crate::Actor;

/// What a scan found, by kind, and how many of those were new on the queue; and what the
/// cross-move signal could ask.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanReport {
    pub kana_birth_sex: u32,
    pub kanji_birth_sex: u32,
    pub unfetched_move: u32,
    pub added: u32,
    /// Movers without received doses asked about through the inquiry.
    pub movers_asked: u32,
    /// Movers not asked: this municipality and the one they came from have not both agreed to
    /// the no-consent inquiry terms (a scan cannot confirm a person's consent; staff inquire with
    /// it on the inquiry page).
    pub movers_without_consent_basis: u32,
    /// The operator's stop of the inquiry function, when it kept the scan from asking.
    pub inquiry_stopped: Option<Stopped>,
}

#[derive(Debug, thiserror::Error)]
pub enum DuplicateError {
    #[error("a reason is required")]
    NoReason,
    /// Bad input, naming the field.
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("no such candidate or merge in this municipality")]
    NotFound,
    /// The store refused (conflict), saying why.
    #[error("refused: {0}")]
    Refused(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for DuplicateError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => DuplicateError::NotFound,
            StoreError::Conflict(m) => DuplicateError::Refused(m.to_string()),
            other => DuplicateError::Store(other),
        }
    }
}

impl DuplicateError {
    /// The message staff see.
    pub fn message_ja(&self) -> String {
        match self {
            DuplicateError::NoReason => "理由（reason）を入力してください。".into(),
            DuplicateError::Invalid { field, message } => format!("{field}: {message}"),
            DuplicateError::NotFound => "指定された候補または統合はこの自治体にありません。".into(),
            DuplicateError::Refused(m) => format!("処理できませんでした: {m}"),
            DuplicateError::Store(_) => "処理できませんでした。".into(),
        }
    }
}

/// The reason staff give: required, one line, at most 200 characters.
pub fn reason_text(reason: &str) -> Result<String, DuplicateError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(DuplicateError::NoReason);
    }
    if reason.chars().count() > 200 || reason.chars().any(char::is_control) {
        return Err(DuplicateError::Invalid {
            field: "reason",
            message: "the reason must be at most 200 characters on one line".into(),
        });
    }
    Ok(reason.to_owned())
}

/// Scans the area for likely duplicates and puts them on the queue (known ones keep their status).
pub async fn scan(
    store: &dyn Store,
    actor: &Actor,
    scope: MunicipalityCode,
    now: DateTime<Utc>,
) -> Result<ScanReport, DuplicateError> {
    let mut candidates = Vec::new();
    for (a, b) in store
        .area(scope)
        .duplicate_pairs_by_kana_birth_sex()
        .await?
    {
        candidates.push(Candidate::pair(CandidateKind::KanaBirthSex, &a, &b, now));
    }
    for (a, b) in store
        .area(scope)
        .duplicate_pairs_by_kanji_birth_sex()
        .await?
    {
        candidates.push(Candidate::pair(CandidateKind::KanjiBirthSex, &a, &b, now));
    }
    let mut report = ScanReport::default();
    ask_movers(store, actor, scope, now, &mut candidates, &mut report).await?;
    let count = |k: CandidateKind| candidates.iter().filter(|c| c.kind == k).count() as u32;
    report.kana_birth_sex = count(CandidateKind::KanaBirthSex);
    report.kanji_birth_sex = count(CandidateKind::KanjiBirthSex);
    report.unfetched_move = count(CandidateKind::UnfetchedMove);
    let audit = actor
        .audit(AuditAction::DuplicatesScan, scope.as_str())
        .with_detail(format!(
            "kana_birth_sex={} kanji_birth_sex={} unfetched_move={} movers_asked={} \
             movers_without_consent_basis={}{}",
            report.kana_birth_sex,
            report.kanji_birth_sex,
            report.unfetched_move,
            report.movers_asked,
            report.movers_without_consent_basis,
            if report.inquiry_stopped.is_some() {
                " inquiry=stopped"
            } else {
                ""
            }
        ));
    report.added = store
        .area(scope)
        .put_duplicate_candidates(&candidates, &audit)
        .await?;
    Ok(report)
}

/// The cross-move signal: each of the area's movers without doses received from where they came
/// from is asked about through the inquiry, as staff would ask; one whose former area answers with
/// doses becomes a candidate.
async fn ask_movers(
    store: &dyn Store,
    actor: &Actor,
    scope: MunicipalityCode,
    now: DateTime<Utc>,
    candidates: &mut Vec<Candidate>,
    report: &mut ScanReport,
) -> Result<(), DuplicateError> {
    let movers = store.area(scope).movers().await?;
    if movers.is_empty() {
        return Ok(());
    }
    match ensure_running(store, Function::Inquiry).await {
        Ok(()) => {}
        Err(GovernanceError::Stopped(s)) => {
            report.inquiry_stopped = Some(s);
            return Ok(());
        }
        Err(GovernanceError::Store(e)) => return Err(e.into()),
        Err(other) => return Err(DuplicateError::Refused(other.to_string())),
    }
    // The consent rule depends on the two municipalities only.
    let mut basis: HashMap<MunicipalityCode, bool> = HashMap::new();
    for m in movers {
        let agreed = match basis.get(&m.from) {
            Some(agreed) => *agreed,
            None => {
                let agreed = match consent_basis(store, scope, m.from, false).await {
                    Ok(_) => true,
                    Err(InquiryError::ConsentRequired) => false,
                    Err(e) => return Err(inquiry_error(e)),
                };
                basis.insert(m.from, agreed);
                agreed
            }
        };
        if !agreed {
            report.movers_without_consent_basis += 1;
            continue;
        }
        // The person's own record, in this area: the number asked with.
        let person = store.area(scope).resident(&m.atena).await?;
        let request = InquiryRequest {
            my_number: person.my_number,
            former: m.from,
            consent: false,
        };
        let id = new_inquiry_id(false);
        match inquire_as(store, actor, scope, &request, &id).await {
            Ok(answer) => {
                report.movers_asked += 1;
                if answer.found && !answer.doses.is_empty() {
                    candidates.push(Candidate::unfetched(&m.atena, m.from, now));
                }
            }
            Err(InquiryError::Stopped(s)) => {
                report.inquiry_stopped = Some(s);
                return Ok(());
            }
            Err(e) => return Err(inquiry_error(e)),
        }
    }
    Ok(())
}

fn inquiry_error(e: InquiryError) -> DuplicateError {
    match e {
        InquiryError::Store(e) => e.into(),
        other => DuplicateError::Refused(other.to_string()),
    }
}

/// A new merge ID: `M-`, the day in Japan and 8 random hex digits.
pub fn new_merge_id() -> String {
    let day = crate::japan_today().format("%Y%m%d");
    let n: u32 = rand::thread_rng().gen();
    format!("M-{day}-{n:08X}")
}

/// Merges `merged` into `kept` (both of `scope`), with the staff's reason.
pub async fn merge(
    store: &(impl DuplicateStore + ?Sized),
    actor: &Actor,
    scope: MunicipalityCode,
    kept: &AtenaNumber,
    merged: &AtenaNumber,
    reason: &str,
) -> Result<PersonMerge, DuplicateError> {
    let reason = reason_text(reason)?;
    if kept == merged {
        return Err(DuplicateError::Invalid {
            field: "merged",
            message: "the person merged away must differ from the person kept".into(),
        });
    }
    let id = new_merge_id();
    let audit = actor
        .audit(AuditAction::PersonMerge, kept.as_str())
        .with_detail(format!(
            "merge={id} kept={kept} merged={merged} reason: {reason}"
        ));
    let at = audit.at;
    Ok(store
        .area(scope)
        .merge_people(kept, merged, &id, &actor.user, at, &audit)
        .await?)
}

/// Undoes a merge of `scope`, with the staff's reason.
pub async fn unmerge(
    store: &(impl DuplicateStore + ?Sized),
    actor: &Actor,
    scope: MunicipalityCode,
    merge_id: &str,
    reason: &str,
) -> Result<PersonMerge, DuplicateError> {
    let reason = reason_text(reason)?;
    let known = store.area(scope).person_merges().await?;
    let m = known
        .iter()
        .find(|m| m.merge_id == merge_id)
        .ok_or(DuplicateError::NotFound)?;
    let audit = actor
        .audit(AuditAction::PersonUnmerge, m.kept.as_str())
        .with_detail(format!(
            "merge={merge_id} kept={} merged={} reason: {reason}",
            m.kept, m.merged
        ));
    Ok(store
        .area(scope)
        .unmerge(merge_id, &actor.user, &audit)
        .await?)
}

/// Dismisses an open candidate of `scope` (not a duplicate), with the staff's reason.
pub async fn dismiss(
    store: &(impl DuplicateStore + ?Sized),
    actor: &Actor,
    scope: MunicipalityCode,
    candidate_id: &str,
    reason: &str,
) -> Result<(), DuplicateError> {
    let reason = reason_text(reason)?;
    let audit = actor
        .audit(AuditAction::DuplicatesDismiss, candidate_id)
        .with_detail(format!("reason: {reason}"));
    let dismissed = CandidateStatus::Dismissed;
    store
        .area(scope)
        .decide_candidate(candidate_id, dismissed, &actor.user, &audit)
        .await?;
    Ok(())
}

/// One person of a candidate as the queue shows them: absent when no longer in the area.
#[derive(Clone, Debug)]
pub struct QueuePerson {
    pub atena: AtenaNumber,
    pub person: Option<Resident>,
    pub doses: Vec<DoseRecord>,
}

/// An open candidate with its people.
#[derive(Clone, Debug)]
pub struct QueueItem {
    pub candidate: Candidate,
    pub people: Vec<QueuePerson>,
}

/// The review queue: open candidates with their people, and the merge history.
#[derive(Clone, Debug)]
pub struct Queue {
    pub open: Vec<QueueItem>,
    pub merges: Vec<PersonMerge>,
}

/// The area's queue for staff to review; the read of the people shown is audited
/// (`duplicates.view`, with how many candidates and people).
pub async fn review_queue(
    store: &(impl AuditStore + DoseStore + DuplicateStore + ResidentStore + ?Sized),
    actor: &Actor,
    scope: MunicipalityCode,
) -> Result<Queue, DuplicateError> {
    let open = store
        .area(scope)
        .duplicate_candidates(Some(CandidateStatus::Open))
        .await?;
    let mut items = Vec::with_capacity(open.len());
    let mut shown = 0;
    for candidate in open {
        let mut people = Vec::new();
        for atena in std::iter::once(&candidate.atena_a).chain(candidate.atena_b.as_ref()) {
            let person = match store.area(scope).resident(atena).await {
                Ok(r) => Some(r),
                Err(StoreError::NotFound) => None,
                Err(e) => return Err(e.into()),
            };
            shown += usize::from(person.is_some());
            let doses = store.area(scope).doses_of(atena).await?;
            people.push(QueuePerson {
                atena: atena.clone(),
                person,
                doses,
            });
        }
        items.push(QueueItem { candidate, people });
    }
    let audit = actor
        .audit(AuditAction::DuplicatesView, scope.as_str())
        .with_detail(format!("candidates={} people={shown}", items.len()));
    store.append_audit(scope.into(), &audit).await?;
    Ok(Queue {
        open: items,
        merges: store.area(scope).person_merges().await?,
    })
}
