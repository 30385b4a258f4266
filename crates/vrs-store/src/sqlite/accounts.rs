//! Accounts, applications and sessions on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use vrs_domain::{MunicipalityCode, PrefectureCode, Role, UserId};

use super::{append_audit_tx, SqliteStore};
use crate::accounts::{
    stored_role, Account, Application, ApplicationStatus, SessionRecord, SignedSession,
    SESSION_AND_ACCOUNT_COLUMNS,
};
use crate::audit::timestamp_text;
use crate::ConflictKind;
use crate::{rows, AccountStore, AuditEntry, AuditScope, StoreError};

const ACCOUNT_COLUMNS: &str =
    "user_id, role, municipality_code, prefecture_code, display_name, password_hash, \
     must_change_password, failed_logins, locked_until, disabled, issued_by, created_at";

pub(crate) fn time(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| StoreError::Corrupt(format!("timestamp {text:?}")))
}

fn opt_time(text: Option<String>) -> Result<Option<DateTime<Utc>>, StoreError> {
    text.as_deref().map(time).transpose()
}

type AccountRow = (
    String,
    String,
    Option<String>,
    Option<u8>,
    String,
    String,
    bool,
    u32,
    Option<String>,
    bool,
    String,
    String,
);

fn account_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AccountRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
        r.get(11)?,
    ))
}

fn account_from(row: AccountRow) -> Result<Account, StoreError> {
    let (
        user_id,
        role,
        municipality,
        prefecture,
        display_name,
        password_hash,
        must_change,
        failed,
        locked,
        disabled,
        issued_by,
        created,
    ) = row;
    Ok(Account {
        municipality: municipality
            .as_deref()
            .map(rows::municipality)
            .transpose()?,
        prefecture: prefecture
            .map(|p| PrefectureCode::parse(&p.to_string()))
            .transpose()
            .map_err(|_| StoreError::Corrupt(format!("prefecture of account {user_id}")))?,
        user_id: UserId::from_stored(user_id),
        role: stored_role(&role)?,
        display_name,
        password_hash,
        must_change_password: must_change,
        failed_logins: failed,
        locked_until: opt_time(locked)?,
        disabled,
        issued_by,
        created_at: time(&created)?,
    })
}

/// The session of `token_hash` with its account and the functions stopped now (`NotFound`: no
/// such session). Callers that read more run it inside one read transaction.
pub(crate) fn signed_session_in(
    conn: &Connection,
    token_hash: &[u8],
) -> Result<SignedSession, StoreError> {
    // Every signed-in request reads it: the text is built once, not per request.
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "SELECT {SESSION_AND_ACCOUNT_COLUMNS} FROM sessions s \
             JOIN accounts a ON a.user_id = s.user_id WHERE s.token_hash = ?1"
        )
    });
    let row = conn
        .prepare_cached(&SQL)?
        .query_row([token_hash], |r| {
            let session: (Vec<u8>, String, String, String, String) =
                (r.get(12)?, r.get(13)?, r.get(14)?, r.get(15)?, r.get(16)?);
            Ok((account_row(r)?, session))
        })
        .optional()?;
    let (account, (token_hash, terminal, csrf_token, created, seen)) =
        row.ok_or(StoreError::NotFound)?;
    let account = account_from(account)?;
    let session = SessionRecord {
        token_hash,
        user_id: account.user_id.clone(),
        terminal,
        csrf_token,
        created_at: time(&created)?,
        last_seen_at: time(&seen)?,
    };
    let stopped = super::governance::function_states_in(conn, true)?;
    Ok(SignedSession {
        session,
        account,
        stopped,
    })
}

fn load_account(conn: &Connection, user_id: &UserId) -> Result<Account, StoreError> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE user_id = ?1");
    let row = conn
        .prepare_cached(&sql)?
        .query_row([user_id.as_str()], account_row)
        .optional()?;
    account_from(row.ok_or(StoreError::NotFound)?)
}

fn insert_account(conn: &Connection, a: &Account) -> Result<(), StoreError> {
    let inserted = conn.execute(
        &format!(
            "INSERT INTO accounts ({ACCOUNT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
             ON CONFLICT (user_id) DO NOTHING"
        ),
        params![
            a.user_id.as_str(),
            a.role.as_str(),
            a.municipality.map(|m| m.as_str().to_owned()),
            a.prefecture.map(|p| p.number()),
            a.display_name,
            a.password_hash,
            a.must_change_password,
            a.failed_logins,
            a.locked_until.as_ref().map(timestamp_text),
            a.disabled,
            a.issued_by,
            timestamp_text(&a.created_at)
        ],
    )?;
    if inserted == 0 {
        return Err(StoreError::Conflict(ConflictKind::UserIdTaken(
            a.user_id.to_string(),
        )));
    }
    Ok(())
}

