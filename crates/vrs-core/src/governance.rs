//! What the national operator governs and municipalities agree to: versioned terms (確認事項),
//! each municipality's agreement, and the emergency stop of a function (緊急時の措置).
//!
//! Nothing here is cached: whether a function runs and what a municipality agreed to are read from
//! the database on every check, so an operator's stop takes effect at once on every node.

use vrs_domain::{AuditAction, Function, MunicipalityCode, Reason, TermsKind};
use vrs_store::Areas;
use vrs_store::{Agreement, FunctionState, GovernanceStore, StoreError, TermsVersion};

use crate::Actor;

/// The message the certificate app receives when the municipality has not agreed to issuance to
/// the app (docs/certificates.md), word for word.
pub const APP_ISSUANCE_NOT_STARTED: &str = "この自治体では、まだアプリでの発行を開始していません。恐れ入りますが、自治体の発行方法を確認の上、手続きをお願いします。";

/// A function the operator has stopped, as callers are told.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{} is stopped by the national operator: {reason}", function.label_en())]
pub struct Stopped {
    pub function: Function,
    pub reason: String,
    pub since: chrono::DateTime<chrono::Utc>,
}

impl Stopped {
    pub fn message_ja(&self) -> String {
        format!(
            "「{}」は国（運用管理者）により停止されています。理由: {}",
            self.function.label_ja(),
            self.reason
        )
    }
}

/// A stopped function: 503 (the service is stopped, not the request wrong), code `function_stopped`.
impl vrs_domain::UserFacing for Stopped {
    fn code(&self) -> &'static str {
        "function_stopped"
    }
    fn status(&self) -> u16 {
        503
    }
    fn message_ja(&self) -> std::borrow::Cow<'_, str> {
        Stopped::message_ja(self).into()
    }
    fn message_en(&self) -> std::borrow::Cow<'_, str> {
        self.to_string().into()
    }
}

/// A value typed into a governance form that is refused: the form field it is about and why, in
/// both languages.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", reason.en)]
pub struct Refused {
    pub field: &'static str,
    pub reason: Reason,
}

#[derive(Debug, thiserror::Error)]
pub enum GovernanceError {
    #[error(transparent)]
    Stopped(#[from] Stopped),
    #[error(transparent)]
    Invalid(Refused),
    #[error("no such version of the terms")]
    NotFound,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for GovernanceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => GovernanceError::NotFound,
            other => GovernanceError::Store(other),
        }
    }
}

/// Whether `function` runs: `Err(Stopped)` with the operator's reason when it is stopped.
pub async fn ensure_running(
    store: &(impl GovernanceStore + ?Sized),
    function: Function,
) -> Result<(), GovernanceError> {
    Ok(running_in(&store.function_states().await?, function)?)
}

/// Whether `function` runs by states already read (a signed-in request's, read with its
/// session): `Err(Stopped)` with the operator's reason when it is stopped.
pub fn running_in(states: &[FunctionState], function: Function) -> Result<(), Stopped> {
    match states.iter().find(|s| s.function == function) {
        Some(s) if s.stopped => Err(Stopped {
            function,
            reason: s.reason.clone(),
            since: s.changed_at,
        }),
        _ => Ok(()),
    }
}

/// Every stoppable function with its state (a function never switched runs).
pub async fn function_overview(
    store: &(impl GovernanceStore + ?Sized),
) -> Result<Vec<(Function, Option<FunctionState>)>, StoreError> {
    let states = store.function_states().await?;
    Ok(Function::ALL
        .iter()
        .map(|&f| (f, states.iter().find(|s| s.function == f).cloned()))
        .collect())
}

fn invalid(field: &'static str, code: &'static str, ja: String, en: String) -> GovernanceError {
    GovernanceError::Invalid(Refused {
        field,
        reason: Reason::new(code, ja, en),
    })
}

/// One line of text for `field`, named `(ja, en)` in the refusal.
fn one_line(
    field: &'static str,
    (ja, en): (&str, &str),
    text: &str,
    max: usize,
) -> Result<String, GovernanceError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(invalid(
            field,
            "required",
            format!("{ja}を入力してください。"),
            format!("{en} is required"),
        ));
    }
    if text.chars().count() > max || text.chars().any(char::is_control) {
        return Err(invalid(
            field,
            "too_long",
            format!("{ja}は1行・{max}文字以内で入力してください。"),
            format!("{en} must be at most {max} characters on one line"),
        ));
    }
    Ok(text.to_owned())
}

/// The operator stops (`stopped`) or resumes a function, saying why. Audited in the national chain.
pub async fn switch_function(
    store: &(impl GovernanceStore + ?Sized),
    actor: &Actor,
    function: Function,
    stopped: bool,
    reason: &str,
) -> Result<FunctionState, GovernanceError> {
    let reason = one_line("reason", ("理由", "the reason"), reason, 200)?;
    let action = if stopped { "stop" } else { "resume" };
    let audit = actor
        .audit(AuditAction::FunctionStop, function.as_str())
        .with_detail(format!("{action}: {reason}"));
    let state = FunctionState {
        function,
        stopped,
        reason,
        changed_by: actor.user.clone(),
        changed_at: audit.at,
    };
    store.set_function(&state, &audit).await?;
    Ok(state)
}

