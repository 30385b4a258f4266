//! A vaccination site's tablet registering a dose by coupon: the answer it gets names the home
//! municipality and the dose, never the person, and a request retried with the same
//! `Idempotency-Key` gets its first answer again without making a second dose.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use vrs_domain::{
    AuditAction, DoseNumber, DoseSource, DoseStatement, MunicipalityCode, QualityRule, UserId,
};
use vrs_store::Areas;
use vrs_store::{
    AuditStore, DoseStore, FunctionState, GovernanceStore, HolderAndDoses, IdempotentAnswer,
    Registration, StoreError,
};

use super::{dose_detail, record_for, rules_for};
use crate::coupon::CouponRef;
use crate::Actor;

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
    pub user_id: UserId,
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

/// Registers a dose given at a site (`statement.site`) on the coupon `coupon`, in the home
/// municipality's area. The caller has checked that the actor may register doses at sites.
pub async fn register_at_site(
    store: &(impl AuditStore + DoseStore + GovernanceStore + ?Sized),
    actor: &Actor,
    coupon: CouponRef,
    statement: &DoseStatement,
    key: Option<&IdempotencyRequest>,
    today: NaiveDate,
) -> Result<SiteAnswer, RegisterError> {
    register_at_site_with(store, actor, coupon, statement, key, today, None).await
}

/// What a signed-in request's registration read before it was authorised: the functions stopped,
/// read with its session, and the coupon's holder with their doses, read in the same read (see
/// [`crate::accounts::session_and_holder`]).
pub struct ReadWithSession<'a> {
    pub stopped: &'a [FunctionState],
    pub holder: Result<HolderAndDoses, StoreError>,
}

/// [`register_at_site`] with what the caller already read (`read`: a signed-in request's, read with
/// its session), so that neither the tablets' switch nor the holder is read again; `None` reads
/// both.
pub async fn register_at_site_with(
    store: &(impl AuditStore + DoseStore + GovernanceStore + ?Sized),
    actor: &Actor,
    coupon: CouponRef,
    statement: &DoseStatement,
    key: Option<&IdempotencyRequest>,
    today: NaiveDate,
    read: Option<ReadWithSession<'_>>,
) -> Result<SiteAnswer, RegisterError> {
    use crate::governance::{ensure_running, running_in, GovernanceError};
    let home = coupon.municipality;
    let tablets = vrs_domain::Function::TabletRegistration;
    let (running, holder) = match read {
        Some(read) => {
            running_in(read.stopped, tablets).map_err(RegisterError::Stopped)?;
            (Ok(()), read.holder)
        }
        // The switch and the coupon's holder are read together (on PostgreSQL over two
        // connections at once); the holder is used only if tablets may register.
        None => tokio::join!(
            ensure_running(store, tablets),
            store.area(home).holder_and_doses(&coupon.coupon)
        ),
    };
    match running {
        Ok(()) => {}
        Err(GovernanceError::Stopped(s)) => return Err(RegisterError::Stopped(s)),
        Err(GovernanceError::Store(e)) => return Err(e.into()),
        Err(other) => return Err(StoreError::Other(other.to_string()).into()),
    }
    // A repeated request (same Idempotency-Key) is found when its registration is refused, or when
    // its key is found taken on insert: its first answer is given again. A first request, the usual
    // case, reads no key.
    let audit = |outcome: &str, detail: String| {
        actor
            .audit(AuditAction::DoseRegister, coupon.coupon.as_str())
            .with_outcome(outcome)
            .with_detail(detail)
    };
    // The site's path reads the holder's 宛名番号 and flags only: no sealed field is opened.
    let (person, existing) = match holder {
        Ok((p, doses)) if p.deceased_on.is_none() => (p, doses),
        Ok(_) => {
            let audit = audit("deceased", String::new());
            return refuse(
                store,
                home,
                statement.site,
                key,
                SiteAnswer::deceased(),
                audit,
            )
            .await;
        }
        Err(StoreError::NotFound) => {
            let audit = audit("unknown_coupon", String::new());
            return refuse(
                store,
                home,
                statement.site,
                key,
                SiteAnswer::unknown_coupon(),
                audit,
            )
            .await;
        }
        Err(e) => return Err(e.into()),
    };
    let record = record_for(&person, statement.clone(), DoseSource::Tablet);
    let rules = rules_for(&record, &existing, &person, today);
    if !rules.is_empty() {
        let codes: Vec<&str> = rules.iter().map(|r| r.code()).collect();
        let detail = format!("rules={} {}", codes.join(","), dose_detail(&record));
        return refuse(
            store,
            home,
            statement.site,
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
        answer: key.map(|k| kept(statement.site, k, &answer)),
    };
    let entry = audit("ok", detail);
    match store.area(home).add_dose(&registration, &entry).await {
        // The store marked the holder's certificates superseded in the same write.
        Ok(()) => Ok(answer),
        Err(StoreError::Replayed) => match key {
            Some(k) => replay(store, statement.site, k)
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
                statement.site,
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
    store: &(impl DoseStore + ?Sized),
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
    store: &(impl AuditStore + DoseStore + ?Sized),
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
