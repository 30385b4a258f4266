//! Whether this node is up: the health check load balancers and monitoring ask.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::AppState;

/// Whether this node is up and reaches its database.
#[utoipa::path(get, path = "/healthz", responses(
    (status = 200, description = "Up; the body names the database backend"),
    (status = 503, description = "The database cannot be reached"),
))]
pub(crate) async fn healthz(State(state): State<AppState>) -> Response {
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
