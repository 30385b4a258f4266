//! Terms and switches: municipal staff read the terms (確認事項) and their municipality's
//! agreements, the municipal administrator agrees; the national operator publishes new versions and
//! stops or resumes functions in an emergency (緊急時の措置). Every change is audited.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;
use vrs_core::access::{Action, Target};
use vrs_core::governance::{
    agree, function_overview, publish_terms, switch_function, terms_status, GovernanceError,
    TermsStatus,
};
use vrs_domain::{Function, Labelled, TermsKind};
use vrs_store::{FunctionState, TermsVersion};

use crate::error::WebError;
use crate::form::{select, summary, Input, Refusal};
use crate::i18n::{said, Lang, Text};
use crate::pages::layout;
use crate::records::actor;
use crate::session::Signed;
use crate::AppState;

fn jst(at: chrono::DateTime<chrono::Utc>) -> String {
    (at + chrono::Duration::hours(9))
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn refused(e: GovernanceError) -> WebError {
    match e {
        GovernanceError::Invalid(r) => WebError::Refused(r.reason),
        GovernanceError::NotFound => WebError::NotFound,
        GovernanceError::Stopped(s) => WebError::Stopped(s),
        GovernanceError::Store(e) => e.into(),
    }
}

// --- the municipality's side ---

pub async fn terms_page(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Html<String>, WebError> {
    let own = crate::records::own(&signed, Action::ReadTerms)?;
    let may_agree = signed
        .authorize(Action::AgreeToTerms, &Target::Municipality(own))
        .is_ok();
    let status = terms_status(state.store.as_ref(), own).await?;
    Ok(Html(
        terms_view(&signed, &status, may_agree, None).into_string(),
    ))
}

fn terms_view(
    signed: &Signed,
    status: &[TermsStatus],
    may_agree: bool,
    notice: Option<&str>,
) -> Markup {
    let ja = signed.lang == Lang::Ja;
    let body = html! {
        @if let Some(n) = notice { p.notice role="status" #notice { (n) } }
        @for s in status {
            section.card.terms data-kind=(s.kind.as_str()) data-agreed=(s.agreed_latest.is_some()) {
                h3 { (s.kind.label(ja)) }
                @match &s.latest {
                    None => p { (Text::NotPublishedYet.pick(ja)) },
                    Some(v) => {
                        p { (Text::VersionPrefix.pick(ja)) (v.version) (Text::VersionSuffix.pick(ja)) "　" (v.title) "　"
                            (Text::Published.pick(ja)) " " (jst(v.published_at)) }
                        pre.terms-text { (v.body) }
                        @if let Some(a) = &s.agreed_latest {
                            p.notice.agreed { (Text::Agreed.pick(ja)) ": " (a.agreed_by) " " (jst(a.agreed_at)) }
                        } @else {
                            @if let Some(a) = &s.last_agreed {
                                p.error { (Text::AnEarlierVersion.pick(ja)) (a.version) (Text::WasAgreedTheNewVersion.pick(ja)) }
                            } @else {
                                p.error { (Text::NotAgreed.pick(ja)) }
                            }
                            @if may_agree {
                                form method="post" action={ "/terms/" (s.kind.as_str()) "/agree" } {
                                    input type="hidden" name="csrf" value=(signed.session.csrf_token);
                                    input type="hidden" name="version" value=(v.version);
                                    label { input type="checkbox" name="read" value="1" required; (Text::IHaveReadTheTerms.pick(ja)) }
                                    button.agree type="submit" { (Text::AgreeForTheMunicipality.pick(ja)) }
                                }
                            } @else {
                                p { (Text::TheMunicipalitySAdministratorAgrees.pick(ja)) }
                            }
                        }
                    }
                }
            }
        }
    };
    layout(signed.lang, Text::Terms.pick(ja), Some(signed), body)
}

#[derive(Deserialize)]
pub struct AgreeForm {
    csrf: String,
    version: String,
    #[serde(default)]
    read: Option<String>,
}

pub async fn agree_to(
    State(state): State<AppState>,
    signed: Signed,
    Path(kind): Path<String>,
    Form(form): Form<AgreeForm>,
) -> Result<Response, WebError> {
    let own = crate::records::own(&signed, Action::AgreeToTerms)?;
    signed.check_csrf(&form.csrf)?;
    let kind = TermsKind::parse(&kind).ok_or(WebError::NotFound)?;
    let version: u32 =
        form.version.trim().parse().map_err(|_| {
            WebError::Invalid(format!("version: {:?} is not a number", form.version))
        })?;
    if form.read.is_none() {
        return Err(WebError::Invalid(
            "read: confirm that you have read the terms".into(),
        ));
    }
    agree(state.store.as_ref(), &actor(&signed), own, kind, version)
        .await
        .map_err(refused)?;
    Ok(Redirect::to("/terms").into_response())
}

// --- the national operator's side ---

fn operator(signed: &Signed, action: Action) -> Result<(), WebError> {
    signed.authorize(action, &Target::Nation)
}

pub async fn operator_terms(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Html<String>, WebError> {
    operator(&signed, Action::PublishTerms)?;
    let versions = state.store.terms_versions(None).await?;
    Ok(Html(
        operator_terms_view(&signed, &versions, None).into_string(),
    ))
}

/// The operator's terms page; a refused publication is drawn again with what was typed and the
/// reason under its field.
fn operator_terms_view(
    signed: &Signed,
    versions: &[TermsVersion],
    refused: Option<(&PublishForm, &Refusal)>,
) -> Markup {
    let ja = signed.lang == Lang::Ja;
    let (sent, refusal) = match refused {
        Some((form, r)) => (Some(form), Some(r)),
        None => (None, None),
    };
    let body_error = refusal.filter(|r| r.field == Some("body"));
    let body = html! {
        form.card #publish method="post" action="/operator/terms" novalidate {
            (summary("", refusal))
            input type="hidden" name="csrf" value=(signed.session.csrf_token);
            (select("", "kind", Text::Kind.pick(ja), html! {
                @for k in TermsKind::ALL {
                    option value=(k.as_str()) selected[sent.is_some_and(|f| f.kind == k.as_str())] { (k.label(ja)) }
                }
            }, refusal))
            (Input::new("", "title", Text::Title.pick(ja)).value(sent.map_or("", |f| f.title.as_str())).required().maxlength(100).render(refusal))
            div.field {
                label for="body" { (Text::Body.pick(ja)) span.required aria-hidden="true" {} }
                textarea #body name="body" rows="12" required
                    aria-invalid=[body_error.map(|_| "true")]
                    aria-describedby=[body_error.map(|_| "body-error")] { (sent.map_or("", |f| f.body.as_str())) }
                @if let Some(r) = body_error { p.field-error #body-error { (r.message) } }
            }
            button.primary type="submit" { (Text::PublishAsANewVersion.pick(ja)) }
        }
        table #versions {
            tr { th { (Text::Kind.pick(ja)) } th { (Text::Version.pick(ja)) } th { (Text::Title.pick(ja)) } th { (Text::PublishedBy.pick(ja)) } th { (Text::PublishedAt.pick(ja)) } }
            @for v in versions {
                tr { td { (v.kind.label(ja)) } td { (v.version) } td { (v.title) } td { (v.published_by) } td { (jst(v.published_at)) } }
            }
        }
    };
    layout(signed.lang, Text::PublishTerms.pick(ja), Some(signed), body)
}

#[derive(Deserialize)]
pub struct PublishForm {
    csrf: String,
    kind: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
}

pub async fn publish(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<PublishForm>,
) -> Result<Response, WebError> {
    operator(&signed, Action::PublishTerms)?;
    signed.check_csrf(&form.csrf)?;
    let kind = TermsKind::parse(&form.kind)
        .ok_or_else(|| WebError::Invalid(format!("kind: unknown terms {:?}", form.kind)))?;
    match publish_terms(
        state.store.as_ref(),
        &actor(&signed),
        kind,
        &form.title,
        &form.body,
    )
    .await
    {
        Ok(_) => Ok(Redirect::to("/operator/terms").into_response()),
        Err(GovernanceError::Invalid(r)) => {
            let versions = state.store.terms_versions(None).await?;
            let refusal = Refusal::field(r.field, said(signed.lang, &r.reason).into_owned());
            let page = operator_terms_view(&signed, &versions, Some((&form, &refusal)));
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.into_string())).into_response())
        }
        Err(e) => Err(refused(e)),
    }
}

