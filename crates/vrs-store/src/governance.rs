//! Terms, agreements and function switches as storage keeps them. They belong to the deployment
//! (the national operator publishes terms and switches functions; each municipality's agreements
//! are its own rows), and every change is written with its audit entry in one transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use vrs_domain::{Function, MunicipalityCode, TermsKind};

use crate::{AuditEntry, StoreError};

/// One published version of a terms document. Versions of a kind count up from 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TermsVersion {
    pub kind: TermsKind,
    pub version: u32,
    pub title: String,
    pub body: String,
    pub published_by: String,
    pub published_at: DateTime<Utc>,
}

/// A municipality's agreement to one version of a terms document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agreement {
    pub municipality: MunicipalityCode,
    pub kind: TermsKind,
    pub version: u32,
    pub agreed_by: String,
    pub agreed_at: DateTime<Utc>,
}

/// Whether a function runs, as the national operator last set it. A function never switched has
/// no row and runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionState {
    pub function: Function,
    pub stopped: bool,
    /// Why it was stopped or resumed, as the operator said.
    pub reason: String,
    pub changed_by: String,
    pub changed_at: DateTime<Utc>,
}

/// Terms published by the national operator, each municipality's agreements, and the emergency
/// function switches.
#[async_trait]
pub trait GovernanceStore: crate::Scoped + Send + Sync {
    /// Publishes the next version of a terms document (1 for the first) with its audit entry in the
    /// national chain; returns the version as stored.
    async fn publish_terms(
        &self,
        kind: TermsKind,
        title: &str,
        body: &str,
        published_by: &str,
        audit: &AuditEntry,
    ) -> Result<TermsVersion, StoreError>;

    /// Every published version, by kind then version; of one kind only when given.
    async fn terms_versions(
        &self,
        kind: Option<TermsKind>,
    ) -> Result<Vec<TermsVersion>, StoreError>;

    /// Records the municipality's agreement to a published version, with its audit entry in the
    /// municipality's chain. An unpublished version is [`StoreError::NotFound`]; agreeing again to
    /// the same version changes nothing and returns false.
    async fn agree_to_terms(
        &self,
        scope: MunicipalityCode,
        kind: TermsKind,
        version: u32,
        agreed_by: &str,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError>;

    /// The municipality's agreements, by kind then version.
    async fn agreements(&self, scope: MunicipalityCode) -> Result<Vec<Agreement>, StoreError>;

    /// Stops or resumes a function, with its audit entry in the national chain. Takes effect for
    /// every process on the database at once: nothing caches it.
    async fn set_function(
        &self,
        state: &FunctionState,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// The state of every function the operator ever switched (a function without a row runs).
    async fn function_states(&self) -> Result<Vec<FunctionState>, StoreError>;
}
