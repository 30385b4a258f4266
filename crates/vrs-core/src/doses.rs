//! Registering, correcting and deleting doses, and flagging people, with the data-quality rules
//! applied at every entry point.
//!
//! A dose is always recorded in the area of the person's home municipality (住所地), wherever it was
//! given. A site's tablet registers by coupon ([`register_at_site`]): it learns whether the dose was
//! recorded or why not, never who the person is, and a request retried with the same
//! `Idempotency-Key` gets the first answer again without making a second dose. Municipal staff add,
//! correct and delete doses of their own area ([`add_dose`], [`correct_dose`], [`delete_dose`]) and set
//! moved-out / deceased flags ([`set_flags`]); each change is audited with what was before and after.

pub mod batch;
pub mod check;
pub mod export;
pub mod import;

use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use vrs_domain::{
    check_dose, AtenaNumber, AuditAction, Dose, DoseFacts, DoseNumber, DoseRecord, DoseSource,
    LotNumber, MunicipalityCode, PersonFacts, QualityRule, Reason, UserFacing, VaccineProduct,
};
use vrs_store::ConflictKind;
use vrs_store::{CouponHolder, IdempotentAnswer, Registration, Store, StoreError};

use crate::coupon::CouponRef;
use crate::Actor;

/// What a registration states about the dose, before it is tied to a person.
#[derive(Clone, Debug, PartialEq)]
pub struct DoseInput {
    pub dose_number: DoseNumber,
    pub administered_on: NaiveDate,
    pub product: &'static VaccineProduct,
    pub lot_number: LotNumber,
    /// Where it was given (接種地): for a tablet, its account's municipality.
    pub site: MunicipalityCode,
    /// 接種会場名 (checked with [`DoseRecord::venue`]).
    pub venue: String,
    /// 接種医師名 (checked with [`DoseRecord::doctor`]).
    pub doctor: String,
}

/// A dose as a form or a request states it, before validation.
#[derive(Clone, Copy, Debug, Default)]
pub struct DoseText<'a> {
    pub dose_number: &'a str,
    pub administered_on: &'a str,
    pub product: &'a str,
    pub lot_number: &'a str,
    /// Empty for the caller's own municipality.
    pub site: &'a str,
    pub venue: &'a str,
    pub doctor: &'a str,
}

/// The first field of a [`DoseText`] that is wrong: its name (as in [`DoseText`]) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: &'static str,
    /// Why, in both languages.
    pub reason: Reason,
}

impl FieldProblem {
    /// The field's Japanese label, for pages and messages.
    pub fn label_ja(&self) -> &'static str {
        field_label_ja(self.field)
    }
}

/// The Japanese label of a field of a dose as a form or a request names it (`dose_number`, …).
pub fn field_label_ja(field: &str) -> &'static str {
    match field {
        "coupon" => "接種券",
        "reason" => "理由",
        "body" => "送信内容",
        "Idempotency-Key" => "再送用のキー（Idempotency-Key）",
        "dose_number" => "接種回",
        "administered_on" => "接種日",
        "product" => "ワクチン",
        "lot_number" => "ロット番号",
        "site" => "接種自治体コード",
        "venue" => "接種会場名",
        "doctor" => "接種医師名",
        _ => "入力",
    }
}

