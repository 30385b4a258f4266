//! Duplicate people: the review queue of likely duplicates (`duplicate_candidates`) and reversible
//! merges (`person_merges`).
//!
//! A merge keeps what unmerge needs to put both people back exactly: the merged-away person's
//! `residents` row and both people's `doses` rows as stored, cell by cell (sealed fields stay
//! sealed, their bytes verbatim), in [`MergeSnapshot`]. The cells are those of the backup table
//! specs ([`crate::backup::AREA_TABLES`]), so both backends write and read one format and a merge
//! travels in a backup like any other row. `after_digest` is the SHA-256 of the kept person's dose
//! rows right after the merge: unmerge refuses when they changed since.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use vrs_domain::{AtenaNumber, MunicipalityCode};

use crate::{AuditEntry, StoreError};
use crate::{ConflictKind, UniqueKey};

mod snapshot;

pub use snapshot::MergeSnapshot;
pub(crate) use snapshot::{combine, digest, spec};

/// Why two records were put on the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CandidateKind {
    /// Same kana name (spaces ignored), birth date and sex, different 宛名番号 (strong: a
    /// re-registration, e.g. after a coupon was reported lost and re-issued).
    KanaBirthSex,
    /// Same kanji name, birth date and sex but a different kana reading (weaker: a typo'd reading
    /// on a re-registration).
    KanjiBirthSex,
    /// A person whose doses exist in the area they moved from but were never fetched.
    UnfetchedMove,
}

impl CandidateKind {
    pub const ALL: [CandidateKind; 3] = [
        CandidateKind::KanaBirthSex,
        CandidateKind::KanjiBirthSex,
        CandidateKind::UnfetchedMove,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CandidateKind::KanaBirthSex => "kana_birth_sex",
            CandidateKind::KanjiBirthSex => "kanji_birth_sex",
            CandidateKind::UnfetchedMove => "unfetched_move",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether the candidate names two people of the area (and so can be merged).
    pub fn is_pair(self) -> bool {
        self != CandidateKind::UnfetchedMove
    }
}

/// Where a candidate stands in the review.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CandidateStatus {
    Open,
    Dismissed,
    Merged,
}

impl CandidateStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CandidateStatus::Open => "open",
            CandidateStatus::Dismissed => "dismissed",
            CandidateStatus::Merged => "merged",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Open, Self::Dismissed, Self::Merged]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// One entry of the review queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Deterministic from kind and people ([`Candidate::id_for`]): a second scan finds the same ID.
    pub candidate_id: String,
    pub kind: CandidateKind,
    /// The lower 宛名番号 of a pair, or the person of an unfetched move.
    pub atena_a: AtenaNumber,
    /// The higher 宛名番号 of a pair.
    pub atena_b: Option<AtenaNumber>,
    /// For an unfetched move: the municipality holding the earlier doses.
    pub other_municipality: Option<MunicipalityCode>,
    pub found_at: DateTime<Utc>,
    pub status: CandidateStatus,
    pub decided_by: String,
    pub decided_at: Option<DateTime<Utc>>,
    pub merge_id: Option<String>,
}

impl Candidate {
    /// A new open candidate naming two people (in either order).
    pub fn pair(
        kind: CandidateKind,
        a: &AtenaNumber,
        b: &AtenaNumber,
        found_at: DateTime<Utc>,
    ) -> Self {
        let (a, b) = if a <= b { (a, b) } else { (b, a) };
        Self::new(kind, a.clone(), Some(b.clone()), None, found_at)
    }

    /// A new open candidate for a person whose doses stayed in `from`.
    pub fn unfetched(atena: &AtenaNumber, from: MunicipalityCode, found_at: DateTime<Utc>) -> Self {
        let kind = CandidateKind::UnfetchedMove;
        Self::new(kind, atena.clone(), None, Some(from), found_at)
    }

    fn new(
        kind: CandidateKind,
        atena_a: AtenaNumber,
        atena_b: Option<AtenaNumber>,
        other: Option<MunicipalityCode>,
        found_at: DateTime<Utc>,
    ) -> Self {
        Self {
            candidate_id: Self::id_for(kind, &atena_a, atena_b.as_ref(), other),
            kind,
            atena_a,
            atena_b,
            other_municipality: other,
            found_at,
            status: CandidateStatus::Open,
            decided_by: String::new(),
            decided_at: None,
            merge_id: None,
        }
    }

