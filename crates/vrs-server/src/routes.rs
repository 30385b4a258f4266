//! The routes and their handlers. Each handler extracts who acts, calls a service, and renders.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use vrs_core::access::{Action, Target};
use vrs_core::accounts::{self, ApplicationError, LoginError, PasswordChangeError};
use vrs_store::{ApplicationStatus, AuditEntry, AuditFilter};

use crate::error::WebError;
use crate::i18n::{t, Lang, Text};
use crate::pages;
use crate::session::{
    constant_time_eq, private_cookie, removal, RequestTerminal, Signed, SignedAny,
    LOGIN_CSRF_COOKIE, SESSION_COOKIE,
};
use crate::AppState;
use crate::{
    backups, certificates, dose_files, fhir, governance, hl7, inquiries, oauth, records,
    statistics, verify_page,
};

/// The OpenAPI document of the JSON API.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "VRS — Vaccination Record System API",
        description = "The JSON API of VRS. Pages for people are server-rendered HTML and not part of this document."
    ),
    paths(
        healthz,
        openapi,
        read_coupon,
        crate::tablet::register_dose,
        crate::tablet::undo_dose,
        crate::inquiries::api_inquire,
        crate::certificates::api_app,
        crate::certificates::api_kiosk,
        crate::statistics::api,
        crate::targets::import,
        crate::inquiries::api_bulk,
        crate::inquiries::api_bulk_results,
        crate::oauth::token,
        crate::certificates::jwks_all,
        crate::certificates::jwks_national,
        crate::certificates::jwks_of,
        crate::certificates::trust_list,
        crate::lifecycle::crl_national,
        crate::lifecycle::crl_of,
        crate::lifecycle::signer_lists,
        crate::lifecycle::verifier_bundle,
        crate::oauth::smart_configuration,
        crate::opendata::daily_ndjson,
        crate::opendata::daily_csv,
        crate::opendata::summary_json,
        crate::opendata::municipalities_ndjson,
        crate::opendata::municipalities_csv
    ),
    components(schemas(
        crate::tablet::DoseRequest,
        crate::tablet::UndoRequest,
        crate::inquiries::InquiryBody,
        crate::certificates::ApplicationBody,
        crate::certificates::CardBody,
        crate::oauth::TokenAnswer,
        crate::oauth::TokenForm
    ))
)]
pub(crate) struct ApiDoc;

/// Who a route is for, as the tenant-isolation tests read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// Anyone, signed in or not (health, metrics, sign-in, language).
    Public,
    /// Any signed-in user (menu, password, sign-out).
    SignedIn,
    /// The national operator.
    Operator,
    /// A municipality's administrator.
    MunicipalAdmin,
    /// A municipality's staff (administrators included).
    MunicipalStaff,
    /// A vaccination-site tablet (it reads coupons of any municipality).
    SiteTablet,
    /// Whoever reads statistics: municipal staff (their own), prefectures (theirs), the nation.
    Statistics,
    /// The certificate app's back end, kiosks and certificate centres (service accounts).
    CertificateService,
}

/// One route: its path pattern, the methods it answers, who it is for.
pub struct RouteInfo {
    pub path: &'static str,
    pub methods: &'static [&'static str],
    pub audience: Audience,
}

type Handlers = axum::routing::MethodRouter<AppState>;

/// Whether a route of the table answers `method` on `path` (a request path, matched against the
/// table's patterns): the API refuses a body it would not read (415) only where the method is
/// served, so an undeclared method is 405 whatever its body.
pub fn declares(path: &str, method: &str) -> bool {
    static TABLE: std::sync::OnceLock<Vec<RouteInfo>> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(routes);
    let matches = |pattern: &str| {
        let (mut p, mut r) = (pattern.split('/'), path.split('/'));
        loop {
            match (p.next(), r.next()) {
                (None, None) => return true,
                (Some(s), Some(_)) if s.starts_with("{*") => return true,
                (Some(s), Some(t)) if s == t || (s.starts_with('{') && !t.is_empty()) => {}
                _ => return false,
            }
        }
    };
    table
        .iter()
        .any(|route| route.methods.contains(&method) && matches(route.path))
}

