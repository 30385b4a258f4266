//! The HL7 v2.5.1 messages of the CDC immunization implementation guide that VRS speaks:
//! `VXU^V04` in (a person's doses), answered with `ACK` (AA, AE or AR and ERR segments naming the
//! segment, field and reason); `QBP^Q11` with query `Z34` (request immunization history), answered
//! with `RSP^K11` (profile `Z32`, the complete history, or `NF` when nobody matches).
//!
//! The person is named by identifiers in PID-3 (QPD-3 in a query): `宛名番号^^^自治体コード^PI` or
//! `接種券番号^^^自治体コード^VN`. A dose is an RXA with its product in RXA-5 (CVX; where one CVX code
//! covers several products, the VRS product code as alternate identifier with coding system `VRS`),
//! lot in RXA-15, venue in RXA-11.4, doctor in RXA-10, and its dose number in an OBX after it with
//! LOINC `30973-2`. Reading here checks structure and formats; whose the person is and the
//! data-quality rules are the service's (vrs-core).
//!
//! Answers repeat little of what they answer, and only within bounds: the control id in MSA-2
//! (when it can be read), the sender's names in MSH-5/MSH-6, the query tag; a reason in ERR-8
//! quotes at most a few dozen characters of a value and never twelve digits (a My Number).

mod ack;
mod person;
mod query;
mod vxu;

pub use ack::{ack, AckCode};
pub use query::rsp;

use chrono::{NaiveDate, Utc};
use vrs_domain::{
    AtenaNumber, CouponNumber, DoseNumber, LotNumber, MunicipalityCode, Sex, VaccineProduct,
};

use crate::hl7::{msh, Message, ParseError, Segment};
use query::read_query;
use vxu::read_vxu;

/// LOINC code of the dose number observation.
pub const DOSE_NUMBER_LOINC: &str = "30973-2";
/// The longest message control id (MSH-10) read and echoed in MSA-2. HL7 2.5.1 gives the field 20
/// characters and later versions 199; senders use longer ids than 20 (UUIDs), so up to 199 are
/// accepted. VRS's own control ids keep to 20.
pub const CONTROL_ID_MAX: usize = 199;
/// The longest query tag (QPD-2, echoed in QAK-1 and QPD-2): the field's length in HL7 2.5.1.
pub const QUERY_TAG_MAX: usize = 32;
/// The longest ERR-8 (user message): the field's length in HL7 2.5.1.
pub const USER_MESSAGE_MAX: usize = 250;
/// How many characters of one value a reason quotes.
const SHOWN_MAX: usize = 40;
/// The longest namespace id (HD.1, data type IS) of MSH-3 to MSH-6 in HL7 2.5.1: the sender's
/// names are echoed in the answer's MSH-5 and MSH-6 only when they fit.
const NAMESPACE_MAX: usize = 20;

/// Where a problem is and what it is (an ERR segment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Segment id, its occurrence (1-based) and field (0 = the whole segment).
    pub segment: String,
    pub occurrence: usize,
    pub field: usize,
    /// HL7 table 0357: 100 segment sequence, 101 required field missing, 102 data type error,
    /// 103 table value not found, 200 unsupported message type, 203 unsupported version,
    /// 204 unknown key identifier, 207 application internal error.
    pub code: u16,
    pub reason: String,
}

impl Problem {
    pub fn new(segment: &str, occurrence: usize, field: usize, code: u16, reason: &str) -> Self {
        Self {
            segment: segment.to_owned(),
            occurrence,
            field,
            code,
            reason: reason.to_owned(),
        }
    }

    fn code_text(&self) -> &'static str {
        match self.code {
            100 => "Segment sequence error",
            101 => "Required field missing",
            102 => "Data type error",
            103 => "Table value not found",
            200 => "Unsupported message type",
            203 => "Unsupported version id",
            204 => "Unknown key identifier",
            _ => "Application internal error",
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.segment)?;
        if self.field > 0 {
            write!(f, "-{}", self.field)?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// The header values an answer needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub control_id: String,
    pub sending_application: String,
    pub sending_facility: String,
    pub receiving_application: String,
    pub receiving_facility: String,
    pub processing_id: String,
}

/// Whom a message names: an identifier of the person in a municipality.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PersonKey {
    Atena(MunicipalityCode, AtenaNumber),
    Coupon(MunicipalityCode, CouponNumber),
}

impl PersonKey {
    pub fn municipality(&self) -> MunicipalityCode {
        match self {
            PersonKey::Atena(m, _) | PersonKey::Coupon(m, _) => *m,
        }
    }
}