    /// `D` and 16 hex digits of the SHA-256 of kind and people: the same finding, the same ID.
    pub fn id_for(
        kind: CandidateKind,
        a: &AtenaNumber,
        b: Option<&AtenaNumber>,
        other: Option<MunicipalityCode>,
    ) -> String {
        let text = format!(
            "{}|{}|{}|{}",
            kind.as_str(),
            a.as_str(),
            b.map(AtenaNumber::as_str).unwrap_or(""),
            other.as_ref().map(MunicipalityCode::as_str).unwrap_or("")
        );
        let digest = vrs_crypto::sha256(text.as_bytes());
        let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!("D{hex}")
    }
}

/// A person of the area who moved in from another municipality (as the resident registry says)
/// and holds no dose received from it: whom a duplicate scan asks about, through the inquiry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mover {
    pub atena: AtenaNumber,
    pub from: MunicipalityCode,
}

/// The area's movers without doses received from where they moved from (same SQL on both
/// backends, `$1` the area): one area's rows only.
pub(crate) const MOVERS_SQL: &str = "SELECT r.atena_number, r.moved_in_from FROM residents r \
     WHERE r.municipality_code = $1 AND r.moved_in_from IS NOT NULL \
     AND NOT EXISTS (SELECT 1 FROM doses d WHERE d.municipality_code = r.municipality_code \
     AND d.atena_number = r.atena_number AND d.received_from = r.moved_in_from) \
     ORDER BY r.atena_number";

/// The area's pairs of the kana signal on PostgreSQL (`$1` the area; SQLite's names its index): same
/// kana index (kana name and birth date) and sex, lower 宛名番号 first. The birth date's index is
/// joined too, which the kana index implies, so that the join walks the search index in order.
pub(crate) const KANA_PAIRS_SQL: &str = "SELECT a.atena_number, b.atena_number FROM residents a \
     JOIN residents b ON b.municipality_code = a.municipality_code \
     AND b.birth_index = a.birth_index AND b.kana_birth_index = a.kana_birth_index \
     AND b.sex = a.sex AND b.atena_number > a.atena_number \
     WHERE a.municipality_code = $1 ORDER BY 1, 2";

/// The area's pairs of the kanji signal on PostgreSQL (`$1` the area; SQLite's names its index):
/// same kanji index (kanji name and birth date) and sex, different kana index, lower 宛名番号 first.
pub(crate) const KANJI_PAIRS_SQL: &str = "SELECT a.atena_number, b.atena_number FROM residents a \
     JOIN residents b ON b.municipality_code = a.municipality_code \
     AND b.birth_index = a.birth_index AND b.kanji_birth_index = a.kanji_birth_index \
     AND b.sex = a.sex AND b.kana_birth_index <> a.kana_birth_index \
     AND b.atena_number > a.atena_number \
     WHERE a.municipality_code = $1 ORDER BY 1, 2";

/// Whether the area has rows missing a search index (`$1` the area): rows stored before it existed.
pub(crate) const UNINDEXED_SQL: &str = "SELECT EXISTS (SELECT 1 FROM residents \
     WHERE municipality_code = $1 AND (birth_index IS NULL OR kana_birth_index IS NULL \
     OR kanji_birth_index IS NULL))";

/// Whether the area has rows without the birth date's index (`$1` the area): one probe of the
/// search index, before the birth-date search indexes such rows (on SQLite before every such
/// search; on PostgreSQL once its own query has met one).
pub(crate) const UNINDEXED_BIRTH_SQL: &str = "SELECT EXISTS (SELECT 1 FROM residents \
     WHERE municipality_code = $1 AND birth_index IS NULL)";

/// Those rows' sealed names and birth dates, to index them (`$1` the area).
pub(crate) const UNINDEXED_ROWS_SQL: &str = "SELECT atena_number, name_enc, name_kana_enc, \
     birth_date_enc FROM residents WHERE municipality_code = $1 \
     AND (birth_index IS NULL OR kana_birth_index IS NULL OR kanji_birth_index IS NULL)";

/// Stores a row's search indexes: `$1` the area, `$2` the 宛名番号, `$3` the birth date's, `$4` the
/// kana and `$5` the kanji index.
pub(crate) const SET_INDEXES_SQL: &str = "UPDATE residents SET birth_index = $3, \
     kana_birth_index = $4, kanji_birth_index = $5 WHERE municipality_code = $1 AND atena_number = $2";

/// A row of [`MOVERS_SQL`].
pub(crate) fn mover(atena: &str, from: &str) -> Result<Mover, StoreError> {
    Ok(Mover {
        atena: AtenaNumber::parse(atena)
            .map_err(|_| StoreError::Corrupt(format!("atena_number {atena:?}")))?,
        from: crate::rows::municipality(from.trim())?,
    })
}

