//! A certificate's life after issue, and a tablet's short right to undo.
//!
//! - **Superseded / revoked by the doses.** A certificate states the person's doses at issue. When
//!   a dose it states is corrected or deleted, the store revokes it in the correction's own
//!   transaction (what it states is no longer true); when a later dose is added it is only marked
//!   superseded ([`doses_added`], after the addition) — still true, but a re-issue would state more.
//! - **Revoked by staff** ([`revoke`]) with a reason, e.g. a dose registered on the wrong person.
//!   Revocation is final and published (SMART Health Card CRL, EU DCC UVCI hash list).
//! - **Re-issued** ([`reissue`]) in one action from the person's record (or by the app, naming
//!   the certificate it replaces): a new certificate from the doses as recorded now.
//! - **Undone at the site** ([`undo_at_site`]): a dose registered from a tablet can be withdrawn by
//!   the same account within a short window (recorded is not administered: a wrong coupon scanned);
//!   after that only municipal staff correct it, with the audit trail of a correction.

use chrono::{DateTime, Duration, Utc};
use vrs_domain::mrz::Mrz;
use vrs_domain::{
    AtenaNumber, AuditAction, CertificateId, DoseSource, IssueChannel, MunicipalityCode,
};
use vrs_store::Areas;
use vrs_store::{
    AuditEntry, CertificateIssue, CertificateStore, ConflictKind, DoseStore, GovernanceStore,
    ResidentStore, StoreError,
};

use crate::certificates::signing::IssuerSettings;
use crate::certificates::{self, CertificateError, CertificateRequest, IssuedCertificate};
use crate::coupon::CouponRef;
use crate::doses::{dose_detail, reason_text, ChangeError};
use crate::Actor;

/// The undo window when the deployment does not set one.
pub const DEFAULT_UNDO_WINDOW: Duration = Duration::minutes(10);

/// After doses were added for these people (already recorded, with `cause` as their audit entry):
/// their outstanding certificates that no longer state every dose are marked superseded. A failure
/// here leaves the doses recorded and the certificates as they were (still true), so it is logged,
/// not returned.
pub async fn doses_added<'a>(
    store: &(impl CertificateStore + ?Sized),
    scope: MunicipalityCode,
    people: impl IntoIterator<Item = &'a AtenaNumber>,
    cause: &AuditEntry,
) {
    let mut people: Vec<AtenaNumber> = people.into_iter().cloned().collect();
    people.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
    people.dedup();
    if let Err(e) = store.area(scope).refresh_certificates(&people, cause).await {
        tracing::warn!(municipality = %scope, error = %e, "certificates not marked superseded");
    }
}

/// Staff revoke a certificate of their own area, with a reason (audited as `certificate.revoke`).
pub async fn revoke(
    store: &(impl CertificateStore + ?Sized),
    actor: &Actor,
    scope: MunicipalityCode,
    id: &CertificateId,
    reason: &str,
) -> Result<(), ChangeError> {
    let reason = reason_text(reason)?;
    if id.issuer() != Some(scope) {
        return Err(ChangeError::NotFound);
    }
    let audit = actor
        .audit(AuditAction::CertificateRevoke, id.as_str())
        .with_detail(format!("reason: {reason}"));
    store
        .area(scope)
        .revoke_certificate(id, &reason, &audit)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(m) => ChangeError::Invalid(m.to_string()),
            other => other.into(),
        })
}

/// The certificate `id` of the person of `atena`, or NotFound when it is not theirs.
pub async fn person_certificate(
    store: &(impl CertificateStore + ?Sized),
    scope: MunicipalityCode,
    atena: &AtenaNumber,
    id: &CertificateId,
) -> Result<CertificateIssue, StoreError> {
    store
        .area(scope)
        .person_certificates(atena)
        .await?
        .into_iter()
        .find(|c| c.certificate_id == *id)
        .ok_or(StoreError::NotFound)
}

/// Re-issues certificate `old` of the person of `atena`: a new certificate of the same kind from the
/// doses recorded now, naming the one it replaces. An overseas certificate needs the passport read
/// again (its MRZ is never kept).
#[allow(clippy::too_many_arguments)]
pub async fn reissue(
    store: &(impl CertificateStore + DoseStore + ResidentStore + ?Sized),
    settings: &IssuerSettings,
    actor: &Actor,
    scope: MunicipalityCode,
    atena: &AtenaNumber,
    old: &CertificateId,
    passport: Option<Mrz>,
    channel: IssueChannel,
    now: DateTime<Utc>,
) -> Result<IssuedCertificate, CertificateError> {
    let previous = person_certificate(store, scope, atena, old).await?;
    let person = store.area(scope).resident(atena).await?;
    let doses = store.area(scope).doses_of(atena).await?;
    let request = CertificateRequest {
        kind: previous.kind,
        passport,
        channel,
        replaces: Some(previous.certificate_id),
    };
    certificates::issue(store, settings, actor, &person, doses, &request, now).await
}

/// Why a site's undo was refused. It reads "日本語 (English)"; [`UserFacing`](vrs_domain::UserFacing)
/// gives each language on its own.
#[derive(Debug)]
pub enum UndoError {
    NoReason,
    Invalid(String),
    NotFound,
    NotFromTablet,
    OtherSite,
    WindowClosed {
        minutes: i64,
    },
    /// The operator has stopped registration from tablets: an undo is a registration change too.
    Stopped(crate::governance::Stopped),
    Store(StoreError),
}

