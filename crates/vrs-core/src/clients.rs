//! Machine clients: systems that call the API without a person at a screen — the certificate app's
//! back end, kiosks, a site's EHR, a municipality's own system. Each is an account (its role, its
//! municipality) registered by the operator with its public keys and the scopes it may ask for.
//!
//! It obtains a bearer token by OAuth 2.0 client credentials with `private_key_jwt` (RFC 6749
//! §4.4, RFC 7523; the profile SMART Backend Services uses): it posts an assertion, a JWT it signed
//! with one of its keys, whose `iss` and `sub` are its user ID, whose `aud` is the token endpoint's
//! URL, which expires within five minutes and whose `jti` it never used before. The token it gets
//! is opaque (only its SHA-256 is stored), lives [`TOKEN_LIFETIME`], and carries the scopes granted.
//!
//! A request with the token acts as the account: the access rules, the terminal class of the
//! address it comes from, the audit log (the client's user ID) apply as for a person, and the
//! token's scopes narrow what the role may do ([`crate::access::Scope`]). Removing the client or
//! disabling its account stops its tokens at once. Every grant and refusal is audited in the
//! account's chain.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use vrs_crypto::jose::{Algorithm, Compact, KeyError, VerifyingKey};
use vrs_crypto::password;
use vrs_domain::{AuditAction, UserId};
use vrs_store::{
    AccessToken, Account, AccountStore, AuditStore, ClientStore, MachineClient, StoreError,
};

use crate::access::{allowed_actions, Scopes};
use crate::accounts::audit_scope;
use crate::Actor;

/// How long a token lives.
pub const TOKEN_LIFETIME: Duration = Duration::minutes(5);
/// The furthest in the future an assertion may expire (SMART Backend Services: five minutes).
pub const ASSERTION_LIFETIME: Duration = Duration::minutes(5);
/// How far apart the client's clock and ours may be.
const CLOCK_SKEW: Duration = Duration::seconds(60);
/// The grant type of client credentials.
pub const GRANT_TYPE: &str = "client_credentials";
/// The assertion type of `private_key_jwt`.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The longest assertion read.
const ASSERTION_MAX: usize = 16 * 1024;

/// A client's registered public keys.
#[derive(Clone, Debug)]
pub struct ClientKeys(Vec<(Option<String>, VerifyingKey)>);