impl DoseInput {
    /// Validates the fields of a dose (dates in any form [`vrs_domain::parse_date`] reads, a
    /// product by its catalogue code); an empty site is `own`.
    pub fn parse(text: &DoseText<'_>, own: MunicipalityCode) -> Result<Self, FieldProblem> {
        fn problem(field: &'static str) -> impl Fn(&dyn UserFacing) -> FieldProblem {
            move |e| FieldProblem {
                field,
                reason: Reason::of(e),
            }
        }
        let dose_number =
            DoseNumber::parse(text.dose_number).map_err(|e| problem("dose_number")(&e))?;
        let administered_on = vrs_domain::parse_date(text.administered_on)
            .map_err(|e| problem("administered_on")(&e))?;
        let product = VaccineProduct::by_code(text.product.trim()).ok_or_else(|| FieldProblem {
            field: "product",
            reason: Reason::new(
                "product_unknown",
                format!("登録されていないワクチンです: {:?}", text.product),
                format!("unknown product {:?}", text.product),
            ),
        })?;
        let lot_number =
            LotNumber::parse(text.lot_number).map_err(|e| problem("lot_number")(&e))?;
        let site = match text.site.trim() {
            "" => own,
            code => MunicipalityCode::parse(code).map_err(|e| problem("site")(&e))?,
        };
        let venue = DoseRecord::venue(text.venue).map_err(|e| problem("venue")(&e))?;
        let doctor = DoseRecord::doctor(text.doctor).map_err(|e| problem("doctor")(&e))?;
        Ok(Self {
            dose_number,
            administered_on,
            product,
            lot_number,
            site,
            venue,
            doctor,
        })
    }

    pub(crate) fn record(&self, person: &CouponHolder, source: DoseSource) -> DoseRecord {
        DoseRecord {
            dose: Dose {
                municipality: person.municipality,
                atena: person.atena.clone(),
                dose_number: self.dose_number,
                administered_on: self.administered_on,
                product: self.product,
                lot_number: self.lot_number.clone(),
                site_municipality: self.site,
                coupon: person.coupon,
            },
            venue: self.venue.clone(),
            doctor: self.doctor.clone(),
            recorded_at: Utc::now(),
            source,
            received_from: None,
        }
    }
}

/// The rules `record` breaks against the person's other stored doses and flags.
pub fn rules_for(
    record: &DoseRecord,
    others: &[DoseRecord],
    person: &CouponHolder,
    today: NaiveDate,
) -> Vec<QualityRule> {
    let others: Vec<DoseFacts<'_>> = others.iter().map(DoseFacts::from).collect();
    let flags = PersonFacts {
        deceased_on: person.deceased_on,
        moved_out_on: person.moved_out_on,
    };
    check_dose(DoseFacts::from(record), &others, flags, today)
}

/// The audit detail of a dose: what it states, never who the person is.
pub fn dose_detail(record: &DoseRecord) -> String {
    let d = &record.dose;
    format!(
        "dose={} date={} product={} lot={} site={} coupon={} venue={:?} doctor={:?}",
        d.dose_number,
        d.administered_on,
        d.product.code,
        d.lot_number.as_str(),
        d.site_municipality,
        d.coupon.as_str(),
        record.venue,
        record.doctor
    )
}

/// A broken rule as answers show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleView {
    pub code: String,
    pub message_ja: String,
    pub message_en: String,
}

impl From<QualityRule> for RuleView {
    fn from(r: QualityRule) -> Self {
        Self {
            code: r.code().into(),
            message_ja: r.message_ja().into(),
            message_en: r.message_en().into(),
        }
    }
}

/// The answer a site gets to a registration. It names the home municipality and the dose, and
/// nothing of the person. Kept with the idempotency key, so a retry gets it again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum SiteAnswer {
    Registered {
        municipality_code: String,
        municipality_name: String,
        coupon_number: String,
        dose_number: DoseNumber,
        administered_on: NaiveDate,
        product: String,
        product_name: String,
        lot_number: String,
        next_dose_number: u8,
    },
    Refused {
        /// `unknown_coupon` (also for a deceased holder) or `quality`.
        code: String,
        message_ja: String,
        message_en: String,
        /// The data-quality rules broken (for `quality`).
        rules: Vec<RuleView>,
    },
}

impl SiteAnswer {
    /// The HTTP status the answer is sent with.
    pub fn status(&self) -> u16 {
        match self {
            SiteAnswer::Registered { .. } => 201,
            SiteAnswer::Refused { code, .. } => match code.as_str() {
                "unknown_coupon" => 404,
                _ => 422,
            },
        }
    }

