//! File formats of the Vaccination Record System: the targets CSV read from resident-registry
//! systems (UTF-8 or CP932), synthetic targets written in the same format, and dose files — the
//! bulk dose CSV read from OCR of 予診票 and the ledger and CSV exports of stored doses.

pub mod doses;
pub mod fhir;
pub mod hl7;
pub mod hl7_messages;
pub mod inquiry;
pub mod synthetic;
pub mod targets;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use doses::{
    max_dose_number, write_dose_csv, write_ledger, DoseColumn, DoseCsvWriter, DoseFieldError,
    DoseLine, DoseReader, LedgerPerson, LedgerWriter, RawDoseRow, DOSE_CSV_HEADER,
};
pub use inquiry::{CsvWriter, InquiryColumn, InquiryFieldError, InquiryLine, InquiryReader};
pub use synthetic::{write_targets, Synthetic};
pub use targets::{Column, Encoding, EncodingChoice, FieldError, RawRow, ReadError, TargetReader};
