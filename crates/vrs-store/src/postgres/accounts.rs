//! Accounts, applications and sessions on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use vrs_domain::{MunicipalityCode, PrefectureCode, Role, UserId};

use super::{append_audit_tx, PostgresStore};
use crate::accounts::{
    stored_role, Account, Application, ApplicationStatus, SessionRecord, SignedSession,
    SESSION_AND_ACCOUNT_COLUMNS,
};
use crate::ConflictKind;
use crate::{rows, AccountStore, AuditEntry, AuditScope, StoreError};

const ACCOUNT_COLUMNS: &str =
    "user_id, role, municipality_code, prefecture_code, display_name, password_hash, \
     must_change_password, failed_logins, locked_until, disabled, issued_by, created_at";

/// Whether any function is stopped, as a column beside a session's row (column 17).
pub(super) const ANY_STOPPED: &str = "EXISTS (SELECT 1 FROM function_states WHERE stopped)";

/// A session read as [`SESSION_AND_ACCOUNT_COLUMNS`] followed by [`ANY_STOPPED`], with the
/// stopped functions read on the same connection when there are any.
pub(super) async fn signed_session_from(
    client: &deadpool_postgres::Client,
    r: &Row,
) -> Result<SignedSession, StoreError> {
    let account = account_from(r)?;
    let session = SessionRecord {
        token_hash: r.get(12),
        user_id: account.user_id.clone(),
        terminal: r.get(13),
        csrf_token: r.get(14),
        created_at: r.get(15),
        last_seen_at: r.get(16),
    };
    let stopped = if r.get(17) {
        super::governance::function_states_on(client, true).await?
    } else {
        Vec::new()
    };
    Ok(SignedSession {
        session,
        account,
        stopped,
    })
}

fn account_from(r: &Row) -> Result<Account, StoreError> {
    let user_id: String = r.get(0);
    let municipality: Option<String> = r.get(2);
    let prefecture: Option<i16> = r.get(3);
    let failed: i32 = r.get(7);
    Ok(Account {
        role: stored_role(r.get(1))?,
        municipality: municipality
            .as_deref()
            .map(rows::municipality)
            .transpose()?,
        prefecture: prefecture
            .map(|p| PrefectureCode::parse(&p.to_string()))
            .transpose()
            .map_err(|_| StoreError::Corrupt(format!("prefecture of account {user_id}")))?,
        display_name: r.get(4),
        password_hash: r.get(5),
        must_change_password: r.get(6),
        failed_logins: failed.max(0) as u32,
        locked_until: r.get(8),
        disabled: r.get(9),
        issued_by: r.get(10),
        created_at: r.get(11),
        user_id: UserId::from_stored(user_id),
    })
}

async fn insert_account(client: &impl GenericClient, a: &Account) -> Result<(), StoreError> {
    let inserted = client
        .execute(
            &format!(
                "INSERT INTO accounts ({ACCOUNT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                 ON CONFLICT (user_id) DO NOTHING"
            ),
            &[
                &a.user_id.as_str(),
                &a.role.as_str(),
                &a.municipality.map(|m| m.as_str().to_owned()),
                &a.prefecture.map(|p| i16::from(p.number())),
                &a.display_name,
                &a.password_hash,
                &a.must_change_password,
                &(a.failed_logins as i32),
                &a.locked_until,
                &a.disabled,
                &a.issued_by,
                &a.created_at,
            ],
        )
        .await?;
    if inserted == 0 {
        return Err(StoreError::Conflict(ConflictKind::UserIdTaken(
            a.user_id.to_string(),
        )));
    }
    Ok(())
}

async fn load_account(client: &impl GenericClient, user_id: &str) -> Result<Account, StoreError> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE user_id = $1");
    let stmt = client.prepare_cached(&sql).await?;
    let row = client.query_opt(&stmt, &[&user_id]).await?;
    account_from(&row.ok_or(StoreError::NotFound)?)
}