/// Every route of the application. The router is built from this table and nothing else, so the
/// tests that walk it (tenant isolation) cannot miss a route.
fn table() -> Vec<(RouteInfo, Handlers)> {
    use Audience::*;
    let r = |path, methods, audience, handlers| {
        (
            RouteInfo {
                path,
                methods,
                audience,
            },
            handlers,
        )
    };
    vec![
        r("/healthz", &["GET"], Public, get(healthz)),
        r("/metrics", &["GET"], Public, get(crate::metrics::metrics)),
        r("/api/openapi.json", &["GET"], Public, get(openapi)),
        r("/api/docs", &["GET"], Public, get(crate::api_docs::page)),
        r(
            "/login",
            &["GET", "POST"],
            Public,
            get(login_page).post(login),
        ),
        r("/lang/{code}", &["GET"], Public, get(set_language)),
        r("/", &["GET"], SignedIn, get(home)),
        r("/logout", &["POST"], SignedIn, post(logout)),
        r(
            "/password",
            &["GET", "POST"],
            SignedIn,
            get(password_page).post(change_password),
        ),
        r("/operator/locks", &["GET"], Operator, get(locked_accounts)),
        r(
            "/operator/coupon-reads",
            &["GET"],
            Operator,
            get(unusual_coupon_reads),
        ),
        r(
            "/operator/locks/{user_id}/unlock",
            &["POST"],
            Operator,
            post(unlock_account),
        ),
        r(
            "/operator/applications",
            &["GET"],
            Operator,
            get(operator_applications),
        ),
        r(
            "/operator/applications/{id}/approve",
            &["POST"],
            Operator,
            post(approve_application),
        ),
        r(
            "/operator/applications/{id}/reject",
            &["POST"],
            Operator,
            post(reject_application),
        ),
        r(
            "/admin/applications",
            &["GET", "POST"],
            MunicipalAdmin,
            get(admin_applications).post(apply_for_account),
        ),
        r("/audit", &["GET"], MunicipalStaff, get(audit_page)),
        r("/audit.csv", &["GET"], MunicipalStaff, get(audit_csv)),
        r(
            "/api/v1/coupons/{reference}",
            &["GET"],
            SiteTablet,
            get(read_coupon),
        ),
        r(
            "/api/v1/doses",
            &["POST"],
            SiteTablet,
            post(crate::tablet::register_dose),
        ),
        r(
            "/api/v1/doses/undo",
            &["POST"],
            SiteTablet,
            post(crate::tablet::undo_dose),
        ),
        r(
            "/tablet",
            &["GET"],
            SiteTablet,
            get(crate::tablet::tablet_page),
        ),
        r(
            "/records",
            &["GET", "POST"],
            MunicipalStaff,
            get(records::search).post(records::search_posted),
        ),
        r(
            "/records/{atena}",
            &["GET"],
            MunicipalStaff,
            get(records::person),
        ),
        r(
            "/records/{atena}/doses",
            &["POST"],
            MunicipalStaff,
            post(records::add_dose),
        ),
        r(
            "/records/{atena}/doses/{n}/correct",
            &["POST"],
            MunicipalStaff,
            post(records::correct_dose),
        ),
        r(
            "/records/{atena}/doses/{n}/delete",
            &["POST"],
            MunicipalStaff,
            post(records::delete_dose),
        ),
        r(
            "/records/{atena}/delete",
            &["POST"],
            MunicipalStaff,
            post(records::delete_person),
        ),
        r(
            "/records/{atena}/flags",
            &["POST"],
            MunicipalStaff,
            post(records::set_flags),
        ),
        // Duplicate people: the review queue, scan, merge, unmerge, dismissal.
        r(
            "/duplicates",
            &["GET"],
            MunicipalStaff,
            get(crate::duplicates::page),
        ),
        r(
            "/duplicates/scan",
            &["POST"],
            MunicipalStaff,
            post(crate::duplicates::scan),
        ),
        r(
            "/duplicates/merge",
            &["POST"],
            MunicipalStaff,
            post(crate::duplicates::merge),
        ),
        r(
            "/duplicates/{id}/dismiss",
            &["POST"],
            MunicipalStaff,
            post(crate::duplicates::dismiss),
        ),
        r(
            "/duplicates/merges/{id}/unmerge",
            &["POST"],
            MunicipalStaff,
            post(crate::duplicates::unmerge),
        ),
        r(
            "/doses/import",
            &["GET", "POST"],
            MunicipalStaff,
            get(dose_files::import_page).post(dose_files::import).layer(
                axum::extract::DefaultBodyLimit::max(dose_files::UPLOAD_LIMIT),
            ),
        ),
        r(
            "/doses/export",
            &["GET"],
            MunicipalStaff,
            get(dose_files::export_page),
        ),
        r(
            "/doses/export/download",
            &["GET"],
            MunicipalStaff,
            get(dose_files::export),
        ),
        r("/statistics", &["GET"], Statistics, get(statistics::page)),
        r(
            "/statistics/download",
            &["GET"],
            Statistics,
            get(statistics::download),
        ),
        r(
            "/api/v1/inquiries/bulk",
            &["POST"],
            MunicipalStaff,
            post(inquiries::api_bulk)
                .layer(axum::extract::DefaultBodyLimit::max(inquiries::BULK_LIMIT)),
        ),
        r(
            "/api/v1/inquiries/bulk/{batch}",
            &["GET"],
            MunicipalStaff,
            get(inquiries::api_bulk_results),
        ),
        r(
            "/api/v1/targets",
            &["POST"],
            MunicipalStaff,
            post(crate::targets::import).layer(axum::extract::DefaultBodyLimit::max(
                crate::targets::UPLOAD_LIMIT,
            )),
        ),
        r(
            "/api/v1/statistics",
            &["GET"],
            Statistics,
            get(statistics::api),
        ),
        r(
            "/inquiries",
            &["GET", "POST"],
            MunicipalStaff,
            get(inquiries::page).post(inquiries::send),
        ),
        r(
            "/inquiries/{id}/register",
            &["POST"],
            MunicipalStaff,
            post(inquiries::register),
        ),
        r(
            "/inquiries/bulk",
            &["GET", "POST"],
            MunicipalStaff,
            get(inquiries::bulk_page)
                .post(inquiries::bulk_upload)
                .layer(axum::extract::DefaultBodyLimit::max(inquiries::BULK_LIMIT)),
        ),
        r(
            "/inquiries/bulk/{batch}/download",
            &["GET"],
            MunicipalStaff,
            get(inquiries::bulk_download),
        ),
        r(
            "/api/v1/inquiries",
            &["POST"],
            MunicipalStaff,
            post(inquiries::api_inquire),
        ),
        r(
            "/provisions",
            &["GET"],
            MunicipalStaff,
            get(inquiries::provisions),
        ),
        r(
            "/provisions/download",
            &["GET"],
            MunicipalStaff,
            get(inquiries::provisions_download),
        ),
        r(
            "/terms",
            &["GET"],
            MunicipalStaff,
            get(governance::terms_page),
        ),
        r(
            "/terms/{kind}/agree",
            &["POST"],
            MunicipalAdmin,
            post(governance::agree_to),
        ),
        r("/fhir/metadata", &["GET"], Public, get(fhir::metadata)),
        r("/oauth/token", &["POST"], Public, post(oauth::token)),
        r(
            "/.well-known/smart-configuration",
            &["GET"],
            Public,
            get(oauth::smart_configuration),
        ),
        r(
            "/fhir/.well-known/smart-configuration",
            &["GET"],
            Public,
            get(oauth::smart_configuration),
        ),
        r(
            "/fhir/{*rest}",
            &["GET", "POST"],
            Public,
            get(fhir::unsupported).post(fhir::unsupported),
        ),
        r("/fhir", &["POST"], MunicipalStaff, post(fhir::transaction)),
        r(
            "/fhir/Patient",
            &["GET"],
            MunicipalStaff,
            get(fhir::search_patients),
        ),
        r(
            "/fhir/Patient/_search",
            &["POST"],
            MunicipalStaff,
            post(fhir::search_patients_posted),
        ),
        r(
            "/fhir/Patient/{id}",
            &["GET"],
            MunicipalStaff,
            get(fhir::read_patient),
        ),
        r(
            "/fhir/Immunization",
            &["GET", "POST"],
            MunicipalStaff,
            get(fhir::search_immunizations).post(fhir::create_immunization),
        ),
        r(
            "/fhir/Immunization/{id}",
            &["GET"],
            MunicipalStaff,
            get(fhir::read_immunization),
        ),
        r(
            "/hl7/v2",
            &["POST"],
            MunicipalStaff,
            // The handler bounds the body itself: one too long is answered AR, not 413.
            post(hl7::post_er7),
        ),
        r(
            "/verify",
            &["GET", "POST"],
            Public,
            get(verify_page::page).post(verify_page::check).layer(
                axum::extract::DefaultBodyLimit::max(verify_page::UPLOAD_LIMIT),
            ),
        ),
        r("/opendata/", &["GET"], Public, get(crate::opendata::page)),
        r(
            "/opendata",
            &["GET"],
            Public,
            get(|| async { Redirect::permanent("/opendata/") }),
        ),
        r(
            "/opendata/daily.ndjson",
            &["GET"],
            Public,
            get(crate::opendata::daily_ndjson),
        ),
        r(
            "/opendata/daily.csv",
            &["GET"],
            Public,
            get(crate::opendata::daily_csv),
        ),
        r(
            "/opendata/summary.json",
            &["GET"],
            Public,
            get(crate::opendata::summary_json),
        ),
        r(
            "/opendata/municipalities.ndjson",
            &["GET"],
            Public,
            get(crate::opendata::municipalities_ndjson),
        ),
        r(
            "/opendata/municipalities.csv",
            &["GET"],
            Public,
            get(crate::opendata::municipalities_csv),
        ),
        r(
            "/.well-known/jwks.json",
            &["GET"],
            Public,
            get(certificates::jwks_all),
        ),
        r(
            "/issuer/.well-known/jwks.json",
            &["GET"],
            Public,
            get(certificates::jwks_national),
        ),
        r(
            "/issuer/{code}/.well-known/jwks.json",
            &["GET"],
            Public,
            get(certificates::jwks_of),
        ),
        r(
            "/issuer/.well-known/crl/{file}",
            &["GET"],
            Public,
            get(crate::lifecycle::crl_national),
        ),
        r(
            "/issuer/{code}/.well-known/crl/{file}",
            &["GET"],
            Public,
            get(crate::lifecycle::crl_of),
        ),
        r(
            "/.well-known/dcc-revocation/{file}",
            &["GET"],
            Public,
            get(crate::lifecycle::signer_lists),
        ),
        r(
            "/.well-known/vrs-verifier-bundle.json",
            &["GET"],
            Public,
            get(crate::lifecycle::verifier_bundle),
        ),
        r(
            "/records/{atena}/certificates/{id}/reissue",
            &["POST"],
            MunicipalStaff,
            post(crate::lifecycle::reissue),
        ),
        r(
            "/records/{atena}/certificates/{id}/revoke",
            &["POST"],
            MunicipalStaff,
            post(crate::lifecycle::revoke),
        ),
        r(
            "/.well-known/vrs-trust-list.json",
            &["GET"],
            Public,
            get(certificates::trust_list),
        ),
        r(
            "/records/{atena}/certificate",
            &["POST"],
            MunicipalStaff,
            post(certificates::issue_counter),
        ),
        r(
            "/certificates",
            &["GET"],
            MunicipalStaff,
            get(certificates::history),
        ),
        r(
            "/api/v1/app/certificates",
            &["POST"],
            CertificateService,
            post(certificates::api_app),
        ),
        r(
            "/api/v1/kiosk/certificates",
            &["POST"],
            CertificateService,
            post(certificates::api_kiosk),
        ),
        r(
            "/admin/backup",
            &["GET", "POST"],
            MunicipalAdmin,
            get(backups::page).post(backups::take),
        ),
        r(
            "/operator/terms",
            &["GET", "POST"],
            Operator,
            get(governance::operator_terms).post(governance::publish),
        ),
        r(
            "/operator/functions",
            &["GET"],
            Operator,
            get(governance::functions_page),
        ),
        r(
            "/operator/functions/{function}",
            &["POST"],
            Operator,
            post(governance::switch),
        ),
    ]
}