/// The person as a message describes them (checked against the record by the service).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatientIds {
    pub key: PersonKey,
    pub birth_date: Option<NaiveDate>,
    pub sex: Option<Sex>,
}

/// One dose of a VXU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VxuDose {
    /// Which RXA of the message (1-based), for problems the service finds.
    pub occurrence: usize,
    pub dose_number: DoseNumber,
    pub administered_on: NaiveDate,
    pub product: &'static VaccineProduct,
    pub lot_number: LotNumber,
    pub venue: String,
    pub doctor: String,
}

/// A read message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incoming {
    Vxu {
        header: Header,
        patient: PatientIds,
        doses: Vec<VxuDose>,
    },
    Query {
        header: Header,
        tag: String,
        patient: PatientIds,
    },
}

/// Why a message is refused: unreadable or unsupported (AR), or with bad values (AE).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    Reject(Option<Box<Header>>, Vec<Problem>),
    Error(Box<Header>, Vec<Problem>),
}

impl From<ParseError> for Refusal {
    fn from(e: ParseError) -> Self {
        Refusal::Reject(None, vec![unreadable(&e)])
    }
}

/// The problem of a message that cannot be parsed. A segment whose id is wrong is located by its
/// first three characters (see [`segment_id`]) and its position in the message.
fn unreadable(e: &ParseError) -> Problem {
    match e {
        ParseError::BadSegmentId(n, id) => Problem::new(
            &segment_id(id),
            *n,
            0,
            102,
            &format!(
                "segment {n}: the segment id {} is not three upper-case letters or digits",
                shown(id)
            ),
        ),
        _ => Problem::new("MSH", 1, 0, 102, &e.to_string()),
    }
}

/// A segment id for ERR-2.1: always three characters; from an id that could not be read, its
/// first three characters with any that is not an ASCII letter or digit as `?`, padded with `?`.
fn segment_id(id: &str) -> String {
    let mut out: String = id
        .chars()
        .take(3)
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '?' })
        .collect();
    while out.len() < 3 {
        out.push('?');
    }
    out
}

/// A value of the message as a reason quotes it: in quotes, at most [`SHOWN_MAX`] characters
/// (then `…` and its length), and not at all when it holds twelve digits or more, as a My Number
/// does.
fn shown(value: &str) -> String {
    let count = value.chars().count();
    let digits = value
        .chars()
        .filter(|c| vrs_domain::text::fold_char(*c).is_ascii_digit())
        .count();
    if digits >= 12 {
        return format!("({count} characters, not shown)");
    }
    if count <= SHOWN_MAX {
        return format!("{value:?}");
    }
    let head: String = value.chars().take(SHOWN_MAX).collect();
    format!("{head:?}… ({count} characters)")
}

/// ERR-8 as sent: a run of twelve digits or more (spaces and hyphens between digits included)
/// replaced, so that no reason ever carries a My Number, and at most [`USER_MESSAGE_MAX`]
/// characters, cut with `…`.
fn user_message(reason: &str) -> String {
    let is_digit = |c: char| vrs_domain::text::fold_char(c).is_ascii_digit();
    let chars: Vec<char> = reason.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if !is_digit(chars[i]) {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        let mut digits = 0;
        while i < chars.len() {
            if is_digit(chars[i]) {
                digits += 1;
                i += 1;
            } else if matches!(chars[i], ' ' | '-')
                && chars.get(i + 1).is_some_and(|c| is_digit(*c))
            {
                i += 1;
            } else {
                break;
            }
        }
        if digits >= 12 {
            out.push_str(&format!("({digits} digits, not shown)"));
        } else {
            out.extend(&chars[start..i]);
        }
    }
    if out.chars().count() > USER_MESSAGE_MAX {
        out = out.chars().take(USER_MESSAGE_MAX - 1).collect();
        out.push('…');
    }
    out
}

fn header(m: &Message) -> Header {
    let msh = m.msh();
    let control_id = msh.field(10);
    Header {
        // A control id too long to echo is treated as unreadable (refused by `read`).
        control_id: if control_id.chars().count() <= CONTROL_ID_MAX {
            control_id.to_owned()
        } else {
            String::new()
        },
        sending_application: msh.field(3).to_owned(),
        sending_facility: msh.field(4).to_owned(),
        receiving_application: msh.field(5).to_owned(),
        receiving_facility: msh.field(6).to_owned(),
        processing_id: msh.field(11).to_owned(),
    }
}

