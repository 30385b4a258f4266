//! Serving the application over TCP with the limits a hostile network needs: a client must send a
//! request's headers within `header_read_timeout` (no slow-loris holding a connection open), a
//! request must produce its response within `request_timeout` (its body may then stream), and at
//! most `max_connections` connections are open at once — the next waits in the listen queue until
//! one closes. A shutdown stops accepting, lets the requests in flight finish, and closes idle
//! connections.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt;

/// The limits of [`serve`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServeLimits {
    pub header_read_timeout: Duration,
    pub request_timeout: Duration,
    pub max_connections: usize,
}

impl ServeLimits {
    pub fn of(settings: &crate::Settings) -> Self {
        Self {
            header_read_timeout: Duration::from_secs(settings.header_read_timeout_secs),
            request_timeout: Duration::from_secs(settings.request_timeout_secs),
            max_connections: settings.max_connections,
        }
    }
}

/// The answer to a request that ran past `request_timeout`.
fn too_long() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "処理に時間がかかりすぎたため中止しました。時間をおいてもう一度お試しください。\n\
         The request took too long and was stopped; try again later.\n",
    )
        .into_response()
}

/// Serves `app` on `listener` within `limits` — over TLS with `tls`, plain HTTP without — until
/// `shutdown` completes, then finishes the requests in flight. Handlers see the peer's address as
/// `ConnectInfo<SocketAddr>`. A TLS handshake must also finish within the header-read timeout.
pub async fn serve(
    app: Router,
    listener: TcpListener,
    limits: ServeLimits,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    // Dropping `stop` tells every connection to finish; `open` closes when the last one has.
    let (stop, stopping) = watch::channel(());
    let (open, all_closed) = watch::channel(());
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => permit.map_err(std::io::Error::other)?,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was accepted.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let stopping = stopping.clone();
        let closed = all_closed.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            match acceptor {
                None => connection(stream, peer, app, limits, stopping).await,
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(limits.header_read_timeout, acceptor.accept(stream));
                    match handshake.await {
                        Ok(Ok(tls)) => connection(tls, peer, app, limits, stopping).await,
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake too slow"),
                    }
                }
            }
            drop(permit);
            drop(closed);
        });
    }
    drop(stop);
    drop(all_closed);
    open.closed().await;
    Ok(())
}

/// Serves one connection's requests until it closes, or until shutdown, after finishing the one
/// in flight.
async fn connection<I>(
    io: I,
    peer: SocketAddr,
    app: Router,
    limits: ServeLimits,
    mut stopping: watch::Receiver<()>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let call = app.clone().oneshot(request.map(Body::new));
        async move {
            let response = match tokio::time::timeout(limits.request_timeout, call).await {
                Ok(Ok(response)) => response,
                Ok(Err(never)) => match never {},
                Err(_) => {
                    tracing::warn!(%peer, "request stopped after the request timeout");
                    too_long()
                }
            };
            Ok::<_, Infallible>(response)
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let connection = builder.serve_connection(TokioIo::new(io), service);
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        _ = stopping.changed() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.as_mut().await;
        }
    }
}