#[async_trait]
impl AccountStore for PostgresStore {
    async fn create_account(
        &self,
        account: &Account,
        scope: AuditScope,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        insert_account(&tx, account).await?;
        append_audit_tx(&tx, scope, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn account(&self, user_id: &UserId) -> Result<Account, StoreError> {
        let user_id = user_id.as_str();
        let client = self.pool.get().await?;
        load_account(&client, user_id).await
    }

    async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        let client = self.pool.get().await?;
        let found = client
            .query(
                &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY user_id"),
                &[],
            )
            .await?;
        found.iter().map(account_from).collect()
    }

    async fn login_failed(
        &self,
        user_id: &UserId,
        lock_after: u32,
        lock_until: DateTime<Utc>,
    ) -> Result<Account, StoreError> {
        let user_id = user_id.as_str();
        let client = self.pool.get().await?;
        let changed = client
            .execute(
                "UPDATE accounts SET failed_logins = failed_logins + 1, \
                 locked_until = CASE WHEN failed_logins + 1 >= $2 THEN $3 ELSE locked_until END \
                 WHERE user_id = $1",
                &[&user_id, &(lock_after as i32), &lock_until],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        load_account(&client, user_id).await
    }

    async fn login_succeeded(&self, user_id: &UserId) -> Result<(), StoreError> {
        let user_id = user_id.as_str();
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE accounts SET failed_logins = 0, locked_until = NULL WHERE user_id = $1",
                &[&user_id],
            )
            .await?;
        Ok(())
    }

    async fn set_password(
        &self,
        user_id: &UserId,
        hash: &str,
        must_change: bool,
        scope: AuditScope,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let user_id = user_id.as_str();
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let changed = tx
            .execute(
                "UPDATE accounts SET password_hash = $2, must_change_password = $3 WHERE user_id = $1",
                &[&user_id, &hash, &must_change],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        tx.execute("DELETE FROM sessions WHERE user_id = $1", &[&user_id])
            .await?;
        append_audit_tx(&tx, scope, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_account_disabled(
        &self,
        user_id: &UserId,
        disabled: bool,
        scope: AuditScope,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let user_id = user_id.as_str();
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let changed = tx
            .execute(
                "UPDATE accounts SET disabled = $2 WHERE user_id = $1",
                &[&user_id, &disabled],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        if disabled {
            tx.execute("DELETE FROM sessions WHERE user_id = $1", &[&user_id])
                .await?;
        }
        append_audit_tx(&tx, scope, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn apply_for_account(
        &self,
        scope: MunicipalityCode,
        applicant: &UserId,
        display_name: &str,
        role: Role,
        audit: &AuditEntry,
    ) -> Result<i64, StoreError> {
        let applicant = applicant.as_str();
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let id: i64 = tx
            .query_one(
                "INSERT INTO account_applications (municipality_code, applicant, display_name, role, status, applied_at) \
                 VALUES ($1, $2, $3, $4, 'pending', now()) RETURNING id",
                &[&scope.as_str(), &applicant, &display_name, &role.as_str()],
            )
            .await?
            .get(0);
        append_audit_tx(&tx, scope.into(), audit).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn applications(
        &self,
        status: Option<ApplicationStatus>,
    ) -> Result<Vec<Application>, StoreError> {
        let client = self.pool.get().await?;
        let found = client
            .query(
                "SELECT id, municipality_code, applicant, display_name, role, status, applied_at, decided_by, \
                 decided_at, issued_user_id FROM account_applications \
                 WHERE $1::text IS NULL OR status = $1 ORDER BY id DESC",
                &[&status.map(ApplicationStatus::as_str)],
            )
            .await?;
        found
            .iter()
            .map(|r| {
                Ok(Application {
                    id: r.get(0),
                    municipality: rows::municipality(r.get(1))?,
                    applicant: UserId::from_stored(r.get::<_, String>(2)),
                    display_name: r.get(3),
                    role: stored_role(r.get(4))?,
                    status: ApplicationStatus::from_stored(r.get(5))?,
                    applied_at: r.get(6),
                    decided_by: r.get::<_, Option<String>>(7).map(UserId::from_stored),
                    decided_at: r.get(8),
                    issued_user_id: r.get::<_, Option<String>>(9).map(UserId::from_stored),
                })
            })
            .collect()
    }

    async fn decide_application(
        &self,
        id: i64,
        decided_by: &UserId,
        issued: Option<&Account>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let decided_by = decided_by.as_str();
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let code: String = tx
            .query_opt(
                "SELECT municipality_code FROM account_applications WHERE id = $1 AND status = 'pending' FOR UPDATE",
                &[&id],
            )
            .await?
            .ok_or(StoreError::Conflict(ConflictKind::ApplicationNotPending(id)))?
            .get(0);
        let code = rows::municipality(&code)?;
        if let Some(account) = issued {
            insert_account(&tx, account).await?;
        }
        let status = if issued.is_some() {
            "approved"
        } else {
            "rejected"
        };
        tx.execute(
            "UPDATE account_applications SET status = $2, decided_by = $3, decided_at = now(), issued_user_id = $4 \
             WHERE id = $1",
            &[&id, &status, &decided_by, &issued.map(|a| a.user_id.as_str())],
        )
        .await?;
        append_audit_tx(&tx, AuditScope::National, audit).await?;
        append_audit_tx(&tx, code.into(), audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_session(&self, s: &SessionRecord) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO sessions (token_hash, user_id, terminal, csrf_token, created_at, last_seen_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[&s.token_hash, &s.user_id.as_str(), &s.terminal, &s.csrf_token, &s.created_at, &s.last_seen_at],
            )
            .await?;
        Ok(())
    }

    async fn session(&self, token_hash: &[u8]) -> Result<SessionRecord, StoreError> {
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached(
                "SELECT token_hash, user_id, terminal, csrf_token, created_at, last_seen_at FROM sessions \
                 WHERE token_hash = $1",
            )
            .await?;
        let r = client
            .query_opt(&stmt, &[&token_hash])
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(SessionRecord {
            token_hash: r.get(0),
            user_id: UserId::from_stored(r.get::<_, String>(1)),
            terminal: r.get(2),
            csrf_token: r.get(3),
            created_at: r.get(4),
            last_seen_at: r.get(5),
        })
    }

    async fn signed_session(&self, token_hash: &[u8]) -> Result<SignedSession, StoreError> {
        let client = self.pool.get().await?;
        // One round trip in the usual case: whether any function is stopped comes beside the row
        // (a scan of a table of a few rows), and only then are the stopped ones read.
        // Every signed-in request reads it: the text is built once, not per request.
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "SELECT {SESSION_AND_ACCOUNT_COLUMNS}, {ANY_STOPPED} \
                 FROM sessions s JOIN accounts a ON a.user_id = s.user_id \
                 WHERE s.token_hash = $1"
            )
        });
        let stmt = client.prepare_cached(&SQL).await?;
        let r = client
            .query_opt(&stmt, &[&token_hash])
            .await?
            .ok_or(StoreError::NotFound)?;
        signed_session_from(&client, &r).await
    }

    async fn touch_session(&self, token_hash: &[u8], at: DateTime<Utc>) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1",
                &[&token_hash, &at],
            )
            .await?;
        Ok(())
    }

    async fn delete_session(&self, token_hash: &[u8]) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute("DELETE FROM sessions WHERE token_hash = $1", &[&token_hash])
            .await?;
        Ok(())
    }

    async fn delete_expired_sessions(
        &self,
        idle_before: DateTime<Utc>,
        opened_before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let client = self.pool.get().await?;
        Ok(client
            .execute(
                "DELETE FROM sessions WHERE last_seen_at < $1 OR created_at < $2",
                &[&idle_before, &opened_before],
            )
            .await?)
    }
}