/// One merge as the history lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonMerge {
    pub merge_id: String,
    pub kept: AtenaNumber,
    pub merged: AtenaNumber,
    pub merged_at: DateTime<Utc>,
    pub merged_by: String,
    pub undone_at: Option<DateTime<Utc>>,
    pub undone_by: String,
}

/// Conflicts a merge is refused with before anything is read.
pub(crate) fn check_pair(kept: &AtenaNumber, merged: &AtenaNumber) -> Result<(), StoreError> {
    if kept == merged {
        return Err(StoreError::Conflict(ConflictKind::SamePerson));
    }
    Ok(())
}

pub(crate) fn missing(atena: &str) -> StoreError {
    StoreError::Conflict(ConflictKind::NotAPerson(atena.to_owned()))
}

/// The `person_merges` columns as the backends read them.
pub(crate) const MERGE_COLUMNS: &str =
    "merge_id, kept_atena, merged_atena, merged_by, undone_by, merged_at, undone_at";

/// The `duplicate_candidates` columns as the backends read them.
pub(crate) const CANDIDATE_COLUMNS: &str = "candidate_id, kind, atena_a, atena_b, \
     other_municipality, found_at, status, decided_by, decided_at, merge_id";

/// A `duplicate_candidates` row before its values are parsed.
pub(crate) struct CandidateRow {
    pub id: String,
    pub kind: String,
    pub a: String,
    pub b: String,
    pub other: String,
    pub found_at: DateTime<Utc>,
    pub status: String,
    pub decided_by: String,
    pub decided_at: Option<DateTime<Utc>>,
    pub merge_id: Option<String>,
}

fn atena(text: &str, what: &str) -> Result<AtenaNumber, StoreError> {
    AtenaNumber::parse(text.trim()).map_err(|_| StoreError::Corrupt(format!("{what} {text:?}")))
}

impl CandidateRow {
    pub(crate) fn into_candidate(self) -> Result<Candidate, StoreError> {
        let id = &self.id;
        let corrupt = |c: &str| StoreError::Corrupt(format!("duplicate_candidates.{c} of {id}"));
        let b = self.b.trim();
        let other = self.other.trim();
        Ok(Candidate {
            kind: CandidateKind::parse(&self.kind).ok_or_else(|| corrupt("kind"))?,
            atena_a: atena(&self.a, "duplicate_candidates.atena_a")?,
            atena_b: (!b.is_empty())
                .then(|| atena(b, "duplicate_candidates.atena_b"))
                .transpose()?,
            other_municipality: (!other.is_empty())
                .then(|| crate::rows::municipality(other))
                .transpose()?,
            found_at: self.found_at,
            status: CandidateStatus::parse(&self.status).ok_or_else(|| corrupt("status"))?,
            decided_by: self.decided_by,
            decided_at: self.decided_at,
            merge_id: self.merge_id,
            candidate_id: self.id,
        })
    }
}

/// A `person_merges` row as read: merge ID, kept, merged, merged by, undone by; and the times.
pub(crate) fn person_merge(
    texts: [String; 5],
    merged_at: DateTime<Utc>,
    undone_at: Option<DateTime<Utc>>,
) -> Result<PersonMerge, StoreError> {
    let [merge_id, kept, merged, merged_by, undone_by] = texts;
    Ok(PersonMerge {
        kept: atena(&kept, "person_merges.kept_atena")?,
        merged: atena(&merged, "person_merges.merged_atena")?,
        merge_id,
        merged_at,
        merged_by,
        undone_at,
        undone_by,
    })
}

/// The columns of a merged-away person that must still be free to put them back, and how the
/// refusal names them.
pub(crate) const UNIQUE_COLUMNS: [(&str, UniqueKey); 3] = [
    ("atena_number", UniqueKey::Atena),
    ("coupon_number", UniqueKey::Coupon),
    ("my_number_index", UniqueKey::MyNumber),
];

pub(crate) fn taken_meanwhile(merged: &str, what: UniqueKey) -> StoreError {
    StoreError::Conflict(ConflictKind::TakenSinceMerge {
        what,
        merged: merged.to_owned(),
    })
}

pub(crate) fn already_undone(merge_id: &str) -> StoreError {
    StoreError::Conflict(ConflictKind::MergeUndone(merge_id.to_owned()))
}

pub(crate) fn doses_changed(kept: &str) -> StoreError {
    StoreError::Conflict(ConflictKind::KeptDosesChanged(kept.to_owned()))
}

