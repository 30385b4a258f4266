//! `vrs clients add USER_ID --jwks FILE --scopes "coupons.read doses.write"`: registers an account
//! (made with `vrs accounts create`) as a machine client with its public keys (a JWK or a JWK Set)
//! and the scopes it may ask for; it then gets bearer tokens at `/oauth/token` by signing an
//! assertion (docs/server.md, "Machine clients"). Registering again replaces keys and scopes and
//! ends the tokens it holds.
//!
//! `vrs clients remove USER_ID`: it gets no more tokens, and its tokens stop working at once.
//!
//! `vrs clients list`: the registered clients and their scopes. All audited in the account's chain.
//!
//! `vrs clients key ID` makes a key pair for a client, and `vrs clients assertion` signs an
//! assertion with it, for trying the token endpoint by hand (docs/clients.md).

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use vrs_core::clients::{self, RegistrationError};
use vrs_crypto::es256::SigningKey;
use vrs_domain::UserId;

use super::accounts::user_id_arg;
use crate::context::{CliError, Context};

#[derive(clap::Subcommand, Debug)]
pub enum Clients {
    /// Register an account as a machine client (or replace its keys and scopes).
    Add {
        /// The account's user ID
        user_id: String,
        /// A file holding the client's public key as a JWK or a JWK Set (EC P-256, EC P-384 or
        /// RSA of 2048 bits or more)
        #[arg(long)]
        jwks: PathBuf,
        /// The scopes it may ask for, space-separated: coupons.read, doses.write,
        /// certificates.issue, statistics.read, targets.import, inquiries.send,
        /// system/Immunization.write, system/Immunization.read, system/Patient.read
        #[arg(long)]
        scopes: String,
    },
    /// Remove a machine client: no more tokens, and those it holds stop working.
    Remove {
        /// The account's user ID
        user_id: String,
    },
    /// The registered machine clients.
    List,
    /// Make a P-256 key pair for a client: ID.key.pem (the private key, PKCS#8, mode 0600; never
    /// replaced) and ID.jwks.json (the public JWK Set to register).
    Key {
        /// The client's user ID (names the files)
        user_id: String,
        /// The folder to write them in
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
    /// Print a signed assertion for the token endpoint (what a client's own code makes; for
    /// trying the endpoint with curl).
    Assertion {
        /// The client's private key (PKCS#8 PEM, as `vrs clients key` writes it)
        #[arg(long)]
        key: PathBuf,
        /// The client's user ID
        #[arg(long)]
        client: String,
        /// The token endpoint's URL (`token_endpoint` of /.well-known/smart-configuration)
        #[arg(long)]
        aud: String,
    },
}

pub async fn run(context: &Context, command: &Clients) -> Result<(), CliError> {
    match command {
        Clients::Key { user_id, out } => return key(&user_id_arg(user_id)?, out),
        Clients::Assertion { key, client, aud } => return assertion(key, client.trim(), aud),
        _ => {}
    }
    let store = context.store().await?;
    let actor = vrs_core::Actor::command_line();
    match command {
        Clients::Add {
            user_id,
            jwks,
            scopes,
        } => {
            let user_id = user_id_arg(user_id)?;
            let text = std::fs::read_to_string(jwks)
                .map_err(|e| CliError::Input(format!("--jwks {}: {e}", jwks.display())))?;
            match clients::register(store.as_ref(), &actor, &user_id, &text, scopes).await {
                Ok(granted) => {
                    println!("{user_id}\t{granted}");
                    Ok(())
                }
                Err(RegistrationError::Store(e)) => Err(e.into()),
                Err(
                    e @ (RegistrationError::NotJson(_)
                    | RegistrationError::Key { .. }
                    | RegistrationError::NoKey),
                ) => Err(CliError::Input(format!("--jwks {}: {e}", jwks.display()))),
                Err(e @ RegistrationError::Scope(_)) => {
                    Err(CliError::Input(format!("--scopes: {e}")))
                }
                Err(e) => Err(CliError::Input(e.to_string())),
            }
        }
        Clients::Remove { user_id } => {
            let user_id = user_id_arg(user_id)?;
            match clients::remove(store.as_ref(), &actor, &user_id).await {
                Ok(()) => {
                    println!("removed {user_id}");
                    Ok(())
                }
                Err(vrs_store::StoreError::NotFound) => Err(CliError::Input(format!(
                    "{:?} is not a registered client (登録されたクライアントではありません)",
                    user_id.as_str()
                ))),
                Err(e) => Err(e.into()),
            }
        }
        Clients::Key { .. } | Clients::Assertion { .. } => Ok(()),
        Clients::List => {
            for client in store.clients().await? {
                println!(
                    "{}\t{}\t{}",
                    client.user_id,
                    client.scopes,
                    client.created_at.to_rfc3339()
                );
            }
            Ok(())
        }
    }
}

fn key(user_id: &UserId, out: &Path) -> Result<(), CliError> {
    let (signing, pkcs8) = SigningKey::generate().map_err(|e| CliError::Failure(e.to_string()))?;
    let (x, y) = signing.public_jwk();
    let jwks = serde_json::json!({"keys": [{"kty": "EC", "crv": "P-256", "x": x, "y": y,
                                            "kid": signing.kid(), "alg": "ES256", "use": "sig"}]});
    let private = out.join(format!("{user_id}.key.pem"));
    let public = out.join(format!("{user_id}.jwks.json"));
    super::backup::write_new(
        &private,
        vrs_crypto::x509::pem("PRIVATE KEY", &pkcs8).as_bytes(),
    )?;
    std::fs::write(&public, format!("{jwks:#}\n"))
        .map_err(|e| CliError::Failure(format!("cannot write {}: {e}", public.display())))?;
    println!("{}\t{}", private.display(), public.display());
    Ok(())
}

fn assertion(key: &Path, client: &str, aud: &str) -> Result<(), CliError> {
    let text =
        std::fs::read(key).map_err(|e| CliError::Input(format!("--key {}: {e}", key.display())))?;
    let pkcs8 = vrs_crypto::x509::der_from_der_or_pem(&text)
        .map_err(|e| CliError::Input(format!("--key {}: {e}", key.display())))?;
    let signing = SigningKey::from_pkcs8(&pkcs8).map_err(|_| {
        CliError::Input(format!(
            "--key {}: not a P-256 PKCS#8 private key",
            key.display()
        ))
    })?;
    let header = serde_json::json!({"alg": "ES256", "typ": "JWT", "kid": signing.kid()});
    let (jti, _) = vrs_crypto::password::new_token();
    let claims = serde_json::json!({"iss": client, "sub": client, "aud": aud,
                                    "exp": chrono::Utc::now().timestamp() + 300,
                                    "jti": jti});
    let input = format!(
        "{}.{}",
        B64URL.encode(header.to_string()),
        B64URL.encode(claims.to_string())
    );
    let signature = signing
        .sign(input.as_bytes())
        .map_err(|e| CliError::Failure(e.to_string()))?;
    println!("{input}.{}", B64URL.encode(signature));
    Ok(())
}