/// Why a registration is refused.
#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    #[error("the key set is not JSON: {0}")]
    NotJson(String),
    #[error("key {index}: {reason}")]
    Key { index: usize, reason: String },
    #[error("the key set has no key")]
    NoKey,
    #[error("{0}")]
    Scope(String),
    #[error("no account {0:?}: create it first with `vrs accounts create`")]
    NoAccount(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ClientKeys {
    /// Keys from a JWK Set (`{"keys": [...]}`) or one JWK. Private members are refused: the
    /// server never holds a client's private key.
    pub fn parse(text: &str) -> Result<Self, RegistrationError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| RegistrationError::NotJson(e.to_string()))?;
        let keys: Vec<Value> = match value.get("keys") {
            Some(Value::Array(keys)) => keys.clone(),
            Some(_) => return Err(RegistrationError::NotJson("\"keys\" is not a list".into())),
            None => vec![value],
        };
        let parsed = keys
            .iter()
            .enumerate()
            .map(|(i, jwk)| {
                let fail = |reason: String| RegistrationError::Key {
                    index: i + 1,
                    reason,
                };
                if jwk.get("d").is_some() || jwk.get("p").is_some() {
                    return Err(fail(
                        "it holds a private key; register the public key only".into(),
                    ));
                }
                let text = |name: &str| jwk.get(name).and_then(Value::as_str).unwrap_or_default();
                let key = match text("kty") {
                    "EC" => VerifyingKey::ec(text("crv"), text("x"), text("y")),
                    "RSA" => VerifyingKey::rsa(text("n"), text("e")),
                    _ => Err(KeyError::Unsupported),
                }
                .map_err(|e| fail(e.to_string()))?;
                if let Some(alg) = jwk.get("alg").and_then(Value::as_str) {
                    if Algorithm::parse(alg) != Some(key.algorithm()) {
                        return Err(fail(format!("\"alg\" {alg:?} does not fit the key")));
                    }
                }
                let kid = jwk.get("kid").and_then(Value::as_str).map(str::to_owned);
                Ok((kid, key))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if parsed.is_empty() {
            return Err(RegistrationError::NoKey);
        }
        Ok(ClientKeys(parsed))
    }

    /// Whether one of the keys (the one named `kid`, when given) signs the assertion under `alg`.
    fn verify(&self, kid: Option<&str>, alg: Algorithm, jws: &Compact) -> bool {
        self.0
            .iter()
            .filter(|(k, _)| kid.is_none() || k.as_deref() == kid)
            .any(|(_, key)| key.verifies(alg, &jws.signing_input, &jws.signature))
    }
}

/// Registers `user_id` as a machine client with `jwks` and `scopes` (or replaces them, which ends
/// its tokens). Every scope must grant something the account's role may do.
pub async fn register(
    store: &(impl AccountStore + ClientStore + ?Sized),
    actor: &Actor,
    user_id: &UserId,
    jwks: &str,
    scopes: &str,
) -> Result<Scopes, RegistrationError> {
    ClientKeys::parse(jwks)?;
    let scopes = Scopes::parse(scopes).map_err(|e| RegistrationError::Scope(e.to_string()))?;
    if scopes.is_empty() {
        return Err(RegistrationError::Scope("give at least one scope".into()));
    }
    let account = match store.account(user_id).await {
        Ok(a) => a,
        Err(StoreError::NotFound) => return Err(RegistrationError::NoAccount(user_id.to_string())),
        Err(e) => return Err(e.into()),
    };
    let role = account.role;
    for scope in scopes.iter() {
        if !scope
            .actions()
            .iter()
            .any(|a| allowed_actions(role).contains(a))
        {
            return Err(RegistrationError::Scope(format!(
                "the role {} cannot use the scope {}",
                role.as_str(),
                scope.as_str()
            )));
        }
    }
    let client = MachineClient {
        user_id: account.user_id.clone(),
        jwks: jwks.trim().to_owned(),
        scopes: scopes.to_string(),
        created_at: Utc::now(),
    };
    let audit = actor
        .audit(AuditAction::ClientRegister, account.user_id.as_str())
        .with_detail(format!("scopes: {scopes}"));
    store
        .put_client(&client, audit_scope(&account), &audit)
        .await?;
    tracing::info!(client = %account.user_id, by = %actor.user, %scopes, "machine client registered");
    Ok(scopes)
}

/// Removes a client: it gets no more tokens, and those it holds stop working at once.
pub async fn remove(
    store: &(impl AccountStore + ClientStore + ?Sized),
    actor: &Actor,
    user_id: &UserId,
) -> Result<(), StoreError> {
    let account = store.account(user_id).await?;
    let audit = actor.audit(AuditAction::ClientRemove, account.user_id.as_str());
    store
        .delete_client(&account.user_id, audit_scope(&account), &audit)
        .await?;
    tracing::info!(client = %account.user_id, by = %actor.user, "machine client removed");
    Ok(())
}

/// A token request's form fields (RFC 6749 §4.4.2, RFC 7523 §2.2).
#[derive(Clone, Debug, Default)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub client_assertion_type: Option<String>,
    pub client_assertion: Option<String>,
    pub scope: Option<String>,
}

/// A token granted.
#[derive(Debug)]
pub struct Granted {
    pub access_token: String,
    pub scopes: Scopes,
    pub expires_in: i64,
}