/// The operator publishes the next version of a terms document. Audited in the national chain.
pub async fn publish_terms(
    store: &(impl GovernanceStore + ?Sized),
    actor: &Actor,
    kind: TermsKind,
    title: &str,
    body: &str,
) -> Result<TermsVersion, GovernanceError> {
    let title = one_line("title", ("表題", "the title"), title, 100)?;
    let body = body.trim().replace("\r\n", "\n");
    if body.is_empty() {
        return Err(invalid(
            "body",
            "required",
            "本文を入力してください。".into(),
            "the text of the terms is required".into(),
        ));
    }
    if body.chars().count() > 50_000 {
        return Err(invalid(
            "body",
            "too_long",
            "本文は50,000文字以内で入力してください。".into(),
            "the text of the terms must be at most 50,000 characters".into(),
        ));
    }
    let audit = actor
        .audit(AuditAction::TermsPublish, kind.as_str())
        .with_detail(format!("title: {title}"));
    Ok(store
        .publish_terms(kind, &title, &body, &actor.user, &audit)
        .await?)
}

/// One terms document as a municipality sees it: its newest version and what it agreed to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TermsStatus {
    pub kind: TermsKind,
    pub latest: Option<TermsVersion>,
    /// The municipality's agreement to the newest version, if it gave one.
    pub agreed_latest: Option<Agreement>,
    /// The newest version it ever agreed to (perhaps an older one).
    pub last_agreed: Option<Agreement>,
}

/// Every terms document with the municipality's standing.
pub async fn terms_status(
    store: &(impl GovernanceStore + ?Sized),
    scope: MunicipalityCode,
) -> Result<Vec<TermsStatus>, StoreError> {
    let versions = store.terms_versions(None).await?;
    let agreements = store.area(scope).agreements().await?;
    Ok(TermsKind::ALL
        .iter()
        .map(|&kind| {
            let latest = versions
                .iter()
                .filter(|v| v.kind == kind)
                .max_by_key(|v| v.version);
            let mine = agreements.iter().filter(|a| a.kind == kind);
            TermsStatus {
                kind,
                latest: latest.cloned(),
                agreed_latest: latest
                    .and_then(|l| mine.clone().find(|a| a.version == l.version).cloned()),
                last_agreed: mine.max_by_key(|a| a.version).cloned(),
            }
        })
        .collect())
}

/// Whether the municipality has agreed to the newest published version of `kind` (false while
/// none is published).
pub async fn has_agreed(
    store: &(impl GovernanceStore + ?Sized),
    scope: MunicipalityCode,
    kind: TermsKind,
) -> Result<bool, StoreError> {
    let latest = store
        .terms_versions(Some(kind))
        .await?
        .into_iter()
        .map(|v| v.version)
        .max();
    let Some(latest) = latest else {
        return Ok(false);
    };
    Ok(store
        .area(scope)
        .agreements()
        .await?
        .iter()
        .any(|a| a.kind == kind && a.version == latest))
}

/// A municipal administrator agrees, for the municipality, to `version` of `kind`, which must be
/// the newest. Audited in the municipality's chain; agreeing again changes nothing (false).
pub async fn agree(
    store: &(impl GovernanceStore + ?Sized),
    actor: &Actor,
    scope: MunicipalityCode,
    kind: TermsKind,
    version: u32,
) -> Result<bool, GovernanceError> {
    let latest = store
        .terms_versions(Some(kind))
        .await?
        .into_iter()
        .map(|v| v.version)
        .max()
        .ok_or(GovernanceError::NotFound)?;
    if version > latest {
        return Err(GovernanceError::NotFound);
    }
    if version < latest {
        return Err(invalid(
            "version",
            "terms_replaced",
            format!("第{version}版は第{latest}版に改められました。最新の版を読んで同意してください。"),
            format!(
                "version {version} has been replaced by version {latest}: read and agree to the newest"
            ),
        ));
    }
    let audit = actor
        .audit(AuditAction::TermsAgree, kind.as_str())
        .with_detail(format!("version {version}"));
    Ok(store
        .area(scope)
        .agree_to_terms(kind, version, &actor.user, &audit)
        .await?)
}

/// Why the app cannot be given a certificate of this municipality.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AppIssuanceRefusal {
    #[error(transparent)]
    Stopped(Stopped),
    /// The municipality has not agreed to the newest app-issuance terms; the app shows
    /// [`APP_ISSUANCE_NOT_STARTED`].
    #[error("{}", APP_ISSUANCE_NOT_STARTED)]
    NotStarted,
}

/// The gate of issuance to the app: the function runs and the issuing municipality agreed to the
/// newest app-issuance terms.
pub async fn app_issuance_gate(
    store: &(impl GovernanceStore + ?Sized),
    issuing: MunicipalityCode,
) -> Result<Result<(), AppIssuanceRefusal>, StoreError> {
    match ensure_running(store, Function::AppIssuance).await {
        Err(GovernanceError::Stopped(s)) => return Ok(Err(AppIssuanceRefusal::Stopped(s))),
        Err(GovernanceError::Store(e)) => return Err(e),
        _ => {}
    }
    if has_agreed(store, issuing, TermsKind::AppIssuance).await? {
        Ok(Ok(()))
    } else {
        Ok(Err(AppIssuanceRefusal::NotStarted))
    }
}
