//! The application services of the Vaccination Record System: what a request or a command does,
//! independent of HTTP or the terminal. Each service takes the [`Store`](vrs_store::Store), the
//! acting [`Actor`] and the caller's municipality scope, and writes its audit entries.
//!
//! One module per feature, its parts inside it: [`doses`] (site registration and staff changes;
//! `batch`, `import`, `export`, `check`), [`inquiry`] (`bulk`, `provisions`), [`certificates`]
//! (`app`, `signing`, `revocation`), [`statistics`] (`view`, `opendata`), [`backup`] (`format`,
//! `escrow`, `shred`), [`duplicates`]; beside them what every feature uses: [`access`],
//! [`accounts`], [`audit`], [`governance`].

pub mod access;
pub mod accounts;
pub mod actor;
pub mod audit;
pub mod backup;
pub mod certificates;
pub mod clients;
pub mod coupon;
pub mod doses;
pub mod duplicates;
pub mod fhir;
pub mod governance;
pub mod hl7;
pub mod import;
pub mod inquiry;
pub mod lifecycle;
pub mod records;
pub mod statistics;

pub use access::{decide, Action, Decision, DenyReason, Principal, Role, Target, Terminal};
pub use actor::Actor;
pub use import::{
    import_targets, ImportError, ImportObserver, ImportReport, Problem, TargetImport,
};

/// Today's date in Japan (UTC+9, no daylight saving): the day the data-quality rules call today.
pub fn japan_today() -> chrono::NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(9)).date_naive()
}