    fn refused(code: &str, ja: &str, en: &str, rules: &[QualityRule]) -> Self {
        SiteAnswer::Refused {
            code: code.into(),
            message_ja: ja.into(),
            message_en: en.into(),
            rules: rules.iter().copied().map(RuleView::from).collect(),
        }
    }

    fn unknown_coupon() -> Self {
        Self::refused(
            "unknown_coupon",
            "この接種券は自治体の接種対象者に登録されていません。",
            "No target of this municipality holds this coupon.",
            &[],
        )
    }

    /// A deceased holder's coupon is answered exactly as an unknown one: a site must not learn who
    /// has died (the audit entry says which).
    fn deceased() -> Self {
        Self::unknown_coupon()
    }

    fn quality(rules: &[QualityRule]) -> Self {
        Self::refused(
            "quality",
            "入力内容に誤りがあるため登録できません。",
            "The dose was not recorded: it breaks the data-quality rules.",
            rules,
        )
    }
}

/// The idempotency key of a request and the fingerprint of its body.
#[derive(Clone, Debug)]
pub struct IdempotencyRequest {
    pub user_id: String,
    pub key: String,
    pub request_hash: [u8; 32],
}

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("this Idempotency-Key was already used for a different request")]
    KeyReused,
    /// The national operator has stopped registration from tablets.
    #[error(transparent)]
    Stopped(crate::governance::Stopped),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Registers a dose given at a site (`input.site`) on the coupon `coupon`, in the home
