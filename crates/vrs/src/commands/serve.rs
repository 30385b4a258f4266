//! `vrs serve [--listen ADDR] [--config FILE]`: runs the server until Ctrl-C or SIGTERM, then
//! finishes the requests in flight.

use std::path::PathBuf;

use vrs_server::{AppState, Settings};

use crate::context::{CliError, Context};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Address to listen on (overrides the configuration)
    #[arg(long)]
    listen: Option<std::net::SocketAddr>,
    /// Configuration file (TOML); VRS_* environment variables override it
    #[arg(long, env = "VRS_CONFIG")]
    config: Option<PathBuf>,
}

pub async fn run(context: &Context, args: &Args) -> Result<(), CliError> {
    let mut settings =
        Settings::load(args.config.as_deref()).map_err(|e| CliError::Input(e.to_string()))?;
    if let Some(listen) = args.listen {
        settings.listen = listen;
    }
    let store = context.store().await?;
    serve(AppState::new(store, settings)).await
}

/// Binds the configured address and serves until a shutdown signal.
pub async fn serve(state: AppState) -> Result<(), CliError> {
    let listen = state.settings.listen;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| CliError::Input(format!("cannot listen on {listen}: {e}")))?;
    let address = listener
        .local_addr()
        .map_err(|e| CliError::Failure(e.to_string()))?;
    let scheme = if state.settings.tls_certificate.is_some() {
        "https"
    } else {
        "http"
    };
    println!("VRS is serving on {scheme}://{address}/ (Ctrl-C stops it)");
    let issuer = state.settings.issuer_settings();
    if issuer.trial {
        println!(
            "Certificates issued here are for trying only: their issuer URL {} is signed into \
             every card and is not https.",
            issuer.base_url
        );
    } else if let Some(url) = issuer.unfit_issuer_url() {
        eprintln!(
            "warning: public_url {url} is not https: no certificate is issued until it is \
             (set public_url = \"https://…\" or VRS_PUBLIC_URL)"
        );
        tracing::warn!(
            public_url = url,
            "certificates refused: public_url is not https"
        );
    }
    tracing::info!(%address, backend = state.store.backend(), "serving");
    statistics_job(&state);
    session_sweep(&state);
    audit_anchor_job(&state);
    mllp_listener(&state).await?;
    vrs_server::launch(state, listener, shutdown_signal())
        .await
        .map_err(|e| CliError::Failure(format!("server failed: {e}")))
}

/// Starts the HL7 v2 MLLP listener (over TLS, for the configured senders) when one is configured.
async fn mllp_listener(state: &AppState) -> Result<(), CliError> {
    let Some(listen) = state.settings.mllp_listen else {
        return Ok(());
    };
    let access = state
        .settings
        .mllp_access()
        .map_err(|e| CliError::Input(e.to_string()))?
        .ok_or_else(|| CliError::Input("the MLLP listener is not configured".into()))?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| CliError::Input(format!("cannot listen for MLLP on {listen}: {e}")))?;
    println!(
        "HL7 v2 (MLLP over TLS) on {listen} for {} sender(s)",
        access.senders.len()
    );
    tokio::spawn(vrs_server::hl7::serve_mllp(
        listener,
        state.store.clone(),
        access,
    ));
    Ok(())
}

/// Keeps statistics current: every `statistics_interval_secs`, the municipalities whose records
/// changed are recomputed (`vrs_core::statistics::refresh`). Every node may run it; a computation
/// from an older audit head never replaces a newer one. After each run it publishes the day's open
/// data once the configured hour (Japan time) has passed, or at once when none is published.
fn statistics_job(state: &vrs_server::AppState) {
    let every = state.settings.statistics_interval_secs;
    if every == 0 {
        return;
    }
    let store = state.store.clone();
    let (open, hour) = (state.settings.opendata(), state.settings.opendata_hour);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(every));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match vrs_core::statistics::refresh(store.as_ref(), vrs_core::japan_today()).await {
                Ok(done) if !done.is_empty() => {
                    tracing::info!(municipalities = done.len(), "statistics recomputed")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "statistics job failed"),
            }
            let now = chrono::Utc::now();
            match vrs_core::statistics::opendata::publish_if_due(store.as_ref(), &open, hour, now)
                .await
            {
                Ok(true) => tracing::info!("open data published"),
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "open data not published"),
            }
        }
    });
}

/// Deletes expired sessions, machine clients' expired tokens and used assertion IDs past their
/// expiry every five minutes (a session ends on its own when next used; this removes those nobody
/// came back to).
fn session_sweep(state: &vrs_server::AppState) {
    let store = state.store.clone();
    let policy = state.login_policy();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(300));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match vrs_core::accounts::sweep_sessions(store.as_ref(), &policy, chrono::Utc::now())
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(sessions = n, "expired sessions deleted"),
                Err(e) => tracing::warn!(error = %e, "session sweep failed"),
            }
            match store
                .delete_expired_client_records(chrono::Utc::now())
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(records = n, "expired tokens and assertion IDs deleted"),
                Err(e) => tracing::warn!(error = %e, "token sweep failed"),
            }
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

/// Writes the audit anchor (the signed head of every chain, `vrs_core::audit::make_anchor`) to
/// `audit_anchor_dir` every `audit_anchor_interval_secs`, each to a file of its own, written whole
/// before it gets its name.
fn audit_anchor_job(state: &vrs_server::AppState) {
    let Some(dir) = state.settings.audit_anchor_dir.clone() else {
        return;
    };
    let every = state.settings.audit_anchor_interval_secs;
    let store = state.store.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(every));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let anchor = match vrs_core::audit::make_anchor(store.as_ref()).await {
                Ok(a) => a,
                Err(e) => {
                    tracing::error!(error = %e, "audit anchor: the chain heads cannot be read");
                    continue;
                }
            };
            let name = format!(
                "anchor-{}.json",
                anchor.made_at.format("%Y%m%dT%H%M%S%.6fZ")
            );
            let written = serde_json::to_string_pretty(&anchor)
                .map_err(std::io::Error::other)
                .and_then(|text| {
                    let partial = dir.join(format!(".{name}.partial"));
                    std::fs::write(&partial, text + "\n")?;
                    std::fs::rename(&partial, dir.join(&name))
                });
            match written {
                Ok(()) => {
                    tracing::info!(file = %name, chains = anchor.heads.len(), "audit anchor written")
                }
                Err(e) => {
                    tracing::error!(error = %e, dir = %dir.display(), "audit anchor not written")
                }
            }
        }
    });
}
