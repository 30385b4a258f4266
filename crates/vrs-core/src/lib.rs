//! The application services of the Vaccination Record System: what a request or a command does,
//! independent of HTTP or the terminal. Each service takes the [`Store`](vrs_store::Store), the
//! acting [`Actor`] and the caller's municipality scope, and writes its audit entries.

pub mod access;
pub mod accounts;
pub mod actor;
pub mod audit;
pub mod backup;
pub mod backup_format;
pub mod certificate_app;
pub mod certificates;
pub mod check;
pub mod clients;
pub mod coupon;
pub mod dose_batch;
pub mod dose_import;
pub mod doses;
pub mod duplicates;
pub mod escrow;
pub mod export;
pub mod fhir;
pub mod governance;
pub mod hl7;
pub mod import;
pub mod inquiry;
pub mod inquiry_bulk;
pub mod lifecycle;
pub mod opendata;
pub mod provisions;
pub mod records;
pub mod revocation;
pub mod shred;
pub mod signing;
pub mod statistics;
pub mod statistics_view;

pub use access::{decide, Action, Decision, DenyReason, Principal, Role, Target, Terminal};
pub use actor::Actor;
pub use import::{
    import_targets, ImportError, ImportObserver, ImportReport, Problem, TargetImport,
};

/// Today's date in Japan (UTC+9, no daylight saving): the day the data-quality rules call today.
pub fn japan_today() -> chrono::NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(9)).date_naive()
}