pub(crate) fn already_decided(status: &str) -> StoreError {
    StoreError::Conflict(ConflictKind::CandidateDecided(status.to_owned()))
}

/// Only a dismissal is decided directly; a merge is decided by [`crate::Store::merge_people`].
pub(crate) fn check_decision(status: CandidateStatus) -> Result<(), StoreError> {
    match status {
        CandidateStatus::Dismissed => Ok(()),
        other => Err(StoreError::Conflict(ConflictKind::CandidateCannotBe(
            other.as_str(),
        ))),
    }
}

/// The queue's audit entry with how many candidates were new.
pub(crate) fn with_added(audit: &AuditEntry, added: u32) -> AuditEntry {
    let sep = if audit.detail.is_empty() { "" } else { " " };
    let detail = format!("{}{sep}added={added}", audit.detail);
    audit.clone().with_detail(detail)
}

/// `at` to the microsecond, as both backends store times.
pub(crate) fn micros(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

/// Duplicate people: detection signals, the review queue, and reversible merges.
#[async_trait]
pub trait DuplicateStore: crate::Scoped + Send + Sync {
    /// Pairs of the area's people with the same kana name (spaces ignored), birth date and sex,
    /// lower 宛名番号 first, found through the search index without opening any sealed field.
    async fn duplicate_pairs_by_kana_birth_sex(
        &self,
        scope: MunicipalityCode,
    ) -> Result<Vec<(AtenaNumber, AtenaNumber)>, StoreError>;

    /// Pairs of the area's people with the same kanji name (spaces ignored), birth date and sex
    /// but a different kana name, lower 宛名番号 first, found through the search indexes without
    /// opening any sealed field. Rows stored before the kanji index existed (or without the kana
    /// one) are indexed first, once: only they are opened.
    async fn duplicate_pairs_by_kanji_birth_sex(
        &self,
        scope: MunicipalityCode,
    ) -> Result<Vec<(AtenaNumber, AtenaNumber)>, StoreError>;

    /// The area's people who moved in from another municipality (the resident registry's
    /// `moved_in_from`) and hold no dose received from there: whom a duplicate scan asks their
    /// former area about, one by one through the inquiry. Reads this area only.
    async fn movers(&self, scope: MunicipalityCode) -> Result<Vec<Mover>, StoreError>;

    /// Puts candidates on the area's review queue: new ones open, known ones (same ID) keep their
    /// status. Returns how many were new; `audit` (with that count added) is appended.
    async fn put_duplicate_candidates(
        &self,
        scope: MunicipalityCode,
        candidates: &[Candidate],
        audit: &AuditEntry,
    ) -> Result<u32, StoreError>;

    /// The area's queue, newest finding first; only those with `status` when given.
    async fn duplicate_candidates(
        &self,
        scope: MunicipalityCode,
        status: Option<CandidateStatus>,
    ) -> Result<Vec<Candidate>, StoreError>;

    /// Decides an open candidate (dismissal only; merges decide through [`Store::merge_people`]).
    /// Unknown: [`StoreError::NotFound`]; already decided: a conflict.
    async fn decide_candidate(
        &self,
        scope: MunicipalityCode,
        candidate_id: &str,
        status: CandidateStatus,
        decided_by: &str,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// Merges `merged` into `kept` in one transaction: both people's rows are kept as stored in the
    /// merge's snapshot, the doses move to `kept` renumbered by date, `merged`'s row is deleted and
    /// an open candidate naming the pair is marked merged. A conflict (nothing written) when either
    /// person is missing, they are the same, or the doses together would break the dose-number
    /// limit or fall two on one day.
    #[allow(clippy::too_many_arguments)]
    async fn merge_people(
        &self,
        scope: MunicipalityCode,
        kept: &AtenaNumber,
        merged: &AtenaNumber,
        merge_id: &str,
        merged_by: &str,
        at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<PersonMerge, StoreError>;

    /// Undoes a merge: both people's rows and doses as they were, byte for byte; the candidate is
    /// open again. A conflict when already undone, when the kept person's doses changed since, or
    /// when the merged person's 宛名番号, coupon or My Number has been taken meanwhile.
    async fn unmerge(
        &self,
        scope: MunicipalityCode,
        merge_id: &str,
        undone_by: &str,
        audit: &AuditEntry,
    ) -> Result<PersonMerge, StoreError>;

    /// The area's merges, newest first.
    async fn person_merges(&self, scope: MunicipalityCode) -> Result<Vec<PersonMerge>, StoreError>;
}