/// municipality's area. The caller has checked that the actor may register doses at sites.
pub async fn register_at_site(
    store: &dyn Store,
    actor: &Actor,
    coupon: CouponRef,
    input: &DoseInput,
    key: Option<&IdempotencyRequest>,
    today: NaiveDate,
) -> Result<SiteAnswer, RegisterError> {
    use crate::governance::{ensure_running, GovernanceError};
    match ensure_running(store, vrs_domain::Function::TabletRegistration).await {
        Ok(()) => {}
        Err(GovernanceError::Stopped(s)) => return Err(RegisterError::Stopped(s)),
        Err(GovernanceError::Store(e)) => return Err(e.into()),
        Err(other) => return Err(StoreError::Other(other.to_string()).into()),
    }
    // A repeated request (same Idempotency-Key) is found when its registration is refused, or when
    // its key is found taken on insert: its first answer is given again. A first request, the usual
    // case, reads no key.
    let home = coupon.municipality;
    let audit = |outcome: &str, detail: String| {
        actor
            .audit(AuditAction::DoseRegister, coupon.coupon.as_str())
            .with_outcome(outcome)
            .with_detail(detail)
    };
    // The site's path reads the holder's 宛名番号 and flags only: no sealed field is opened.
    let (person, existing) = match store.holder_and_doses(home, &coupon.coupon).await {
        Ok((p, doses)) if p.deceased_on.is_none() => (p, doses),
        Ok(_) => {
            let audit = audit("deceased", String::new());
            return refuse(store, home, input.site, key, SiteAnswer::deceased(), audit).await;
        }
        Err(StoreError::NotFound) => {
            let audit = audit("unknown_coupon", String::new());
            return refuse(
                store,
                home,
                input.site,
                key,
                SiteAnswer::unknown_coupon(),
                audit,
            )
            .await;
        }
        Err(e) => return Err(e.into()),
    };
    let record = input.record(&person, DoseSource::Tablet);
    let rules = rules_for(&record, &existing, &person, today);
    if !rules.is_empty() {
        let codes: Vec<&str> = rules.iter().map(|r| r.code()).collect();
        let detail = format!("rules={} {}", codes.join(","), dose_detail(&record));
        return refuse(
            store,
            home,
            input.site,
            key,
            SiteAnswer::quality(&rules),
            audit("refused", detail),
        )
        .await;
    }
    let next = existing
        .iter()
        .map(|r| r.dose.dose_number.get())
        .chain([record.dose.dose_number.get()])
        .max()
        .unwrap_or(0)
        .saturating_add(1);
    let answer = SiteAnswer::Registered {
        municipality_code: home.as_str().into(),
        municipality_name: home.info().full_name(),
        coupon_number: coupon.coupon.as_str().into(),
        dose_number: record.dose.dose_number,
        administered_on: record.dose.administered_on,
        product: record.dose.product.code.into(),
        product_name: record.dose.product.name_ja.into(),
        lot_number: record.dose.lot_number.as_str().into(),
        next_dose_number: next,
    };
    let detail = dose_detail(&record);
    let registration = Registration {
        record,
        recorded_by: actor.user.clone(),
        answer: key.map(|k| kept(input.site, k, &answer)),
    };
    let entry = audit("ok", detail);
    match store.add_dose(home, &registration, &entry).await {
        // The store marked the holder's certificates superseded in the same write.
        Ok(()) => Ok(answer),
        Err(StoreError::Replayed) => match key {
            Some(k) => replay(store, input.site, k)
                .await?
                .ok_or(RegisterError::Store(StoreError::Replayed)),
            None => Err(StoreError::Replayed.into()),
        },
        // Another registration of the same dose number won the race.
        Err(StoreError::Conflict(_)) => {
            let rules = [QualityRule::DoseNumberTaken];
            let audit = audit("refused", "rules=dose_number_taken".into());
            refuse(
                store,
                home,
                input.site,
                key,
                SiteAnswer::quality(&rules),
                audit,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

fn kept(site: MunicipalityCode, k: &IdempotencyRequest, answer: &SiteAnswer) -> IdempotentAnswer {
    IdempotentAnswer {
        site,
        user_id: k.user_id.clone(),
        key: k.key.clone(),
        request_hash: k.request_hash,
        status: answer.status(),
        // Serialising plain data to JSON cannot fail.
        body: serde_json::to_string(answer).unwrap_or_default(),
    }
}

/// The answer already given to this key, if any; a key reused for another request is refused.
async fn replay(
    store: &dyn Store,
    site: MunicipalityCode,
    k: &IdempotencyRequest,
) -> Result<Option<SiteAnswer>, RegisterError> {
    let Some(stored) = store.stored_answer(site, &k.user_id, &k.key).await? else {
        return Ok(None);
    };
    if stored.request_hash != k.request_hash {
        return Err(RegisterError::KeyReused);
    }
    serde_json::from_str(&stored.body)
        .map(Some)
        .map_err(|e| StoreError::Corrupt(format!("idempotency_keys.body: {e}")).into())
}

async fn refuse(
    store: &dyn Store,
    home: MunicipalityCode,
    site: MunicipalityCode,
    key: Option<&IdempotencyRequest>,
    answer: SiteAnswer,
    audit: vrs_store::AuditEntry,
) -> Result<SiteAnswer, RegisterError> {
    // A request answered before (the dose it registered now makes it look taken) gets its first
    // answer, and no refusal is audited for it.
    if let Some(k) = key {
        if let Some(first) = replay(store, site, k).await? {
            return Ok(first);
        }
    }
    store.append_audit(home.into(), &audit).await?;
    if let Some(k) = key {
        if !store.remember_answer(&kept(site, k, &answer)).await? {
            // The same key was answered meanwhile: that first answer stands.
            if let Some(first) = replay(store, site, k).await? {
                return Ok(first);
            }
        }
    }
    Ok(answer)
}

/// Why staff's change of a dose or flag was not made.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("the change breaks data-quality rules")]
    Rules(Vec<QualityRule>),
    #[error("no such person or dose in this municipality")]
    NotFound,
    #[error("a reason is required")]
    NoReason,
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ChangeError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ChangeError::NotFound,
            other => ChangeError::Store(other),
        }
    }
}

pub(crate) fn reason_text(reason: &str) -> Result<String, ChangeError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(ChangeError::NoReason);
    }
    if reason.chars().count() > 200 || reason.chars().any(char::is_control) {
        return Err(ChangeError::Invalid(
            "the reason must be at most 200 characters on one line".into(),
        ));
    }
    Ok(reason.to_owned())
}