/// The header of a message that cannot be read whole — bytes that are not UTF-8, a segment that
/// cannot be parsed, the start of a message too long to read — from its first segment, when that
/// is an MSH with separators. Characters that are not UTF-8 leave the field they are in empty.
pub fn header_of(bytes: &[u8]) -> Option<Header> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let start = bytes
        .iter()
        .position(|b| !matches!(b, b'\r' | b'\n' | b' '))
        .unwrap_or(bytes.len());
    let bytes = &bytes[start..];
    let end = bytes
        .iter()
        .position(|b| matches!(b, b'\r' | b'\n'))
        .unwrap_or(bytes.len());
    let first = String::from_utf8_lossy(&bytes[..end]);
    let m = Message::parse(&first).ok()?;
    let mut h = header(&m);
    for value in [
        &mut h.control_id,
        &mut h.sending_application,
        &mut h.sending_facility,
        &mut h.receiving_application,
        &mut h.receiving_facility,
        &mut h.processing_id,
    ] {
        if value.contains(char::REPLACEMENT_CHARACTER) {
            value.clear();
        }
    }
    Some(h)
}

/// Reads a VXU^V04 or a QBP^Q11 (Z34). Every problem found is returned, not only the first.
pub fn read(text: &str) -> Result<Incoming, Refusal> {
    let m = Message::parse(text).map_err(|e| {
        // A segment after the MSH that cannot be parsed: the MSH itself was read.
        let header = match e {
            ParseError::BadSegmentId(..) => header_of(text.as_bytes()).map(Box::new),
            _ => None,
        };
        Refusal::Reject(header, vec![unreadable(&e)])
    })?;
    let h = header(&m);
    let msh = m.msh();
    let kind = (msh.component(9, 1), msh.component(9, 2));
    let control_length = msh.field(10).chars().count();
    if control_length > CONTROL_ID_MAX {
        return Err(Refusal::Reject(
            Some(Box::new(h)),
            vec![Problem::new(
                "MSH",
                1,
                10,
                102,
                &format!(
                    "the message control id has {control_length} characters (at most {CONTROL_ID_MAX})"
                ),
            )],
        ));
    }
    if h.control_id.is_empty() {
        return Err(Refusal::Reject(
            Some(Box::new(h)),
            vec![Problem::new(
                "MSH",
                1,
                10,
                101,
                "the message control id is missing",
            )],
        ));
    }
    if !msh.field(12).starts_with("2.5") {
        return Err(Refusal::Reject(
            Some(Box::new(h)),
            vec![Problem::new(
                "MSH",
                1,
                12,
                203,
                &format!(
                    "version {} is not supported (2.5.1 is)",
                    shown(msh.field(12))
                ),
            )],
        ));
    }
    match kind {
        ("VXU", "V04") => read_vxu(&m, h),
        ("QBP", "Q11") => read_query(&m, h),
        (k, t) => Err(Refusal::Reject(
            Some(Box::new(h)),
            vec![Problem::new(
                "MSH",
                1,
                9,
                200,
                &format!(
                    "message type {} is not supported (VXU^V04 and QBP^Q11 are)",
                    shown(&format!("{k}^{t}"))
                ),
            )],
        )),
    }
}

/// A name of the sender echoed in MSH-4 to MSH-6 when it fits HD.1, else left empty.
fn namespace(value: &str) -> &str {
    if value.chars().count() <= NAMESPACE_MAX {
        value
    } else {
        ""
    }
}

fn answer_header(to: Option<&Header>, kind: &[&str], profile: Option<&[&str]>) -> Segment {
    let at = Utc::now();
    let now = at.format("%Y%m%d%H%M%S").to_string();
    // 20 characters, MSH-10's length in HL7 2.5.1: VRS, the time to the second, then 10 µs units.
    let control = format!(
        "VRS{}{:05}",
        at.format("%y%m%d%H%M%S"),
        at.timestamp_subsec_micros() / 10 % 100_000
    );
    let (app, facility, processing) = to.map_or(("", "", "P"), |h| {
        (
            namespace(&h.sending_application),
            namespace(&h.sending_facility),
            // HL7 table 0103; anything else is answered as production.
            match h.processing_id.as_str() {
                id @ ("D" | "P" | "T") => id,
                _ => "P",
            },
        )
    });
    let own_facility = to.map_or("", |h| namespace(&h.receiving_facility));
    let mut s = msh()
        .set(3, &["VRS"])
        .set(4, &[own_facility])
        .set(5, &[app])
        .set(6, &[facility])
        .set(7, &[&now])
        .set(9, kind)
        .set(10, &[&control])
        .set(11, &[processing])
        .set(12, &["2.5.1"]);
    if let Some(p) = profile {
        s = s.set(21, p);
    }
    s
}

#[cfg(test)]
mod tests;