/// The routes of the application, for tests and documentation.
pub fn routes() -> Vec<RouteInfo> {
    table().into_iter().map(|(info, _)| info).collect()
}

pub fn router(state: AppState) -> Router {
    table()
        .into_iter()
        .fold(Router::new(), |router, (info, handlers)| {
            router.route(info.path, handlers)
        })
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::track,
        ))
        .layer(axum::middleware::from_fn(crate::api_errors::shape))
        .layer(axum::middleware::from_fn(crate::fhir::negotiate))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::headers::security,
        ))
        .with_state(state)
}

/// The OpenAPI document of this API.
#[utoipa::path(get, path = "/api/openapi.json", responses((status = 200, description = "OpenAPI 3 document")))]
async fn openapi() -> Json<serde_json::Value> {
    use utoipa::OpenApi;
    Json(crate::api_errors::document(ApiDoc::openapi()))
}

/// Whether this node is up and reaches its database.
#[utoipa::path(get, path = "/healthz", responses(
    (status = 200, description = "Up; the body names the database backend"),
    (status = 503, description = "The database cannot be reached"),
))]
async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.municipalities().await {
        Ok(_) => Json(serde_json::json!({"status": "ok", "database": state.store.backend()}))
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({"status": "unavailable"})),
            )
                .into_response()
        }
    }
}

