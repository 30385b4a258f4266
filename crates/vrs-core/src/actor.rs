//! Who performs an operation, as the audit log records it.

use vrs_domain::AuditAction;
use vrs_store::AuditEntry;

/// The person or service acting, with its role and the terminal it acts from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub user: String,
    pub role: String,
    pub terminal: String,
}

impl Actor {
    /// The operator at the server's command line.
    pub fn command_line() -> Self {
        let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
        Self {
            user: format!("cli:{user}"),
            role: "operator_cli".into(),
            terminal: "local".into(),
        }
    }

    /// An audit entry of this actor, stamped now.
    pub fn audit(&self, action: AuditAction, target: &str) -> AuditEntry {
        AuditEntry::now(
            &self.user,
            &self.role,
            &self.terminal,
            action.as_str(),
            target,
        )
    }
}
