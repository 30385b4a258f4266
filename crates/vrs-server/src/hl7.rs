//! HL7 v2 over HTTP (`POST /hl7/v2`, ER7 text, answered in ER7) and over MLLP on a TCP port
//! ([`serve_mllp`]), both answered by `vrs_core::hl7`. Over HTTP the caller is the session's
//! account; over MLLP, the account the deployment names for the listener (`mllp_account`), looked
//! up for every message so that disabling it takes effect at once. A connection silent for five
//! minutes is closed.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
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
/// An MLLP connection silent for this long is closed.
const IDLE: std::time::Duration = std::time::Duration::from_secs(300);

pub async fn post_er7(
    State(state): State<AppState>,
    signed: Signed,
    body: Bytes,
) -> Result<Response, WebError> {
    // Only those who may add or read records of their own municipality reach the exchange at all.
    let home = signed
        .account
        .municipality
        .ok_or(WebError::Forbidden("a service of municipal staff"))?;
    let may_add = signed
        .authorize(Action::ImportDoses, &Target::Municipality(home))
        .is_ok();
    if !may_add {
        signed.authorize(Action::ReadPerson, &Target::Person { home })?;
    }
    let principal = signed.principal()?;
    let answer = match std::str::from_utf8(&body) {
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
        Err(_) => vrs_core::hl7::not_text(&body),
    };
    Ok(([(header::CONTENT_TYPE, ER7)], answer).into_response())
}

/// Serves MLLP on `listener` as the account `account_id` until the task is dropped.
pub async fn serve_mllp(listener: TcpListener, store: Arc<dyn Store>, account_id: String) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "mllp: accept failed");
                continue;
            }
        };
        let (store, account_id) = (store.clone(), account_id.clone());
        tokio::spawn(async move {
            if let Err(e) = connection(stream, store, &account_id, peer).await {
                tracing::info!(%peer, error = %e, "mllp: connection ended");
            }
        });
    }
}

async fn connection(
    mut stream: tokio::net::TcpStream,
    store: Arc<dyn Store>,
    account_id: &str,
    peer: std::net::SocketAddr,
) -> std::io::Result<()> {
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
        }
    }
}

async fn answer_as(
    store: &dyn Store,
    account_id: &str,
    peer: std::net::SocketAddr,
    message: &[u8],
) -> String {
    let account = match store.account(account_id).await {
        Ok(a) if !a.disabled => a,
        _ => return vrs_core::hl7::unavailable(message),
    };
    let Some(principal) = vrs_core::accounts::principal(&account, Terminal::Internet) else {
        return vrs_core::hl7::unavailable(message);
    };
    let actor = Actor {
        user: account.user_id.clone(),
        role: account.role.clone(),
        terminal: format!("mllp:{}", peer.ip()),
    };
    match std::str::from_utf8(message) {
        Ok(text) => {
            vrs_core::hl7::answer(store, &principal, &actor, text, vrs_core::japan_today()).await
        }
        Err(_) => vrs_core::hl7::not_text(message),
    }
}
