//! Prometheus metrics at `GET /metrics`: requests by route and status, and their latency. The
//! registry belongs to the application state, not to a global, so two servers in one process (as
//! in tests) keep separate counts. Route labels are the router's patterns (`/operator/applications/{id}/approve`),
//! never the concrete path, so no identifier reaches the metrics.

use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

use crate::AppState;

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    coupon_reads: IntCounterVec,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("vrs".into()), None).unwrap_or_default();
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by route pattern, method and status",
            ),
            &["route", "method", "status"],
        );
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by route pattern",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
            &["route"],
        );
        let coupon_reads = IntCounterVec::new(
            Opts::new(
                "coupon_reads_total",
                "Coupon reads by vaccination sites: ok, unknown (no usable coupon) or limited \
                 (refused by the per-account rate limit)",
            ),
            &["outcome"],
        );
        // Registering fresh collectors with distinct names cannot fail; if it ever did, the server
        // would still serve, only without these series.
        let (requests, latency, coupon_reads) = match (requests, latency, coupon_reads) {
            (Ok(r), Ok(l), Ok(c)) => {
                let _ = registry.register(Box::new(r.clone()));
                let _ = registry.register(Box::new(l.clone()));
                let _ = registry.register(Box::new(c.clone()));
                (r, l, c)
            }
            _ => unreachable!("metric definitions are static and valid"),
        };
        Self {
            registry,
            requests,
            latency,
            coupon_reads,
        }
    }

    /// Counts a site's coupon read by its outcome (`ok`, `unknown`, `limited`).
    pub fn coupon_read(&self, outcome: &str) {
        self.coupon_reads.with_label_values(&[outcome]).inc();
    }

    fn render(&self) -> String {
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Middleware: counts and times every request.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    state
        .metrics
        .requests
        .with_label_values(&[route.as_str(), method.as_str(), status.as_str()])
        .inc();
    state
        .metrics
        .latency
        .with_label_values(&[route.as_str()])
        .observe(started.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`, to the configured monitoring networks only (`metrics_networks`); anyone else
/// gets 404, as for a page that does not exist.
pub async fn metrics(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: axum::http::HeaderMap,
) -> Response {
    let client = crate::terminal::client_address(&state.settings, peer, &headers);
    let allowed = client.is_some_and(|ip| {
        state
            .settings
            .metrics_networks
            .iter()
            .any(|n| n.contains(&ip))
    });
    if !allowed {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}