/// Staff record a dose for a person of their own area (`scope`).
pub async fn add_dose(
    store: &dyn Store,
    actor: &Actor,
    scope: MunicipalityCode,
    atena: &AtenaNumber,
    input: &DoseInput,
    today: NaiveDate,
) -> Result<DoseRecord, ChangeError> {
    let person = CouponHolder::from(&store.resident(scope, atena).await?);
    let record = input.record(&person, DoseSource::Staff);
    let existing = store.doses_of(scope, atena).await?;
    let rules = rules_for(&record, &existing, &person, today);
    if !rules.is_empty() {
        return Err(ChangeError::Rules(rules));
    }
    let audit = actor
        .audit(AuditAction::DoseAdd, atena.as_str())
        .with_detail(format!("after: {}", dose_detail(&record)));
    let registration = Registration {
        record: record.clone(),
        recorded_by: actor.user.clone(),
        answer: None,
    };
    match store.add_dose(scope, &registration, &audit).await {
        Err(StoreError::Conflict(_)) => Err(ChangeError::Rules(vec![QualityRule::DoseNumberTaken])),
        Ok(()) => Ok(record),
        Err(e) => Err(e.into()),
    }
}

async fn stored_dose(
    store: &dyn Store,
    scope: MunicipalityCode,
    atena: &AtenaNumber,
    dose_number: DoseNumber,
) -> Result<(CouponHolder, Vec<DoseRecord>, DoseRecord), ChangeError> {
    let person = CouponHolder::from(&store.resident(scope, atena).await?);
    let doses = store.doses_of(scope, atena).await?;
    let before = doses
        .iter()
        .find(|d| d.dose.dose_number == dose_number)
        .cloned()
        .ok_or(ChangeError::NotFound)?;
    Ok((person, doses, before))
}

/// Which stored dose: the person and the dose number.
#[derive(Clone, Copy, Debug)]
pub struct DoseRef<'a> {
    pub atena: &'a AtenaNumber,
    pub dose_number: DoseNumber,
}

/// Staff correct a dose of a person of their own area to state `input`, with a reason. The audit
/// entry keeps the dose before and after.
pub async fn correct_dose(
    store: &dyn Store,
    actor: &Actor,
    scope: MunicipalityCode,
    which: DoseRef<'_>,
    input: &DoseInput,
    reason: &str,
    today: NaiveDate,
) -> Result<DoseRecord, ChangeError> {
    let reason = reason_text(reason)?;
    let (atena, dose_number) = (which.atena, which.dose_number);
    let (person, doses, before) = stored_dose(store, scope, atena, dose_number).await?;
    let mut after = input.record(&person, before.source);
    after.dose.coupon = before.dose.coupon;
    after.recorded_at = before.recorded_at;
    after.received_from = before.received_from;
    let others: Vec<DoseRecord> = doses
        .into_iter()
        .filter(|d| d.dose.dose_number != dose_number)
        .collect();
    let rules = rules_for(&after, &others, &person, today);
    if !rules.is_empty() {
        return Err(ChangeError::Rules(rules));
    }
    let audit = actor
        .audit(AuditAction::DoseCorrect, atena.as_str())
        .with_detail(format!(
            "before: {} | after: {} | reason: {reason}",
            dose_detail(&before),
            dose_detail(&after)
        ));
    match store.correct_dose(scope, &before, &after, &audit).await {
        Err(StoreError::Conflict(ConflictKind::DoseTaken(_))) => {
            Err(ChangeError::Rules(vec![QualityRule::DoseNumberTaken]))
        }
        other => other.map(|()| after).map_err(ChangeError::from),
    }
}

