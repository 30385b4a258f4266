//! The route table: every path, its methods, who it is for — the actions of the access table its
//! handlers check, or public, or any signed-in account — and its handlers, which live with their
//! feature. The OpenAPI document lists the JSON API's operations from the same handlers.

mod audience;
mod certificate_routes;

pub use audience::Audience;

use axum::response::Redirect;
use axum::routing::{get, post};
use axum::Router;

use crate::health::healthz;
use crate::openapi::openapi;
use crate::tablet::read_coupon;
use crate::AppState;
use crate::{
    account_admin, audit_log, backups, dose_files, fhir, governance, hl7, inquiries, oauth,
    records, signin, statistics, verify_page,
};

pub(crate) use crate::openapi::ApiDoc;

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

/// One route of the table.
fn r(
    path: &'static str,
    methods: &'static [&'static str],
    audience: Audience,
    handlers: Handlers,
) -> (RouteInfo, Handlers) {
    (
        RouteInfo {
            path,
            methods,
            audience,
        },
        handlers,
    )
}

/// Every route of the application. The router is built from this table and nothing else, so the
/// tests that walk it (tenant isolation) cannot miss a route.
fn table() -> Vec<(RouteInfo, Handlers)> {
    use vrs_core::access::Action::*;
    use Audience::*;
    let mut table = vec![
        r("/healthz", &["GET"], Public, get(healthz)),
        r(
            "/static/{name}",
            &["GET"],
            Public,
            get(crate::pages::stylesheet),
        ),
        r("/metrics", &["GET"], Public, get(crate::metrics::metrics)),
        r("/help", &["GET"], Public, get(crate::help::page)),
        r("/api/openapi.json", &["GET"], Public, get(openapi)),
        r("/api/docs", &["GET"], Public, get(crate::api_docs::page)),
        r(
            "/login",
            &["GET", "POST"],
            Public,
            get(signin::login_page).post(signin::login),
        ),
        r("/lang/{code}", &["GET"], Public, get(signin::set_language)),
        r("/", &["GET"], SignedIn, get(signin::home)),
        r("/logout", &["POST"], SignedIn, post(signin::logout)),
        r(
            "/password",
            &["GET", "POST"],
            SignedIn,
            get(signin::password_page).post(signin::change_password),
        ),
        r(
            "/operator/locks",
            &["GET"],
            Acts(&[ApproveAccounts]),
            get(account_admin::locked_accounts),
        ),
        r(
            "/operator/coupon-reads",
            &["GET"],
            Acts(&[ApproveAccounts]),
            get(account_admin::unusual_coupon_reads),
        ),
        r(
            "/operator/locks/{user_id}/unlock",
            &["POST"],
            Acts(&[ApproveAccounts]),
            post(account_admin::unlock_account),
        ),
        r(
            "/operator/applications",
            &["GET"],
            Acts(&[ApproveAccounts]),
            get(account_admin::operator_applications),
        ),
        r(
            "/operator/applications/{id}/approve",
            &["POST"],
            Acts(&[ApproveAccounts]),
            post(account_admin::approve_application),
        ),
        r(
            "/operator/applications/{id}/reject",
            &["POST"],
            Acts(&[ApproveAccounts]),
            post(account_admin::reject_application),
        ),
        r(
            "/admin/accounts",
            &["GET"],
            Acts(&[ManageAccounts]),
            get(crate::municipal_accounts::list),
        ),
        r(
            "/admin/accounts/{user}/access",
            &["POST"],
            Acts(&[ManageAccounts]),
            post(crate::municipal_accounts::set_access),
        ),
        r(
            "/admin/accounts/{user}/password",
            &["POST"],
            Acts(&[ManageAccounts]),
            post(crate::municipal_accounts::reset_password),
        ),
        r(
            "/admin/applications",
            &["GET", "POST"],
            Acts(&[ApplyForAccounts]),
            get(account_admin::admin_applications).post(account_admin::apply_for_account),
        ),
        r(
            "/audit",
            &["GET"],
            Acts(&[ReadAuditLog]),
            get(audit_log::audit_page),
        ),
        r(
            "/audit.csv",
            &["GET"],
            Acts(&[ExportAuditLog]),
            get(audit_log::audit_csv),
        ),
        r(
            "/api/v1/coupons/{reference}",
            &["GET"],
            Acts(&[ReadCoupon]),
            get(read_coupon),
        ),
        r(
            "/api/v1/doses",
            &["POST"],
            Acts(&[RegisterDose]),
            post(crate::tablet::register_dose),
        ),
        r(
            "/api/v1/doses/undo",
            &["POST"],
            Acts(&[UndoOwnDose]),
            post(crate::tablet::undo_dose),
        ),
        r(
            "/tablet",
            &["GET"],
            Acts(&[ReadCoupon]),
            get(crate::tablet::tablet_page),
        ),
        r(
            "/records",
            &["GET", "POST"],
            Acts(&[SearchPeople]),
            get(records::search).post(records::search_posted),
        ),
        r(
            "/records/{atena}",
            &["GET"],
            Acts(&[ReadPerson]),
            get(records::person),
        ),
        r(
            "/records/{atena}/print",
            &["GET"],
            Acts(&[ReadPerson]),
            get(crate::record_print::page),
        ),
        r(
            "/records/{atena}/doses",
            &["POST"],
            Acts(&[AddDose]),
            post(records::add_dose),
        ),
        r(
            "/records/{atena}/doses/{n}/correct",
            &["POST"],
            Acts(&[CorrectDose]),
            post(records::correct_dose),
        ),
        r(
            "/records/{atena}/doses/{n}/delete",
            &["POST"],
            Acts(&[DeleteDose]),
            post(records::delete_dose),
        ),
        r(
            "/records/{atena}/delete",
            &["POST"],
            Acts(&[DeletePerson]),
            post(records::delete_person),
        ),
        r(
            "/records/{atena}/flags",
            &["POST"],
            Acts(&[FlagPerson]),
            post(records::set_flags),
        ),
        // Duplicate people: the review queue, scan, merge, unmerge, dismissal.
        r(
            "/duplicates",
            &["GET"],
            Acts(&[ReadPerson]),
            get(crate::duplicates::page),
        ),
        r(
            "/duplicates/scan",
            &["POST"],
            Acts(&[CorrectPerson]),
            post(crate::duplicates::scan),
        ),
        r(
            "/duplicates/merge",
            &["POST"],
            Acts(&[CorrectPerson]),
            post(crate::duplicates::merge),
        ),
        r(
            "/duplicates/{id}/dismiss",
            &["POST"],
            Acts(&[CorrectPerson]),
            post(crate::duplicates::dismiss),
        ),
        r(
            "/duplicates/merges/{id}/unmerge",
            &["POST"],
            Acts(&[CorrectPerson]),
            post(crate::duplicates::unmerge),
        ),
        r(
            "/targets/import",
            &["GET", "POST"],
            Acts(&[ImportTargets]),
            get(crate::target_files::import_page)
                .post(crate::target_files::import)
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::targets::UPLOAD_LIMIT,
                )),
        ),
        r(
            "/doses/import",
            &["GET", "POST"],
            Acts(&[ImportDoses]),
            get(dose_files::import_page).post(dose_files::import).layer(
                axum::extract::DefaultBodyLimit::max(dose_files::UPLOAD_LIMIT),
            ),
        ),
        r(
            "/doses/export",
            &["GET"],
            Acts(&[ExportRecords]),
            get(dose_files::export_page),
        ),
        r(
            "/doses/export/download",
            &["GET"],
            Acts(&[ExportRecords]),
            get(dose_files::export),
        ),
        r(
            "/statistics",
            &["GET"],
            Acts(&[ReadStatistics]),
            get(statistics::page),
        ),
        r(
            "/statistics/download",
            &["GET"],
            Acts(&[ReadStatistics]),
            get(statistics::download),
        ),
        r(
            "/api/v1/inquiries/bulk",
            &["POST"],
            Acts(&[SendInquiry]),
            post(inquiries::api_bulk)
                .layer(axum::extract::DefaultBodyLimit::max(inquiries::BULK_LIMIT)),
        ),
        r(
            "/api/v1/inquiries/bulk/{batch}",
            &["GET"],
            Acts(&[SendInquiry]),
            get(inquiries::api_bulk_results),
        ),
        r(
            "/api/v1/targets",
            &["POST"],
            Acts(&[ImportTargets]),
            post(crate::targets::import).layer(axum::extract::DefaultBodyLimit::max(
                crate::targets::UPLOAD_LIMIT,
            )),
        ),
        r(
            "/api/v1/statistics",
            &["GET"],
            Acts(&[ReadStatistics]),
            get(statistics::api),
        ),
        r(
            "/inquiries",
            &["GET", "POST"],
            Acts(&[SendInquiry]),
            get(inquiries::page).post(inquiries::send),
        ),
        r(
            "/inquiries/{id}/register",
            &["POST"],
            Acts(&[AddDose]),
            post(inquiries::register),
        ),
        r(
            "/inquiries/bulk",
            &["GET", "POST"],
            Acts(&[SendInquiry]),
            get(inquiries::bulk_page)
                .post(inquiries::bulk_upload)
                .layer(axum::extract::DefaultBodyLimit::max(inquiries::BULK_LIMIT)),
        ),
        r(
            "/inquiries/bulk/{batch}/register",
            &["POST"],
            Acts(&[AddDose]),
            post(inquiries::bulk_register),
        ),
        r(
            "/inquiries/bulk/{batch}/download",
            &["GET"],
            Acts(&[SendInquiry]),
            get(inquiries::bulk_download),
        ),
        r(
            "/api/v1/inquiries",
            &["POST"],
            Acts(&[SendInquiry]),
            post(inquiries::api_inquire),
        ),
        r(
            "/provisions",
            &["GET"],
            Acts(&[ReadProvisionRecords]),
            get(inquiries::provisions),
        ),
        r(
            "/provisions/download",
            &["GET"],
            Acts(&[ReadProvisionRecords]),
            get(inquiries::provisions_download),
        ),
        // The municipality's terms and agreements; the operator reads them on its own page.
        r(
            "/terms",
            &["GET"],
            InOwnMunicipality(&[ReadTerms]),
            get(governance::terms_page),
        ),
        r(
            "/terms/{kind}/agree",
            &["POST"],
            Acts(&[AgreeToTerms]),
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
        r(
            "/fhir",
            &["POST"],
            Acts(&[ImportDoses]),
            post(fhir::transaction),
        ),
        r(
            "/fhir/Patient",
            &["GET"],
            Acts(&[SearchPeople]),
            get(fhir::search_patients),
        ),
        r(
            "/fhir/Patient/_search",
            &["POST"],
            Acts(&[SearchPeople]),
            post(fhir::search_patients_posted),
        ),
        r(
            "/fhir/Patient/{id}",
            &["GET"],
            Acts(&[ReadPerson]),
            get(fhir::read_patient),
        ),
        r(
            "/fhir/Immunization",
            &["GET", "POST"],
            Acts(&[ReadPerson, ImportDoses]),
            get(fhir::search_immunizations).post(fhir::create_immunization),
        ),
        r(
            "/fhir/Immunization/{id}",
            &["GET"],
            Acts(&[ReadPerson]),
            get(fhir::read_immunization),
        ),
        r(
            "/hl7/v2",
            &["POST"],
            Acts(&[ImportDoses, ReadPerson]),
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
    ];
    table.extend(certificate_routes::table());
    table.extend([
        r(
            "/admin/backup",
            &["GET", "POST"],
            Acts(&[BackupArea]),
            get(backups::page).post(backups::take),
        ),
        r(
            "/operator/terms",
            &["GET", "POST"],
            Acts(&[PublishTerms]),
            get(governance::operator_terms).post(governance::publish),
        ),
        r(
            "/operator/functions",
            &["GET"],
            Acts(&[EmergencyStop]),
            get(governance::functions_page),
        ),
        r(
            "/operator/functions/{function}",
            &["POST"],
            Acts(&[EmergencyStop]),
            post(governance::switch),
        ),
    ]);
    table
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
        .layer(axum::middleware::from_fn(crate::error_pages::render))
        .layer(axum::middleware::from_fn(crate::fhir::negotiate))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::headers::security,
        ))
        .with_state(state)
}
