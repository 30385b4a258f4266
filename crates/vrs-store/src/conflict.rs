//! Why a write was refused: one named kind per rule, so callers match the rule (not a phrase) and
//! both backends refuse with the same words. Every kind reads in English (`Display`) and in Japanese
//! ([`ConflictKind::ja`]); neither names personal data, only keys (宛名番号, dose numbers, IDs).

use std::fmt;

use vrs_domain::{DoseNumber, MunicipalityCode};

/// A key that is unique within a municipality's area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UniqueKey {
    Atena,
    Coupon,
    MyNumber,
}

impl UniqueKey {
    pub fn en(self) -> &'static str {
        match self {
            UniqueKey::Atena => "宛名番号",
            UniqueKey::Coupon => "coupon number",
            UniqueKey::MyNumber => "My Number",
        }
    }

    pub fn ja(self) -> &'static str {
        match self {
            UniqueKey::Atena => "宛名番号",
            UniqueKey::Coupon => "接種券番号",
            UniqueKey::MyNumber => "個人番号",
        }
    }
}

/// A rule of the store that a write broke.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConflictKind {
    /// The record belongs to another municipality than the caller's scope.
    OtherMunicipality {
        owner: MunicipalityCode,
        scope: MunicipalityCode,
    },
    /// The My Number is already registered to another person of the municipality.
    MyNumberTaken,
    /// The coupon number is already used by another person of the municipality.
    CouponTaken,
    /// A record with the same key already exists.
    Exists,
    /// This dose number is already recorded for the person.
    DoseTaken(DoseNumber),
    /// The dose as the caller saw it is no longer the stored one.
    DoseChangedMeanwhile(DoseNumber),
    /// A correction names another person than the stored dose.
    CorrectionMovesPerson,
    /// An undo asks for a dose not registered from a tablet.
    NotFromTablet,
    /// An undo asks for a dose another site registered.
    OtherSite,
    /// An undo comes after its window closed.
    UndoWindowClosed,
    /// A user ID that is already taken.
    UserIdTaken(String),
    /// An account application that has already been decided.
    ApplicationNotPending(i64),
    /// A signed assertion of a machine client that was used before.
    AssertionReplayed,
    /// An inquiry ID already recorded on this side of this municipality.
    InquiryRecorded {
        inquiry: String,
        side: &'static str,
        municipality: MunicipalityCode,
    },
    /// The same dose twice in one inquiry.
    DoseTwiceInInquiry { dose: DoseNumber, inquiry: String },
    /// Two provision records that do not describe the two sides of one inquiry.
    InquirySides(&'static str),
    /// A bulk inquiry job that is already kept.
    BulkInquiryKept(String),
    /// A certificate already in the issuance history.
    CertificateRecorded(String),
    /// A certificate that is already revoked.
    CertificateRevoked(String),
    /// A certificate to replace that is not the person's.
    CertificateNotThePersons(String),
    /// A restore into an area that already holds rows.
    AreaNotEmpty {
        area: String,
        rows: i64,
        table: &'static str,
    },
    /// The area was crypto-shredded before.
    AreaDestroyed(MunicipalityCode),
    /// A restored area agreed to a terms version this deployment holds with another text.
    TermsDiffer {
        area: String,
        kind: String,
        version: i64,
    },
    /// A restored area agreed to a terms version this deployment lacks and the backup does not carry.
    TermsMissing {
        area: String,
        kind: String,
        version: i64,
    },
    /// A merge of a person with themselves.
    SamePerson,
    /// A 宛名番号 that is not a person of the municipality.
    NotAPerson(String),
    /// A merge ID already used.
    MergeExists(String),
    /// A merge that has already been undone.
    MergeUndone(String),
    /// An undo of a merge after the merged-away person's coupon or My Number went to someone else.
    TakenSinceMerge { what: UniqueKey, merged: String },
    /// An undo of a merge after the kept person's doses changed.
    KeptDosesChanged(String),
    /// A merge that would give one person more doses than allowed.
    TooManyDoses { total: usize, max: usize },
    /// A merge of two people with a dose on the same day.
    SameDayDoses(String),
    /// A duplicate candidate that has already been decided.
    CandidateDecided(String),
    /// A decision a candidate cannot take directly (a merge goes through the merge itself).
    CandidateCannotBe(&'static str),
}

impl fmt::Display for ConflictKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ConflictKind::*;
        match self {
            OtherMunicipality { owner, scope } => {
                write!(
                    f,
                    "the record belongs to municipality {owner}, not to {scope}"
                )
            }
            MyNumberTaken => f.write_str(
                "this My Number is already registered to another person in this municipality",
            ),
            CouponTaken => f.write_str(
                "this coupon number is already used by another person in this municipality",
            ),
            Exists => f.write_str("the record already exists"),
            DoseTaken(n) => write!(f, "dose {n} is already recorded for this person"),
            DoseChangedMeanwhile(n) => write!(
                f,
                "dose {n} was changed by someone else meanwhile; reload and try again"
            ),
            CorrectionMovesPerson => {
                f.write_str("a correction cannot move a dose to another person")
            }
            NotFromTablet => f.write_str("the dose was not registered from a tablet"),
            OtherSite => f.write_str("the dose was registered by another site"),
            UndoWindowClosed => f.write_str("the undo window has closed"),
            UserIdTaken(id) => write!(f, "the user ID {id} is already taken"),
            ApplicationNotPending(id) => write!(f, "application {id} is not pending"),
            AssertionReplayed => f.write_str("the assertion was used before"),
            InquiryRecorded {
                inquiry,
                side,
                municipality,
            } => write!(
                f,
                "inquiry {inquiry} is already recorded on the {side} side of {municipality}"
            ),
            DoseTwiceInInquiry { dose, inquiry } => {
                write!(f, "dose {dose} appears twice in inquiry {inquiry}")
            }
            InquirySides(why) => f.write_str(why),
            BulkInquiryKept(batch) => write!(f, "bulk inquiry {batch} is already kept"),
            CertificateRecorded(id) => write!(f, "certificate {id} is already recorded"),
            CertificateRevoked(id) => write!(f, "certificate {id} is already revoked"),
            CertificateNotThePersons(id) => write!(f, "certificate {id} is not this person's"),
            AreaNotEmpty { area, rows, table } => write!(
                f,
                "area {area} already holds {rows} rows in {table} here; a restore goes into an \
                 empty area only"
            ),
            AreaDestroyed(code) => write!(f, "the area of {code} was already destroyed"),
            TermsDiffer {
                area,
                kind,
                version,
            } => write!(
                f,
                "area {area} agreed to terms {kind} version {version}, and this deployment holds a \
                 different text under that version; an area restores only where its terms mean \
                 the same"
            ),
            TermsMissing {
                area,
                kind,
                version,
            } => write!(
                f,
                "area {area} agreed to terms {kind} version {version}, which this deployment does \
                 not hold and the backup does not carry (it predates format 2): publish that \
                 version here first (`vrs terms publish`) or restore the deployment's own area \
                 with it"
            ),
            SamePerson => {
                f.write_str("the person kept and the person merged away are the same 宛名番号")
            }
            NotAPerson(atena) => write!(f, "宛名番号 {atena} is not a person of this municipality"),
            MergeExists(id) => write!(f, "merge {id} already exists"),
            MergeUndone(id) => write!(f, "merge {id} has already been undone"),
            TakenSinceMerge { what, merged } => write!(
                f,
                "the {} of the merged-away person {merged} has been given to a person since the \
                 merge",
                what.en()
            ),
            KeptDosesChanged(kept) => write!(
                f,
                "the doses of the kept person {kept} changed after the merge; undo those changes \
                 first"
            ),
            TooManyDoses { total, max } => write!(
                f,
                "together the two people have {total} doses; a person can have at most {max}"
            ),
            SameDayDoses(day) => write!(
                f,
                "both people have a dose on {day}; one of them must be corrected or deleted first"
            ),
            CandidateDecided(status) => write!(f, "the candidate is already {status}"),
            CandidateCannotBe(status) => {
                write!(f, "a candidate cannot be decided as {status} here")
            }
        }
    }
}