/// Why no token is granted, as RFC 6749 §5.2 names it.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("invalid_request: {0}")]
    InvalidRequest(&'static str),
    #[error("unsupported_grant_type")]
    UnsupportedGrantType,
    /// The assertion does not authenticate a registered client; the reason is for the audit log
    /// and the answer alike (it names what failed, never a key).
    #[error("invalid_client: {0}")]
    InvalidClient(&'static str),
    #[error("invalid_scope: {0}")]
    InvalidScope(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl TokenError {
    /// The `error` code of RFC 6749 §5.2.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::InvalidRequest(_) => "invalid_request",
            TokenError::UnsupportedGrantType => "unsupported_grant_type",
            TokenError::InvalidClient(_) => "invalid_client",
            TokenError::InvalidScope(_) => "invalid_scope",
            TokenError::Store(_) => "server_error",
        }
    }

    /// The reason in Japanese and English.
    pub fn messages(&self) -> (String, String) {
        match self {
            TokenError::InvalidRequest(what) => (
                format!("要求が正しくありません: {what}"),
                format!("The request is not valid: {what}"),
            ),
            TokenError::UnsupportedGrantType => (
                "grant_type は client_credentials のみ使えます。".into(),
                "Only the client_credentials grant type is supported.".into(),
            ),
            TokenError::InvalidClient(why) => (
                format!("クライアントを認証できません: {why}"),
                format!("The client could not be authenticated: {why}"),
            ),
            TokenError::InvalidScope(why) => (
                format!("スコープが正しくありません: {why}"),
                format!("The scope is not valid: {why}"),
            ),
            TokenError::Store(_) => (
                "サーバーで問題が起きました。".into(),
                "The server failed.".into(),
            ),
        }
    }
}

/// An assertion read and checked against the endpoint and the time, its signature not yet checked
/// (that needs the keys of the client it names).
pub struct Assertion {
    pub alg: Algorithm,
    pub kid: Option<String>,
    /// `iss` (= `sub`): the client's user ID.
    pub client: String,
    pub jti: String,
    pub expires: DateTime<Utc>,
    jws: Compact,
}

/// Reads a client's assertion: a compact JWS of a supported algorithm whose `iss` equals `sub`,
/// whose `aud` names `token_url`, which has not expired and expires within five minutes of `now`,
/// and which carries a `jti`. Any other text is `InvalidClient`, naming what is wrong.
pub fn read_assertion(
    text: &str,
    token_url: &str,
    now: DateTime<Utc>,
) -> Result<Assertion, TokenError> {
    if text.len() > ASSERTION_MAX {
        return Err(TokenError::InvalidRequest("client_assertion is too long"));
    }
    let jws = Compact::parse(text).ok_or(TokenError::InvalidClient(
        "the assertion is not a compact JWS",
    ))?;
    let bad = TokenError::InvalidClient;
    let header: Value =
        serde_json::from_slice(&jws.header).map_err(|_| bad("the header is not JSON"))?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(Algorithm::parse)
        .ok_or(bad("alg must be ES256, ES384 or RS384"))?;
    if header.get("crit").is_some() {
        return Err(bad("critical header parameters are not supported"));
    }
    let kid = header.get("kid").and_then(Value::as_str).map(str::to_owned);
    let payload: Value =
        serde_json::from_slice(&jws.payload).map_err(|_| bad("the claims are not JSON"))?;
    let text = |name: &str| payload.get(name).and_then(Value::as_str);
    let client = text("iss").ok_or(bad("iss is missing"))?;
    if text("sub") != Some(client) {
        return Err(bad("sub must equal iss"));
    }
    let aud_matches = match payload.get("aud") {
        Some(Value::String(a)) => a == token_url,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(token_url)),
        _ => false,
    };
    if !aud_matches {
        return Err(bad("aud must be this server's token endpoint"));
    }
    let exp = payload
        .get("exp")
        .and_then(Value::as_i64)
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .ok_or(bad("exp is missing"))?;
    if exp + CLOCK_SKEW < now {
        return Err(bad("the assertion has expired"));
    }
    if exp > now + ASSERTION_LIFETIME + CLOCK_SKEW {
        return Err(bad("exp is more than five minutes ahead"));
    }
    if let Some(nbf) = payload.get("nbf").and_then(Value::as_i64) {
        if nbf > (now + CLOCK_SKEW).timestamp() {
            return Err(bad("the assertion is not valid yet"));
        }
    }
    let jti = text("jti")
        .filter(|j| (1..=256).contains(&j.len()))
        .ok_or(bad("jti is missing"))?;
    let (client, jti) = (client.to_owned(), jti.to_owned());
    Ok(Assertion {
        alg,
        kid,
        client,
        jti,
        expires: exp,
        jws,
    })
}