pub async fn functions_page(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Html<String>, WebError> {
    operator(&signed, Action::EmergencyStop)?;
    let overview = function_overview(state.store.as_ref()).await?;
    Ok(Html(functions_view(&signed, &overview, None).into_string()))
}

/// The operator's switches; a refused switch names its reason field (in that function's form).
fn functions_view(
    signed: &Signed,
    overview: &[(Function, Option<FunctionState>)],
    refused: Option<(Function, &Refusal)>,
) -> Markup {
    let ja = signed.lang == Lang::Ja;
    let of = |f: Function| refused.filter(|(g, _)| *g == f).map(|(_, r)| r);
    let body = html! {
        @if let Some((f, r)) = refused { (summary(f.as_str(), Some(r))) }
        p { (Text::AStopTakesEffectAt.pick(ja)) }
        @for (f, state) in overview {
            @let stopped = state.as_ref().is_some_and(|s| s.stopped);
            section.card.function data-function=(f.as_str()) data-stopped=(stopped) {
                h3 { (f.label(ja)) }
                p {
                    @if stopped { strong.error { (Text::Stopped.pick(ja)) } } @else { (Text::Running.pick(ja)) }
                    @if let Some(s) = state {
                        "　" (Text::LastChange.pick(ja)) ": " (s.changed_by) " " (jst(s.changed_at)) "（" (s.reason) "）"
                    }
                }
                form method="post" action={ "/operator/functions/" (f.as_str()) } {
                    input type="hidden" name="csrf" value=(signed.session.csrf_token);
                    input type="hidden" name="stop" value=(if stopped { "0" } else { "1" });
                    (Input::new(f.as_str(), "reason", Text::Reason.pick(ja)).required().maxlength(200).render(of(*f)))
                    button.danger[!stopped] type="submit" { (if stopped { Text::Resume.pick(ja) } else { Text::Stop.pick(ja) }) }
                }
            }
        }
    };
    layout(
        signed.lang,
        Text::EmergencyStop.pick(ja),
        Some(signed),
        body,
    )
}

#[derive(Deserialize)]
pub struct SwitchForm {
    csrf: String,
    stop: String,
    #[serde(default)]
    reason: String,
    /// `1` once the confirmation page was answered (confirm.rs).
    #[serde(default)]
    confirmed: Option<String>,
}

pub async fn switch(
    State(state): State<AppState>,
    signed: Signed,
    Path(function): Path<String>,
    Form(form): Form<SwitchForm>,
) -> Result<Response, WebError> {
    operator(&signed, Action::EmergencyStop)?;
    signed.check_csrf(&form.csrf)?;
    let function = Function::parse(&function).ok_or(WebError::NotFound)?;
    let stop = match form.stop.as_str() {
        "1" => true,
        "0" => false,
        other => return Err(WebError::Invalid(format!("stop: {other:?} (1 or 0)"))),
    };
    let path = format!("/operator/functions/{}", function.as_str());
    let fields = [
        ("csrf", form.csrf.as_str()),
        ("stop", form.stop.as_str()),
        ("reason", form.reason.as_str()),
    ];
    let what = crate::confirm::Destructive::SwitchFunction { function, stop };
    if let Some(page) =
        crate::confirm::unless_confirmed(&signed, what, &path, &fields, form.confirmed.as_deref())
    {
        return Ok(page);
    }
    match switch_function(
        state.store.as_ref(),
        &actor(&signed),
        function,
        stop,
        &form.reason,
    )
    .await
    {
        Ok(_) => Ok(Redirect::to("/operator/functions").into_response()),
        Err(GovernanceError::Invalid(r)) => {
            let overview = function_overview(state.store.as_ref()).await?;
            let refusal = Refusal::field(r.field, said(signed.lang, &r.reason).into_owned());
            let page = functions_view(&signed, &overview, Some((function, &refusal)));
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.into_string())).into_response())
        }
        Err(e) => Err(refused(e)),
    }
}
