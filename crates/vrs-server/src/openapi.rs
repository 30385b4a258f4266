//! The OpenAPI document of the JSON API: its operations, from the same handlers the route table
//! serves, and the route that gives it.

use axum::Json;

use crate::health::__path_healthz;
use crate::tablet::__path_read_coupon;

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

/// The OpenAPI document of this API.
#[utoipa::path(get, path = "/api/openapi.json", responses((status = 200, description = "OpenAPI 3 document")))]
pub(crate) async fn openapi() -> Json<serde_json::Value> {
    use utoipa::OpenApi;
    Json(crate::api_errors::document(ApiDoc::openapi()))
}