async fn home(signed: Signed) -> Html<String> {
    Html(pages::home(signed.lang, &signed).into_string())
}

async fn login_page(State(state): State<AppState>, jar: CookieJar) -> (CookieJar, Html<String>) {
    let lang = Lang::from_cookies(&jar);
    let (csrf, _) = vrs_crypto::password::new_token();
    let jar = jar.add(private_cookie(&state, LOGIN_CSRF_COOKIE, csrf.clone()));
    (jar, Html(pages::login(lang, &csrf, None).into_string()))
}

#[derive(Deserialize)]
struct LoginForm {
    user_id: String,
    password: String,
    csrf: String,
}

/// The login page refusing a try for `seconds`: 429 with `Retry-After`, the same for every account
/// and user ID.
fn login_wait(lang: Lang, csrf: &str, seconds: u64) -> Response {
    let message = match lang {
        Lang::Ja => format!(
            "ログインの失敗が続いたため、{seconds}秒後までお待ちください。その後にもう一度お試しください。"
        ),
        Lang::En => {
            format!("Too many failed sign-ins: wait {seconds} seconds, then try again.")
        }
    };
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        Html(pages::login(lang, csrf, Some(&message)).into_string()),
    )
        .into_response();
    if let Ok(value) = seconds.to_string().parse() {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

async fn login(
    State(state): State<AppState>,
    RequestTerminal(terminal): RequestTerminal,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: axum::http::HeaderMap,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Result<Response, WebError> {
    let lang = Lang::from_cookies(&jar);
    let expected = jar
        .get(LOGIN_CSRF_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    if expected.is_empty() || !constant_time_eq(expected.as_bytes(), form.csrf.as_bytes()) {
        return Err(WebError::Csrf);
    }
    let client = crate::terminal::client_address(&state.settings, peer, &headers)
        .unwrap_or_else(|| peer.ip());
    let user_id = form.user_id.trim();
    let now = std::time::Instant::now();
    if let Some(seconds) = state.login_guard.wait(client, user_id, now) {
        return Ok(login_wait(lang, &form.csrf, seconds));
    }
    let policy = state.login_policy();
    let outcome = accounts::login(
        state.store.as_ref(),
        &policy,
        user_id,
        &form.password,
        terminal.as_str(),
    )
    .await;
    if outcome.is_err() {
        state.login_guard.failed(client, now);
    }
    // Every refusal reads the same — wrong ID or password, disabled, or waiting — so that nobody
    // learns which user IDs exist.
    let message = match outcome {
        Ok(done) => {
            let jar = jar.remove(removal(LOGIN_CSRF_COOKIE)).add(private_cookie(
                &state,
                SESSION_COOKIE,
                done.token,
            ));
            let to = if done.account.must_change_password {
                "/password"
            } else {
                "/"
            };
            return Ok((jar, Redirect::to(to)).into_response());
        }
        Err(LoginError::BadCredentials | LoginError::Disabled) => t(lang, Text::BadCredentials),
        Err(LoginError::UnknownUser) => {
            match state.login_guard.unknown_failed(user_id, &policy, now) {
                Some(wait) => return Ok(login_wait(lang, &form.csrf, wait.as_secs().max(1))),
                None => t(lang, Text::BadCredentials),
            }
        }
        Err(LoginError::Throttled { until }) => {
            let seconds = (until - chrono::Utc::now()).num_seconds().max(1) as u64;
            return Ok(login_wait(lang, &form.csrf, seconds));
        }
        Err(LoginError::Store(e)) => return Err(e.into()),
    };
    Ok((
        StatusCode::UNAUTHORIZED,
        Html(pages::login(lang, &form.csrf, Some(message)).into_string()),
    )
        .into_response())
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    SignedAny(signed): SignedAny,
    jar: CookieJar,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    signed.check_csrf(&form.csrf)?;
    accounts::logout(
        state.store.as_ref(),
        &signed.token,
        &signed.account,
        signed.terminal.as_str(),
    )
    .await?;
    Ok((jar.remove(removal(SESSION_COOKIE)), Redirect::to("/login")).into_response())
}

async fn password_page(SignedAny(signed): SignedAny) -> Html<String> {
    Html(pages::password(signed.lang, &signed, None).into_string())
}

#[derive(Deserialize)]
struct PasswordForm {
    csrf: String,
    current: String,
    new: String,
    again: String,
}

async fn change_password(
    State(state): State<AppState>,
    SignedAny(signed): SignedAny,
    jar: CookieJar,
    Form(form): Form<PasswordForm>,
) -> Result<Response, WebError> {
    signed.check_csrf(&form.csrf)?;
    let lang = signed.lang;
    let refuse = |message: String| {
        (
            StatusCode::BAD_REQUEST,
            Html(pages::password(lang, &signed, Some(&message)).into_string()),
        )
            .into_response()
    };
    if form.new != form.again {
        return Ok(refuse(t(lang, Text::PasswordsDiffer).to_owned()));
    }
    match accounts::change_password(
        state.store.as_ref(),
        &signed.account,
        &form.current,
        &form.new,
        signed.terminal.as_str(),
    )
    .await
    {
        Ok(()) => {
            // Every session of the account has ended; sign in again with the new password.
            let jar = jar.remove(removal(SESSION_COOKIE));
            let notice = t(lang, Text::PasswordChanged);
            let (csrf, _) = vrs_crypto::password::new_token();
            let jar = jar.add(private_cookie(&state, LOGIN_CSRF_COOKIE, csrf.clone()));
            Ok((
                jar,
                Html(pages::login(lang, &csrf, Some(notice)).into_string()),
            )
                .into_response())
        }
        Err(PasswordChangeError::WrongCurrent) => Ok(refuse(match lang {
            Lang::Ja => "現在のパスワードが正しくありません。".to_owned(),
            Lang::En => "The current password is wrong.".to_owned(),
        })),
        Err(PasswordChangeError::Policy(p)) => Ok(refuse(match lang {
            Lang::Ja => format!("{} ({p})", t(lang, Text::PasswordRules)),
            Lang::En => p.to_string(),
        })),
        Err(PasswordChangeError::Store(e)) => Err(e.into()),
    }
}

async fn set_language(Path(code): Path<String>, jar: CookieJar) -> impl IntoResponse {
    let value = if code == "en" { "en" } else { "ja" };
    let cookie = axum_extra::extract::cookie::Cookie::build(("vrs_lang", value))
        .path("/")
        .build();
    (
        jar.add(cookie),
        [(header::CACHE_CONTROL, "no-store")],
        Redirect::to("/"),
    )
}

async fn locked_accounts(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Html<String>, WebError> {
    signed.authorize(Action::ApproveAccounts, &Target::Nation)?;
    let now = chrono::Utc::now();
    let locked: Vec<_> = state
        .store
        .accounts()
        .await?
        .into_iter()
        .filter(|a| a.is_locked(now))
        .collect();
    Ok(Html(
        pages::locked_accounts(signed.lang, &signed, &locked).into_string(),
    ))
}

/// This hour's unusual coupon readers (`/operator/coupon-reads`).
async fn unusual_coupon_reads(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Html<String>, WebError> {
    signed.authorize(Action::ApproveAccounts, &Target::Nation)?;
    let unusual = state.coupon_watch.unusual();
    Ok(Html(
        pages::unusual_coupon_reads(signed.lang, &signed, &unusual).into_string(),
    ))
}

/// The operator ends an account's wait after failed logins (`POST /operator/locks/{user}/unlock`).
async fn unlock_account(
    State(state): State<AppState>,
    signed: Signed,
    Path(user_id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    signed.check_csrf(&form.csrf)?;
    signed.authorize(Action::ApproveAccounts, &Target::Nation)?;
    accounts::unlock(state.store.as_ref(), &records::actor(&signed), &user_id).await?;
    Ok(Redirect::to("/operator/locks").into_response())
}

fn application_error(e: ApplicationError) -> WebError {
    match e {
        ApplicationError::NotAdministrator => {
            WebError::Forbidden("a municipal administrator's page")
        }
        ApplicationError::NotOperator => WebError::Forbidden("the national operator's page"),
        ApplicationError::Store(e) => e.into(),
        other => WebError::Invalid(other.to_string()),
    }
}

async fn admin_page(
    state: &AppState,
    signed: &Signed,
    message: Option<&str>,
) -> Result<Html<String>, WebError> {
    signed.authorize(Action::ApplyForAccounts, &signed.own_area())?;
    let Some(own) = signed.account.municipality else {
        return Err(WebError::Forbidden("a municipal administrator's page"));
    };
    let list: Vec<_> = state
        .store
        .applications(None)
        .await?
        .into_iter()
        .filter(|a| a.municipality == own)
        .collect();
    Ok(Html(
        pages::admin_applications(signed.lang, signed, &list, message).into_string(),
    ))
}

async fn admin_applications(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Html<String>, WebError> {
    admin_page(&state, &signed, None).await
}

#[derive(Deserialize)]
struct ApplyForm {
    csrf: String,
    display_name: String,
    role: String,
}

async fn apply_for_account(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<ApplyForm>,
) -> Result<Html<String>, WebError> {
    signed.check_csrf(&form.csrf)?;
    let id = accounts::apply(
        state.store.as_ref(),
        &signed.account,
        &form.display_name,
        &form.role,
        signed.terminal.as_str(),
    )
    .await
    .map_err(application_error)?;
    let message = match signed.lang {
        Lang::Ja => format!("申請しました（申請番号 {id}）。国の承認後にユーザIDが発行されます。"),
        Lang::En => format!("Applied (application {id}). The user ID is issued once the national operator approves."),
    };
    admin_page(&state, &signed, Some(&message)).await
}

async fn operator_page(
    state: &AppState,
    signed: &Signed,
    issued: Option<(&str, &str)>,
) -> Result<Html<String>, WebError> {
    signed.authorize(Action::ApproveAccounts, &Target::Nation)?;
    let pending = state
        .store
        .applications(Some(ApplicationStatus::Pending))
        .await?;
    Ok(Html(
        pages::operator_applications(signed.lang, signed, &pending, issued).into_string(),
    ))
}

async fn operator_applications(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Html<String>, WebError> {
    operator_page(&state, &signed, None).await
}

async fn approve_application(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Html<String>, WebError> {
    signed.check_csrf(&form.csrf)?;
    let issued = accounts::approve(
        state.store.as_ref(),
        &signed.account,
        id,
        signed.terminal.as_str(),
    )
    .await
    .map_err(application_error)?;
    operator_page(
        &state,
        &signed,
        Some((&issued.user_id, &issued.initial_password)),
    )
    .await
}

async fn reject_application(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Html<String>, WebError> {
    signed.check_csrf(&form.csrf)?;
    accounts::reject(
        state.store.as_ref(),
        &signed.account,
        id,
        signed.terminal.as_str(),
    )
    .await
    .map_err(application_error)?;
    operator_page(&state, &signed, None).await
}

/// The viewer's own municipality, once the access module allowed `action` on it.
fn own_municipality(
    signed: &Signed,
    action: Action,
) -> Result<vrs_domain::MunicipalityCode, WebError> {
    signed.authorize(action, &signed.own_area())?;
    signed
        .account
        .municipality
        .ok_or(WebError::Forbidden("a page of municipal staff"))
}

/// The search filter of a query, or the message naming the field that is wrong.
fn audit_filter(lang: Lang, q: &pages::AuditQuery, limit: u32) -> Result<AuditFilter, String> {
    let day = |field: &str,
               label_ja: &str,
               label_en: &str,
               value: &str|
     -> Result<Option<chrono::NaiveDate>, String> {
        if value.trim().is_empty() {
            return Ok(None);
        }
        vrs_domain::parse_date(value)
            .map(Some)
            .map_err(|e| match lang {
                Lang::Ja => format!("{label_ja}（{field}）: {e}"),
                Lang::En => format!("{label_en} ({field}): {e}"),
            })
    };
    let from = day("from", "期間（開始日）", "From", &q.from)?;
    let to = day("to", "期間（終了日）", "To", &q.to)?;
    let start = |d: chrono::NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    Ok(AuditFilter {
        from: from.and_then(start),
        to: to.and_then(|d| d.succ_opt()).and_then(start),
        actor: text(&q.actor),
        action: text(&q.action),
        limit,
    })
}

async fn audit_page(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<pages::AuditQuery>,
) -> Result<Response, WebError> {
    let own = own_municipality(&signed, Action::ReadAuditLog)?;
    match audit_filter(signed.lang, &query, 500) {
        Ok(filter) => {
            let found = state.store.audit_search(own.into(), &filter).await?;
            Ok(
                Html(pages::audit(signed.lang, &signed, &query, &found, None).into_string())
                    .into_response(),
            )
        }
        Err(message) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Html(pages::audit(signed.lang, &signed, &query, &[], Some(&message)).into_string()),
        )
            .into_response()),
    }
}

async fn audit_csv(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<pages::AuditQuery>,
) -> Result<Response, WebError> {
    let own = own_municipality(&signed, Action::ExportAuditLog)?;
    let filter = audit_filter(signed.lang, &query, 100_000).map_err(WebError::Invalid)?;
    let found = state.store.audit_search(own.into(), &filter).await?;
    let export = AuditEntry::now(
        &signed.account.user_id,
        signed.account.role.as_str(),
        signed.terminal.as_str(),
        vrs_domain::AuditAction::AuditExport.as_str(),
        &format!("{} entries", found.len()),
    )
    .with_detail(query.query_string());
    state.store.append_audit(own.into(), &export).await?;
    // UTF-8 with a byte-order mark, so spreadsheet software on municipal PCs opens it as UTF-8;
    // every cell through the writer that keeps a spreadsheet from running one.
    let header = [
        "連番",
        "日時",
        "ユーザID",
        "役割",
        "端末",
        "操作",
        "対象",
        "結果",
        "詳細",
    ];
    let mut csv = Vec::new();
    let mut w = vrs_interop::CsvWriter::start(&mut csv, vrs_interop::Encoding::Utf8, &header)
        .map_err(|e| WebError::Internal(e.to_string()))?;
    for r in &found {
        let e = &r.entry;
        let cells = [
            r.seq.to_string(),
            e.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            e.actor.clone(),
            e.role.clone(),
            e.terminal.clone(),
            e.action.clone(),
            e.target.clone(),
            e.outcome.clone(),
            e.detail.clone(),
        ];
        w.row(&cells[0], &cells)
            .map_err(|e| WebError::Internal(e.to_string()))?;
    }
    w.finish().map_err(|e| WebError::Internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"audit-{own}.csv\""),
            ),
        ],
        csv,
    )
        .into_response())
}

/// A JSON error of the API: a stable code and the message in both languages.
pub(crate) fn api_error(status: StatusCode, code: &str, ja: &str, en: &str) -> Response {
    crate::api_errors::json(status, crate::api_errors::Fault::new(code, ja, en))
}

/// Reads a coupon for a vaccination site: the home municipality, the doses already recorded and the
/// next dose number — never a My Number, a name or a birth date.
#[utoipa::path(get, path = "/api/v1/coupons/{reference}",
    params(("reference" = String, Path, pattern = r"^([0-9]{18}|[0-9]{6}-[0-9]{10})$", description = "The coupon's 18-digit OCR line, or the municipality code and coupon number (`382060-0000000123`)")),
    responses(
        (status = 200, description = "The coupon is valid: home municipality, recorded doses, next dose number"),
        (status = 400, description = "The reference does not fit the pattern"),
        (status = 422, description = "The reference fits the pattern but is refused (e.g. the municipality code's check digit): `bad_reference`"),
        (status = 403, description = "Not a vaccination-site session"),
        (status = 404, description = "No usable coupon: no target of that municipality holds it, or its holder is reported deceased — the site is not told which (`unknown_coupon`)"),
        (status = 429, description = "This site account has read too many coupons in the last minute (`Retry-After`)"),
    ))]
async fn read_coupon(
    State(state): State<AppState>,
    signed: Signed,
    Path(reference): Path<String>,
) -> Result<Response, WebError> {
    let coupon = match vrs_core::coupon::CouponRef::parse(&reference) {
        Ok(c) => c,
        Err(e) => {
            let status = if crate::tablet::fits_coupon_pattern(&reference) {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::BAD_REQUEST
            };
            return Ok(api_error(
                status,
                "bad_reference",
                "接種券番号の形式が正しくありません。",
                &e.to_string(),
            ));
        }
    };
    signed.authorize(
        Action::ReadCoupon,
        &Target::Coupon {
            municipality: coupon.municipality,
        },
    )?;
    let now = std::time::Instant::now();
    let account = signed.account.user_id.as_str();
    if let Err(wait) = state.coupon_watch.admit(account, now) {
        state.metrics.coupon_read("limited");
        tracing::warn!(user = %account, "coupon reads over the per-account limit");
        let mut response = api_error(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_reads",
            "接種券の読み取りが多すぎます。しばらくしてからもう一度お試しください。",
            "Too many coupon reads from this site: try again in a moment.",
        );
        if let Ok(value) = wait.to_string().parse() {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return Ok(response);
    }
    let actor = records::actor(&signed);
    match vrs_core::coupon::read_coupon(state.store.as_ref(), &actor, coupon).await {
        Ok(answer) => {
            state.metrics.coupon_read("ok");
            Ok(Json(answer).into_response())
        }
        Err(vrs_core::coupon::CouponError::Store(e)) => Err(e.into()),
        Err(e) => {
            state.metrics.coupon_read("unknown");
            state.coupon_watch.unknown(account, now);
            Ok(api_error(
                StatusCode::NOT_FOUND,
                e.code(),
                e.message_ja(),
                &e.to_string(),
            ))
        }
    }
}
