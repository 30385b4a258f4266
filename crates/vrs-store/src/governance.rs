//! Terms, agreements and function switches as storage keeps them. They belong to the deployment
//! (the national operator publishes terms and switches functions; each municipality's agreements
//! are its own rows), and every change is written with its audit entry in one transaction.

use chrono::{DateTime, Utc};
use vrs_domain::{Function, MunicipalityCode, TermsKind};

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