/// Grants a token for a request posted to `token_url` (the endpoint's absolute URL, which the
/// assertion's `aud` must name).
pub async fn grant(
    store: &(impl AccountStore + AuditStore + ClientStore + ?Sized),
    request: &TokenRequest,
    token_url: &str,
    terminal: &str,
    now: DateTime<Utc>,
) -> Result<Granted, TokenError> {
    if request.grant_type.as_deref() != Some(GRANT_TYPE) {
        return Err(match request.grant_type {
            None => TokenError::InvalidRequest("grant_type is missing"),
            Some(_) => TokenError::UnsupportedGrantType,
        });
    }
    if request.client_assertion_type.as_deref() != Some(ASSERTION_TYPE) {
        return Err(TokenError::InvalidRequest(
            "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ));
    }
    let assertion = request
        .client_assertion
        .as_deref()
        .ok_or(TokenError::InvalidRequest("client_assertion is missing"))?;
    let claims = read_assertion(assertion, token_url, now)?;
    // An `iss` that is no user ID names no client.
    let registered = match UserId::parse(&claims.client) {
        Ok(client) => store.client(&client).await,
        Err(_) => Err(StoreError::NotFound),
    };
    let registered = match registered {
        Ok(c) => c,
        Err(StoreError::NotFound) => return Err(TokenError::InvalidClient("unknown client")),
        Err(e) => return Err(e.into()),
    };
    let account = store.account(&registered.user_id).await?;
    let account = &account;
    let refuse = |why: &'static str| async move {
        let audit = vrs_store::AuditEntry::now(
            account.user_id.as_str(),
            account.role.as_str(),
            terminal,
            AuditAction::ClientToken.as_str(),
            account.user_id.as_str(),
        )
        .with_outcome("denied")
        .with_detail(why.to_owned());
        store.append_audit(audit_scope(account), &audit).await?;
        Err::<Granted, _>(TokenError::InvalidClient(why))
    };
    let keys = ClientKeys::parse(&registered.jwks)
        .map_err(|_| TokenError::InvalidClient("the registered keys cannot be read"))?;
    if !keys.verify(claims.kid.as_deref(), claims.alg, &claims.jws) {
        return refuse("the signature does not verify with the registered keys").await;
    }
    if account.disabled {
        return refuse("the account is disabled").await;
    }
    match store
        .use_assertion(&account.user_id, &claims.jti, claims.expires + CLOCK_SKEW)
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return refuse("the assertion was used before").await,
        Err(e) => return Err(e.into()),
    }
    let allowed = Scopes::parse(&registered.scopes).unwrap_or_default();
    let scopes = match request.scope.as_deref().map(str::trim) {
        None | Some("") => allowed.clone(),
        Some(asked) => {
            let asked =
                Scopes::parse(asked).map_err(|e| TokenError::InvalidScope(e.to_string()))?;
            if !asked.is_subset(&allowed) {
                return Err(TokenError::InvalidScope(format!(
                    "this client may ask for: {allowed}"
                )));
            }
            asked
        }
    };
    let (access_token, hash) = password::new_token();
    let token = AccessToken {
        token_hash: hash.to_vec(),
        user_id: account.user_id.clone(),
        scopes: scopes.to_string(),
        expires_at: now + TOKEN_LIFETIME,
    };
    let audit = vrs_store::AuditEntry::now(
        account.user_id.as_str(),
        account.role.as_str(),
        terminal,
        AuditAction::ClientToken.as_str(),
        account.user_id.as_str(),
    )
    .with_detail(format!("scopes: {scopes}"));
    store
        .create_access_token(&token, audit_scope(account), &audit)
        .await?;
    Ok(Granted {
        access_token,
        scopes,
        expires_in: TOKEN_LIFETIME.num_seconds(),
    })
}

/// Why a bearer token is not accepted.
#[derive(Debug, thiserror::Error)]
pub enum BearerError {
    #[error("the token is unknown, expired or revoked")]
    Invalid,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The account and scopes of a bearer token at `now`.
pub async fn bearer(
    store: &(impl AccountStore + ClientStore + ?Sized),
    token: &str,
    now: DateTime<Utc>,
) -> Result<(Account, Scopes), BearerError> {
    if token.is_empty() || token.len() > 128 {
        return Err(BearerError::Invalid);
    }
    let hash = password::token_hash(token);
    let record = match store.access_token(&hash).await {
        Ok(t) => t,
        Err(StoreError::NotFound) => return Err(BearerError::Invalid),
        Err(e) => return Err(e.into()),
    };
    if record.expires_at <= now {
        return Err(BearerError::Invalid);
    }
    let account = store.account(&record.user_id).await?;
    if account.disabled {
        return Err(BearerError::Invalid);
    }
    let scopes = Scopes::parse(&record.scopes).map_err(|_| BearerError::Invalid)?;
    Ok((account, scopes))
}