fn session_from(
    r: &rusqlite::Row<'_>,
) -> rusqlite::Result<(Vec<u8>, String, String, String, String, String)> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

#[async_trait]
impl AccountStore for SqliteStore {
    async fn create_account(
        &self,
        account: &Account,
        scope: AuditScope,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let (account, audit) = (account.clone(), audit.clone());
        self.write(move |tx, _| {
            insert_account(tx, &account)?;
            append_audit_tx(tx, scope, &audit).map(|_| ())
        })
        .await
    }

    async fn account(&self, user_id: &UserId) -> Result<Account, StoreError> {
        let user_id = user_id.clone();
        self.read_point(move |conn, _| load_account(conn, &user_id))
            .await
    }

    async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        self.read(|conn, _| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY user_id"
            ))?;
            let found = stmt.query_map([], account_row)?;
            found.map(|row| account_from(row?)).collect()
        })
        .await
    }

    async fn login_failed(
        &self,
        user_id: &UserId,
        lock_after: u32,
        lock_until: DateTime<Utc>,
    ) -> Result<Account, StoreError> {
        let user_id = user_id.clone();
        self.write(move |tx, _| {
            let changed = tx.execute(
                "UPDATE accounts SET failed_logins = failed_logins + 1, \
                 locked_until = CASE WHEN failed_logins + 1 >= ?2 THEN ?3 ELSE locked_until END \
                 WHERE user_id = ?1",
                params![user_id.as_str(), lock_after, timestamp_text(&lock_until)],
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
            load_account(tx, &user_id)
        })
        .await
    }

    async fn login_succeeded(&self, user_id: &UserId) -> Result<(), StoreError> {
        let user_id = user_id.as_str().to_owned();
        self.write(move |tx, _| {
            tx.execute(
                "UPDATE accounts SET failed_logins = 0, locked_until = NULL WHERE user_id = ?1",
                [user_id],
            )?;
            Ok(())
        })
        .await
    }

    async fn set_password(
        &self,
        user_id: &UserId,
        hash: &str,
        must_change: bool,
        scope: AuditScope,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let (user_id, hash, audit) = (user_id.as_str().to_owned(), hash.to_owned(), audit.clone());
        self.write(move |tx, _| {
            let changed = tx.execute(
                "UPDATE accounts SET password_hash = ?2, must_change_password = ?3 WHERE user_id = ?1",
                params![user_id, hash, must_change],
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
            tx.execute("DELETE FROM sessions WHERE user_id = ?1", [&user_id])?;
            append_audit_tx(tx, scope, &audit).map(|_| ())
        })
        .await
    }

    async fn set_account_disabled(
        &self,
        user_id: &UserId,
        disabled: bool,
        scope: AuditScope,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let (user_id, audit) = (user_id.as_str().to_owned(), audit.clone());
        self.write(move |tx, _| {
            let changed = tx.execute(
                "UPDATE accounts SET disabled = ?2 WHERE user_id = ?1",
                params![user_id, disabled],
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
            if disabled {
                tx.execute("DELETE FROM sessions WHERE user_id = ?1", [&user_id])?;
            }
            append_audit_tx(tx, scope, &audit).map(|_| ())
        })
        .await
    }

    async fn apply_for_account(
        &self,
        scope: MunicipalityCode,
        applicant: &UserId,
        display_name: &str,
        role: Role,
        audit: &AuditEntry,
    ) -> Result<i64, StoreError> {
        let (applicant, display_name, role, audit) = (
            applicant.as_str().to_owned(),
            display_name.to_owned(),
            role.as_str(),
            audit.clone(),
        );
        self.write(move |tx, _| {
            tx.execute(
                "INSERT INTO account_applications (municipality_code, applicant, display_name, role, status, applied_at) \
                 VALUES (?1, ?2, ?3, ?4, 'pending', ?5)",
                params![scope.as_str(), applicant, display_name, role, timestamp_text(&Utc::now())],
            )?;
            let id = tx.last_insert_rowid();
            append_audit_tx(tx, scope.into(), &audit)?;
            Ok(id)
        })
        .await
    }

    async fn applications(
        &self,
        status: Option<ApplicationStatus>,
    ) -> Result<Vec<Application>, StoreError> {
        self.read(move |conn, _| {
            let mut stmt = conn.prepare(
                "SELECT id, municipality_code, applicant, display_name, role, status, applied_at, decided_by, \
                 decided_at, issued_user_id FROM account_applications \
                 WHERE ?1 IS NULL OR status = ?1 ORDER BY id DESC",
            )?;
            let found = stmt.query_map([status.map(ApplicationStatus::as_str)], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    [r.get::<_, String>(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?],
                    r.get::<_, Option<String>>(7)?,
                    r.get::<_, Option<String>>(8)?,
                    r.get::<_, Option<String>>(9)?,
                ))
            })?;
            found
                .map(|row| {
                    let (id, code, [applicant, display_name, role, status, applied], decided_by, decided_at, issued) = row?;
                    Ok(Application {
                        id,
                        municipality: rows::municipality(&code)?,
                        applicant: UserId::from_stored(applicant),
                        display_name,
                        role: stored_role(&role)?,
                        status: ApplicationStatus::from_stored(&status)?,
                        applied_at: time(&applied)?,
                        decided_by: decided_by.map(UserId::from_stored),
                        decided_at: opt_time(decided_at)?,
                        issued_user_id: issued.map(UserId::from_stored),
                    })
                })
                .collect()
        })
        .await
    }

    async fn decide_application(
        &self,
        id: i64,
        decided_by: &UserId,
        issued: Option<&Account>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let (decided_by, issued, audit) = (
            decided_by.as_str().to_owned(),
            issued.cloned(),
            audit.clone(),
        );
        self.write(move |tx, _| {
            let code: Option<String> = tx
                .query_row(
                    "SELECT municipality_code FROM account_applications WHERE id = ?1 AND status = 'pending'",
                    [id],
                    |r| r.get(0),
                )
                .optional()?;
            let code = code.ok_or(StoreError::Conflict(ConflictKind::ApplicationNotPending(id)))?;
            let code = rows::municipality(&code)?;
            let status = if issued.is_some() { "approved" } else { "rejected" };
            if let Some(account) = &issued {
                insert_account(tx, account)?;
            }
            tx.execute(
                "UPDATE account_applications SET status = ?2, decided_by = ?3, decided_at = ?4, issued_user_id = ?5 \
                 WHERE id = ?1",
                params![id, status, decided_by, timestamp_text(&Utc::now()), issued.as_ref().map(|a| a.user_id.as_str())],
            )?;
            append_audit_tx(tx, AuditScope::National, &audit)?;
            append_audit_tx(tx, code.into(), &audit).map(|_| ())
        })
        .await
    }

    async fn create_session(&self, s: &SessionRecord) -> Result<(), StoreError> {
        let s = s.clone();
        self.write(move |tx, _| {
            tx.execute(
                "INSERT INTO sessions (token_hash, user_id, terminal, csrf_token, created_at, last_seen_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    s.token_hash,
                    s.user_id.as_str(),
                    s.terminal,
                    s.csrf_token,
                    timestamp_text(&s.created_at),
                    timestamp_text(&s.last_seen_at)
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn session(&self, token_hash: &[u8]) -> Result<SessionRecord, StoreError> {
        let token_hash = token_hash.to_vec();
        self.read_point(move |conn, _| {
            let row = conn
                .prepare_cached(
                    "SELECT token_hash, user_id, terminal, csrf_token, created_at, last_seen_at FROM sessions \
                     WHERE token_hash = ?1",
                )?
                .query_row([&token_hash], session_from)
                .optional()?;
            let (token_hash, user_id, terminal, csrf_token, created, seen) = row.ok_or(StoreError::NotFound)?;
            Ok(SessionRecord {
                token_hash,
                user_id: UserId::from_stored(user_id),
                terminal,
                csrf_token,
                created_at: time(&created)?,
                last_seen_at: time(&seen)?,
            })
        })
        .await
    }

    async fn signed_session(&self, token_hash: &[u8]) -> Result<SignedSession, StoreError> {
        let token_hash = token_hash.to_vec();
        self.read_point(move |conn, _| {
            super::read_transaction(conn, |conn| signed_session_in(conn, &token_hash))
        })
        .await
    }

    async fn touch_session(&self, token_hash: &[u8], at: DateTime<Utc>) -> Result<(), StoreError> {
        let token_hash = token_hash.to_vec();
        self.write(move |tx, _| {
            tx.execute(
                "UPDATE sessions SET last_seen_at = ?2 WHERE token_hash = ?1",
                params![token_hash, timestamp_text(&at)],
            )?;
            Ok(())
        })
        .await
    }

    async fn delete_session(&self, token_hash: &[u8]) -> Result<(), StoreError> {
        let token_hash = token_hash.to_vec();
        self.write(move |tx, _| {
            tx.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])?;
            Ok(())
        })
        .await
    }

    async fn delete_expired_sessions(
        &self,
        idle_before: DateTime<Utc>,
        opened_before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let (idle, opened) = (timestamp_text(&idle_before), timestamp_text(&opened_before));
        self.write(move |tx, _| {
            let n = tx.execute(
                "DELETE FROM sessions WHERE last_seen_at < ?1 OR created_at < ?2",
                params![idle, opened],
            )?;
            Ok(n as u64)
        })
        .await
    }
}
