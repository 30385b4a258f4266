//! HL7 v2 over HTTP (`POST /hl7/v2`, ER7 text, answered in ER7) and over MLLP on a TCP port
//! ([`serve_mllp`]), both answered by `vrs_core::hl7`. Over HTTP the caller is the session's
//! account. MLLP runs over TLS only and admits a connection from an address of `mllp_peers` whose
//! client certificate chains to `mllp_client_ca` and is one of `mllp_senders`; the connection then
//! acts as that sender's account, looked up for every message so that disabling it takes effect
//! at once. At most `mllp_max_connections` are open; a connection silent for five minutes, or a
//! handshake not done within ten seconds, is closed.
//!
//! Over HTTP every message is answered in ER7 with status 200, a body too long to be a message
//! too: it is answered AR, and memory holds at most [`MESSAGE_LIMIT`] bytes of it.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use vrs_core::access::{Action, Target, Terminal};
use vrs_core::Actor;
use vrs_interop::hl7::mllp::{frame, Decoder};
use vrs_store::Store;

use crate::error::WebError;
use crate::records::actor;
use crate::session::Signed;
use crate::AppState;

/// The media type of ER7 messages over HTTP.
pub const ER7: &str = "x-application/hl7-v2+er7; charset=utf-8";
/// The longest message accepted (a person's VXU or a query is a few kilobytes).
pub const MESSAGE_LIMIT: usize = 1 << 20;
/// An HTTP body longer than [`MESSAGE_LIMIT`] is still read, and dropped, up to this many bytes,
/// so that a client that is still sending receives its AR; past it, reading stops, the AR is sent
/// and the connection closes.
pub const BODY_LIMIT: usize = 16 << 20;
/// An MLLP connection silent for this long is closed.
const IDLE: std::time::Duration = std::time::Duration::from_secs(300);

/// The media types an ER7 message may be posted as.
const ER7_TYPES: &[&str] = &["x-application/hl7-v2+er7", "application/hl7-v2"];

/// Who may send: a session with its CSRF token or a machine client's bearer token, of municipal
/// staff who may add or read records of their own municipality, posting ER7.
fn admitted(
    signed: Result<Signed, WebError>,
    headers: &axum::http::HeaderMap,
) -> Result<(Signed, vrs_core::Principal), (StatusCode, String)> {
    let refused = |e: WebError| {
        let status = match e {
            WebError::SignIn | WebError::BearerInvalid => StatusCode::UNAUTHORIZED,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::FORBIDDEN,
        };
        (status, format!("{}: {}", e.code(), e.fault().message_en))
    };
    let signed = signed.map_err(refused)?;
    // A session's POST carries its CSRF token: a cross-site form cannot send it.
    signed.check_csrf_header(headers).map_err(refused)?;
    if !crate::headers::content_type_is(headers, ER7_TYPES) {
        return Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type: send HL7 v2 messages as x-application/hl7-v2+er7 (or application/hl7-v2)".into(),
        ));
    }
    // Only those who may add or read records of their own municipality reach the exchange at all.
    let home = signed
        .account
        .municipality
        .ok_or(WebError::Forbidden("a service of municipal staff"))
        .map_err(refused)?;
    let may_add = signed
        .authorize(Action::ImportDoses, &Target::Municipality(home))
        .is_ok();
    if !may_add {
        signed
            .authorize(Action::ReadPerson, &Target::Person { home })
            .map_err(refused)?;
    }
    let principal = signed.principal().map_err(refused)?;
    Ok((signed, principal))
}

/// Every answer is ER7: an exchange's ACK or RSP with status 200, or an AR with the status of the
/// refusal (401 without a session or token, 403 not allowed, 415 not ER7).
pub async fn post_er7(
    State(state): State<AppState>,
    signed: Result<Signed, WebError>,
    headers: axum::http::HeaderMap,
    body: Body,
) -> Response {
    let admitted = admitted(signed, &headers);
    let received = match read_body(body).await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let (status, answer) = match (admitted, received) {
        (Err((status, reason)), Received::Whole(bytes) | Received::TooLong(bytes)) => {
            (status, vrs_core::hl7::not_admitted(&bytes, &reason))
        }
        (Ok(_), Received::TooLong(start)) => (
            StatusCode::OK,
            vrs_core::hl7::too_long(&start, MESSAGE_LIMIT),
        ),
        (Ok((signed, principal)), Received::Whole(bytes)) => (
            StatusCode::OK,
            match std::str::from_utf8(&bytes) {
                Ok(text) => {
                    vrs_core::hl7::answer(
                        state.store.as_ref(),
                        &principal,
                        &actor(&signed),
                        text,
                        vrs_core::japan_today(),
                    )
                    .await
                }
                Err(_) => vrs_core::hl7::not_text(&bytes),
            },
        ),
    };
    let mut response = (status, [(header::CONTENT_TYPE, ER7)], answer).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
    }
    response
}