impl ConflictKind {
    /// The same refusal in Japanese, for staff screens.
    pub fn ja(&self) -> String {
        use ConflictKind::*;
        match self {
            OtherMunicipality { owner, scope } => {
                format!("この記録は市区町村 {owner} のもので、{scope} のものではありません")
            }
            MyNumberTaken => {
                "この個人番号は、この市区町村の別の人にすでに登録されています".into()
            }
            CouponTaken => "この接種券番号は、この市区町村の別の人がすでに使っています".into(),
            Exists => "この記録はすでにあります".into(),
            DoseTaken(n) => format!("この人の{n}回目の接種はすでに記録されています"),
            DoseChangedMeanwhile(n) => format!(
                "{n}回目の接種は、その間に別の人が変更しました。読み込み直してからやり直してください"
            ),
            CorrectionMovesPerson => "訂正で接種記録を別の人に移すことはできません".into(),
            NotFromTablet => "この接種はタブレットから登録されたものではありません".into(),
            OtherSite => "この接種は別の接種会場が登録したものです".into(),
            UndoWindowClosed => "取り消しのできる時間を過ぎています".into(),
            UserIdTaken(id) => format!("ユーザーID {id} はすでに使われています"),
            ApplicationNotPending(id) => format!("申請 {id} はすでに処理されています"),
            AssertionReplayed => "この署名付きアサーションはすでに使われています".into(),
            InquiryRecorded {
                inquiry,
                municipality,
                ..
            } => format!("照会 {inquiry} は {municipality} にすでに記録されています"),
            DoseTwiceInInquiry { dose, inquiry } => {
                format!("照会 {inquiry} に{dose}回目の接種が二度含まれています")
            }
            InquirySides(_) => {
                "照会の記録が、照会した側と提供した側の一組になっていません".into()
            }
            BulkInquiryKept(batch) => format!("一括照会 {batch} はすでに保存されています"),
            CertificateRecorded(id) => format!("証明書 {id} はすでに記録されています"),
            CertificateRevoked(id) => format!("証明書 {id} はすでに失効しています"),
            CertificateNotThePersons(id) => format!("証明書 {id} はこの人のものではありません"),
            AreaNotEmpty { area, rows, table } => format!(
                "領域 {area} の {table} にはすでに{rows}行あります。復元は空の領域にだけできます"
            ),
            AreaDestroyed(code) => format!("{code} の領域はすでに消去されています"),
            TermsDiffer {
                area,
                kind,
                version,
            } => format!(
                "領域 {area} が同意した規約 {kind} 第{version}版は、この環境では別の本文です。\
                 規約の意味が同じ環境にだけ復元できます"
            ),
            TermsMissing {
                area,
                kind,
                version,
            } => format!(
                "領域 {area} が同意した規約 {kind} 第{version}版がこの環境になく、バックアップにも\
                 含まれていません。先にその版を公開する（vrs terms publish）か、その版を持つ環境の\
                 領域を復元してください"
            ),
            SamePerson => "残す人と統合される人が同じ宛名番号です".into(),
            NotAPerson(atena) => format!("宛名番号 {atena} はこの市区町村の人ではありません"),
            MergeExists(id) => format!("統合 {id} はすでにあります"),
            MergeUndone(id) => format!("統合 {id} はすでに取り消されています"),
            TakenSinceMerge { what, merged } => format!(
                "統合された人 {merged} の{}は、統合の後で別の人に使われています",
                what.ja()
            ),
            KeptDosesChanged(kept) => format!(
                "残した人 {kept} の接種記録が統合の後で変わっています。先にその変更を取り消してください"
            ),
            TooManyDoses { total, max } => format!(
                "二人の接種を合わせると{total}回になります。一人の接種は{max}回までです"
            ),
            SameDayDoses(day) => format!(
                "二人とも {day} に接種があります。先にどちらかを訂正または削除してください"
            ),
            CandidateDecided(status) => format!("この候補はすでに処理済みです（{status}）"),
            CandidateCannotBe(status) => {
                format!("候補をここで「{status}」として処理することはできません")
            }
        }
    }
}

/// A store rule's refusal: code `invalid`, status 422 (the request asked for what the rules forbid).
impl vrs_domain::UserFacing for ConflictKind {
    fn code(&self) -> &'static str {
        "invalid"
    }
    fn status(&self) -> u16 {
        422
    }
    fn message_ja(&self) -> std::borrow::Cow<'_, str> {
        self.ja().into()
    }
    fn message_en(&self) -> std::borrow::Cow<'_, str> {
        self.to_string().into()
    }
}
