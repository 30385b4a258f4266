//! The HTTP edge of the Vaccination Record System (axum). Handlers are thin: an extractor finds who
//! acts and from which terminal ([`session`]), the services of `vrs-core` do the work, and pages are
//! rendered by templates that always escape ([`pages`]). Application nodes keep no state of their
//! own: sessions and login throttling live in the database.

mod account_admin;
mod api_docs;
mod api_errors;
mod audit_log;
mod backups;
mod certificates;
mod charts;
pub mod config;
mod confirm;
mod dose_files;
mod duplicates;
mod duplicates_pages;
mod error;
mod error_pages;
mod fhir;
mod form;
mod governance;
pub mod headers;
mod health;
mod help;
pub mod hl7;
mod i18n;
mod inquiries;
mod inquiries_pages;
mod japan_map;
mod lifecycle;
pub mod limits;
pub mod metrics;
mod municipal_accounts;
pub mod oauth;
mod openapi;
mod opendata;
mod pages;
mod record_print;
mod records;
mod records_pages;
pub mod routes;
pub mod serve;
mod session;
mod signin;
mod statistics;
mod tablet;
mod target_files;
mod targets;
pub mod terminal;
mod uploads;
mod verify_page;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;
use vrs_core::accounts::LoginPolicy;
use vrs_store::Store;

pub use config::Settings;
pub use routes::{routes, Audience, RouteInfo};

/// What every request handler can reach: one shared value, so that handing it to each layer and
/// handler of a request is one reference count, not one per part.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// The parts of [`AppState`], reached through it (`state.store`, `state.settings`, …).
pub struct Shared {
    pub store: Arc<dyn Store>,
    pub settings: Arc<Settings>,
    pub metrics: Arc<metrics::Metrics>,
    /// The anchors My Number card data signers must chain to (read once at start).
    pub card_trust: Arc<vrs_core::certificates::app::CardTrust>,
    /// Where `/verify` checks codes and decodes pictures: a few at a time, off the async workers,
    /// each with a deadline; and how often one address may ask.
    pub verifier: limits::BoundedPool,
    pub verify_rate: Arc<limits::RateLimiter<std::net::IpAddr>>,
    /// Failed sign-ins per address, and the back-off of user IDs no account has.
    pub login_guard: Arc<limits::LoginGuard>,
    /// Coupon reads per site account: the rate limit and this hour's counts.
    pub coupon_watch: Arc<limits::CouponWatch>,
    /// Token requests per address.
    pub token_rate: Arc<limits::RateLimiter<std::net::IpAddr>>,
    /// Open-data requests per address.
    pub opendata_rate: Arc<limits::RateLimiter<std::net::IpAddr>>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, settings: Settings) -> Self {
        let card_trust = settings.card_trust().unwrap_or_else(|e| {
            tracing::error!(error = %e, "card trust anchors unreadable; every card is refused");
            Default::default()
        });
        Self(Arc::new(Shared {
            store,
            settings: Arc::new(settings),
            metrics: Arc::new(metrics::Metrics::new()),
            card_trust: Arc::new(card_trust),
            verifier: limits::BoundedPool::new(verify_page::DECODERS, verify_page::DECODE_DEADLINE),
            verify_rate: Arc::new(limits::RateLimiter::new(
                verify_page::PER_MINUTE,
                std::time::Duration::from_secs(60),
            )),
            login_guard: Arc::new(limits::LoginGuard::new()),
            coupon_watch: Arc::new(limits::CouponWatch::new()),
            token_rate: Arc::new(limits::RateLimiter::new(
                oauth::PER_MINUTE,
                std::time::Duration::from_secs(60),
            )),
            opendata_rate: Arc::new(limits::RateLimiter::new(
                opendata::PER_MINUTE,
                std::time::Duration::from_secs(60),
            )),
        }))
    }

    pub fn login_policy(&self) -> LoginPolicy {
        LoginPolicy {
            lock_after: self.settings.lock_after_failures,
            lock_for: chrono::Duration::minutes(self.settings.lock_minutes),
            idle: chrono::Duration::minutes(self.settings.session_idle_minutes),
            absolute: chrono::Duration::hours(self.settings.session_absolute_hours),
        }
    }
}

/// The application's router.
pub fn router(state: AppState) -> Router {
    routes::router(state)
}

/// Serves `router` on `listener` until `shutdown` completes, then finishes the requests in flight.
pub async fn launch(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = serve::ServeLimits::of(&state.settings);
    let tls = state
        .settings
        .tls_config()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
    serve::serve(router(state), listener, limits, tls, shutdown).await
}