/// An HTTP body: a message, or the first [`MESSAGE_LIMIT`] bytes of a longer one.
enum Received {
    Whole(Vec<u8>),
    TooLong(Vec<u8>),
}

/// Reads a body keeping at most [`MESSAGE_LIMIT`] bytes; the rest of a longer one is dropped as
/// it arrives, up to [`BODY_LIMIT`].
async fn read_body(body: Body) -> Result<Received, WebError> {
    let mut kept = Vec::new();
    let mut total = 0usize;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|e| WebError::Invalid(format!("the request body could not be read: {e}")))?;
        total = total.saturating_add(chunk.len());
        let room = MESSAGE_LIMIT.saturating_sub(kept.len());
        kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if total > BODY_LIMIT {
            break;
        }
    }
    Ok(if total > MESSAGE_LIMIT {
        Received::TooLong(kept)
    } else {
        Received::Whole(kept)
    })
}

/// How long a TLS handshake may take.
const HANDSHAKE: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves MLLP over TLS on `listener` to the senders `access` admits, until the task is dropped.
pub async fn serve_mllp(
    listener: TcpListener,
    store: Arc<dyn Store>,
    access: crate::config::MllpAccess,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(access.max_connections));
    let acceptor = tokio_rustls::TlsAcceptor::from(access.tls.clone());
    let access = Arc::new(access);
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "mllp: accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        if !access.peers.iter().any(|n| n.contains(&peer.ip())) {
            tracing::warn!(%peer, "mllp: refused, the address is not among mllp_peers");
            continue;
        }
        let (store, access, acceptor) = (store.clone(), access.clone(), acceptor.clone());
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::warn!(%peer, error = %e, "mllp: TLS handshake refused");
                    return;
                }
                Err(_) => {
                    tracing::warn!(%peer, "mllp: TLS handshake too slow");
                    return;
                }
            };
            let fingerprint = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .map(|cert| vrs_crypto::sha256(cert.as_ref()));
            let account = fingerprint.and_then(|f| {
                access
                    .senders
                    .iter()
                    .find(|(known, _)| *known == f)
                    .map(|(_, account)| account.clone())
            });
            let Some(account) = account else {
                tracing::warn!(
                    %peer,
                    fingerprint = %fingerprint.map(hex::encode).unwrap_or_default(),
                    "mllp: refused, the client certificate is not one of mllp_senders"
                );
                return;
            };
            if let Err(e) = connection(tls, store, &account, peer).await {
                tracing::info!(%peer, error = %e, "mllp: connection ended");
            }
            drop(permit);
        });
    }
}

async fn connection<S>(
    mut stream: S,
    store: Arc<dyn Store>,
    account_id: &str,
    peer: std::net::SocketAddr,
) -> std::io::Result<()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut decoder = Decoder::new(MESSAGE_LIMIT);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match tokio::time::timeout(IDLE, stream.read(&mut buf)).await {
            Ok(read) => read?,
            Err(_) => return Ok(()),
        };
        if n == 0 {
            return Ok(());
        }
        let messages = decoder
            .push(&buf[..n])
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        for message in messages {
            let answer = answer_as(store.as_ref(), account_id, peer, &message).await;
            stream.write_all(&frame(&answer)).await?;
            stream.flush().await?;
        }
    }
}

async fn answer_as(
    store: &dyn Store,
    account_id: &str,
    peer: std::net::SocketAddr,
    message: &[u8],
) -> String {
    let Ok(account_id) = vrs_domain::UserId::parse(account_id) else {
        return vrs_core::hl7::unavailable(message);
    };
    let account = match store.account(&account_id).await {
        Ok(a) if !a.disabled => a,
        _ => return vrs_core::hl7::unavailable(message),
    };
    let Some(principal) = vrs_core::accounts::principal(&account, Terminal::Internet) else {
        return vrs_core::hl7::unavailable(message);
    };
    let actor = Actor {
        user: account.user_id.to_string(),
        role: account.role.as_str().to_owned(),
        terminal: format!("mllp:{}", peer.ip()),
    };
    match std::str::from_utf8(message) {
        Ok(text) => {
            vrs_core::hl7::answer(store, &principal, &actor, text, vrs_core::japan_today()).await
        }
        Err(_) => vrs_core::hl7::not_text(message),
    }
}
