//! `vrs-domain`: the pure types and rules of the Vaccination Record System — identifiers
//! (My Number, municipality codes, coupon and atena numbers, the coupon OCR line), names,
//! Western and Japanese-era dates, the vaccine catalogue, and the resident and dose records.
//!
//! No IO and no async: every type parses its input once (`parse(&str) -> Result<Self, Error>`)
//! and is valid from then on, so the crates above never re-check. Everything is re-exported at
//! the crate root.

pub mod audit_action;
pub mod certificate;
pub mod coupon;
pub mod date;
pub mod dose_number;
pub mod governance;
pub mod label;
pub mod mrz;
pub mod municipality;
pub mod my_number;
pub mod name;
pub mod ocr;
pub mod opendata;
pub mod person;
pub mod quality;
pub mod role;
pub mod romaji;
pub mod sex;
pub mod statistics;
pub mod terminal;
pub mod text;
pub mod user_facing;
pub mod user_id;
pub mod vaccine;

mod serde_str;

pub use audit_action::AuditAction;
pub use certificate::{
    luhn_mod_n, CertificateId, CertificateIdError, CertificateKind, IssueChannel,
};
pub use coupon::{AtenaNumber, AtenaNumberError, CouponNumber, CouponNumberError};
pub use date::{format_wareki, format_wareki_short, parse_date, DateError, Era};
pub use dose_number::{DoseNumber, DoseNumberError};
pub use governance::{ConsentBasis, Function, TermsKind};
pub use label::Labelled;
pub use mrz::{CheckedField, Mrz, MrzError, MrzField, MrzSex};
pub use municipality::{
    master_list, municipalities_of, wards_of, Municipality, MunicipalityCode,
    MunicipalityCodeError, MunicipalityKind, PrefectureCode,
};
pub use my_number::{MyNumber, MyNumberError};
pub use name::{KanaName, NameError, NameFragment, PersonName};
pub use ocr::{OcrLine, OcrLineError};
pub use opendata::OpenAgeGroup;
pub use person::{Dose, DoseRecord, DoseSource, DoseStatement, LabelError, Resident};
pub use quality::{check_dose, DoseFacts, PersonFacts, QualityRule};
pub use role::{Role, UnknownRole};
pub use sex::{Sex, SexError};
pub use statistics::{
    suppress, suppress_line, AgeBand, Cell, Suppressed, HIDDEN_MARK, SUPPRESS_BELOW,
};
pub use terminal::Terminal;
pub use text::normalize_digits;
pub use user_facing::{Reason, UserFacing};
pub use user_id::{UserId, UserIdError};
pub use vaccine::{LotNumber, LotNumberError, Manufacturer, VaccineProduct};