impl vrs_domain::UserFacing for UndoError {
    fn code(&self) -> &'static str {
        match self {
            UndoError::NoReason | UndoError::Invalid(_) => "invalid",
            UndoError::NotFound => "not_found",
            UndoError::WindowClosed { .. } => "window_closed",
            UndoError::NotFromTablet | UndoError::OtherSite => "not_undoable",
            UndoError::Stopped(s) => s.code(),
            UndoError::Store(_) => "internal",
        }
    }

    fn status(&self) -> u16 {
        match self {
            UndoError::NoReason | UndoError::Invalid(_) => 422,
            UndoError::NotFound => 404,
            UndoError::WindowClosed { .. } | UndoError::NotFromTablet | UndoError::OtherSite => 409,
            UndoError::Stopped(s) => s.status(),
            UndoError::Store(_) => 500,
        }
    }

    fn message_ja(&self) -> std::borrow::Cow<'_, str> {
        match self {
            UndoError::NoReason => "取り消しの理由を入力してください".into(),
            UndoError::Invalid(m) => m.as_str().into(),
            UndoError::NotFound => "この接種券に該当する接種記録がありません".into(),
            UndoError::NotFromTablet => {
                "タブレットで登録された接種記録ではないため、市区町村の担当者が訂正します".into()
            }
            UndoError::OtherSite => {
                "別の接種会場のアカウントで登録された接種記録は取り消せません".into()
            }
            UndoError::WindowClosed { minutes } => format!(
                "登録から{minutes}分を過ぎたため取り消せません。市区町村の担当者に訂正を依頼してください"
            )
            .into(),
            UndoError::Stopped(s) => s.message_ja().into(),
            UndoError::Store(_) => "取り消しを処理できませんでした".into(),
        }
    }

    fn message_en(&self) -> std::borrow::Cow<'_, str> {
        match self {
            UndoError::NoReason => "a reason is required".into(),
            UndoError::Invalid(m) => m.as_str().into(),
            UndoError::NotFound => "no such dose on this coupon".into(),
            UndoError::NotFromTablet => {
                "the dose was not registered from a tablet: municipal staff correct it".into()
            }
            UndoError::OtherSite => "the dose was registered by another site".into(),
            UndoError::WindowClosed { minutes } => format!(
                "the {minutes}-minute undo window has closed: ask municipal staff to correct it"
            )
            .into(),
            UndoError::Stopped(s) => s.to_string().into(),
            UndoError::Store(_) => "the undo could not be processed".into(),
        }
    }
}

impl std::fmt::Display for UndoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use vrs_domain::UserFacing;
        match self {
            UndoError::Invalid(m) => f.write_str(m),
            UndoError::Stopped(s) => s.fmt(f),
            UndoError::Store(e) => e.fmt(f),
            other => write!(f, "{} ({})", other.message_ja(), other.message_en()),
        }
    }
}

impl std::error::Error for UndoError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            UndoError::Store(e) => Some(e),
            _ => None,
        }
    }
}

/// A vaccination site undoes a dose it registered from its tablet on `coupon`, within `window` of
/// recording it (`now` is the time of the request), with a reason; refused like a registration
/// while the operator has stopped registration from tablets. Audited as `dose.undo` in the
/// home municipality's chain; certificates stating the dose are revoked with it.
pub async fn undo_at_site(
    store: &(impl DoseStore + GovernanceStore + ResidentStore + ?Sized),
    actor: &Actor,
    coupon: CouponRef,
    dose_number: vrs_domain::DoseNumber,
    reason: &str,
    window: Duration,
    now: DateTime<Utc>,
) -> Result<(), UndoError> {
    use crate::governance::{ensure_running, GovernanceError};
    match ensure_running(store, vrs_domain::Function::TabletRegistration).await {
        Ok(()) => {}
        Err(GovernanceError::Stopped(s)) => return Err(UndoError::Stopped(s)),
        Err(GovernanceError::Store(e)) => return Err(UndoError::Store(e)),
        Err(other) => return Err(UndoError::Invalid(other.to_string())),
    }
    let reason = reason_text(reason).map_err(|e| match e {
        ChangeError::NoReason => UndoError::NoReason,
        other => UndoError::Invalid(other.to_string()),
    })?;
    let home = coupon.municipality;
    let holder = match store.area(home).coupon_holder(&coupon.coupon).await {
        Ok(h) => h,
        Err(StoreError::NotFound) => return Err(UndoError::NotFound),
        Err(e) => return Err(UndoError::Store(e)),
    };
    let doses = store
        .area(home)
        .doses_of(&holder.atena)
        .await
        .map_err(UndoError::Store)?;
    let before = doses
        .into_iter()
        .find(|d| d.dose.dose_number == dose_number)
        .ok_or(UndoError::NotFound)?;
    let minutes = window.num_minutes();
    if before.source != DoseSource::Tablet {
        return Err(UndoError::NotFromTablet);
    }
    if now - before.recorded_at > window {
        return Err(UndoError::WindowClosed { minutes });
    }
    let audit = actor
        .audit(AuditAction::DoseUndo, coupon.coupon.as_str())
        .with_detail(format!(
            "before: {} | reason: {reason}",
            dose_detail(&before)
        ));
    match store
        .area(home)
        .undo_dose(&before, &actor.user, now - window, &audit)
        .await
    {
        Ok(()) => Ok(()),
        Err(StoreError::Conflict(ConflictKind::OtherSite)) => Err(UndoError::OtherSite),
        Err(StoreError::Conflict(ConflictKind::UndoWindowClosed)) => {
            Err(UndoError::WindowClosed { minutes })
        }
        Err(StoreError::Conflict(ConflictKind::NotFromTablet)) => Err(UndoError::NotFromTablet),
        Err(StoreError::NotFound) => Err(UndoError::NotFound),
        Err(e) => Err(UndoError::Store(e)),
    }
}