/// Staff delete a dose of a person of their own area, with a reason. The record is really removed;
/// the audit entry keeps what it stated.
pub async fn delete_dose(
    store: &dyn Store,
    actor: &Actor,
    scope: MunicipalityCode,
    which: DoseRef<'_>,
    reason: &str,
) -> Result<DoseRecord, ChangeError> {
    let reason = reason_text(reason)?;
    let atena = which.atena;
    let (_, _, before) = stored_dose(store, scope, atena, which.dose_number).await?;
    let audit = actor
        .audit(AuditAction::DoseDelete, atena.as_str())
        .with_detail(format!(
            "before: {} | reason: {reason}",
            dose_detail(&before)
        ));
    store.delete_dose(scope, &before, &audit).await?;
    Ok(before)
}

/// Staff set or clear the moved-out and deceased dates of a person of their own area. Flags never
/// delete anything; the audit entry keeps the dates before and after.
pub async fn set_flags(
    store: &dyn Store,
    actor: &Actor,
    scope: MunicipalityCode,
    atena: &AtenaNumber,
    moved_out_on: Option<NaiveDate>,
    deceased_on: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<(), ChangeError> {
    if moved_out_on
        .into_iter()
        .chain(deceased_on)
        .any(|d| d > today)
    {
        return Err(ChangeError::Invalid(
            "a moved-out or deceased date cannot be in the future".into(),
        ));
    }
    let person = store.resident(scope, atena).await?;
    let show = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_else(|| "-".into());
    let audit = actor
        .audit(AuditAction::PersonFlags, atena.as_str())
        .with_detail(format!(
            "before: moved_out={} deceased={} | after: moved_out={} deceased={}",
            show(person.moved_out_on),
            show(person.deceased_on),
            show(moved_out_on),
            show(deceased_on)
        ));
    store
        .set_flags(scope, atena, moved_out_on, deceased_on, &audit)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text() -> DoseText<'static> {
        DoseText {
            dose_number: "２",
            administered_on: "令和3年6月22日",
            product: "comirnaty",
            lot_number: "fa4597",
            site: "",
            venue: "西条会場",
            doctor: "",
        }
    }

    #[test]
    fn a_dose_text_is_parsed_or_its_first_bad_field_named() {
        let own = MunicipalityCode::parse("382060").unwrap();
        let input = DoseInput::parse(&text(), own).unwrap();
        assert_eq!(input.dose_number, 2);
        assert_eq!(input.administered_on.to_string(), "2021-06-22");
        assert_eq!(input.lot_number.as_str(), "FA4597");
        assert_eq!(input.site, own);
        let bad = |t: DoseText<'static>| DoseInput::parse(&t, own).unwrap_err().field;
        assert_eq!(
            bad(DoseText {
                dose_number: "11",
                ..text()
            }),
            "dose_number"
        );
        assert_eq!(
            bad(DoseText {
                dose_number: "x",
                ..text()
            }),
            "dose_number"
        );
        assert_eq!(
            bad(DoseText {
                administered_on: "2021-02-30",
                ..text()
            }),
            "administered_on"
        );
        assert_eq!(
            bad(DoseText {
                product: "unknown",
                ..text()
            }),
            "product"
        );
        assert_eq!(
            bad(DoseText {
                lot_number: "",
                ..text()
            }),
            "lot_number"
        );
        assert_eq!(
            bad(DoseText {
                site: "131017",
                ..text()
            }),
            "site"
        );
        assert_eq!(
            bad(DoseText {
                venue: "会会会会会会会会会会会会会会会会会会会会会会会会会会会会会会会",
                ..text()
            }),
            "venue"
        );
        let problem = DoseInput::parse(
            &DoseText {
                doctor: "a\u{7}",
                ..text()
            },
            own,
        )
        .unwrap_err();
        assert_eq!(
            (problem.field, problem.label_ja()),
            ("doctor", "接種医師名")
        );
    }
}
