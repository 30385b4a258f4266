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

use chrono::{NaiveDate, Utc};
use vrs_domain::{
    AtenaNumber, CouponNumber, DoseNumber, DoseRecord, LotNumber, MunicipalityCode, Resident, Sex,
    VaccineProduct,
};

use crate::hl7::{msh, Message, ParseError, Segment, Separators};

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

/// The person in a CX list (PID-3 or QPD-3): the first 宛名番号, else the first coupon number.
fn person_key(seg: &Segment, field: usize, problems: &mut Vec<Problem>) -> Option<PersonKey> {
    let id = &seg.id;
    let mut found = None;
    for r in 0..seg.repetitions(field) {
        let (value, authority, kind) = (
            seg.at(field, r, 1, 1),
            seg.at(field, r, 4, 1),
            seg.at(field, r, 5, 1),
        );
        if !matches!(kind, "PI" | "VN") {
            continue;
        }
        let Ok(m) = MunicipalityCode::parse(authority) else {
            problems.push(Problem::new(
                id,
                1,
                field,
                102,
                &format!(
                    "the assigning authority {} is not a municipality code",
                    shown(authority)
                ),
            ));
            return None;
        };
        let key = match kind {
            "PI" => AtenaNumber::parse(value)
                .map(|a| PersonKey::Atena(m, a))
                .map_err(|e| e.to_string()),
            _ => CouponNumber::parse(value)
                .map(|c| PersonKey::Coupon(m, c))
                .map_err(|e| e.to_string()),
        };
        match key {
            Ok(k @ PersonKey::Atena(..)) => return Some(k),
            Ok(k) => found = found.or(Some(k)),
            Err(e) => {
                problems.push(Problem::new(
                    id,
                    1,
                    field,
                    102,
                    &format!("identifier {}: {e}", shown(value)),
                ));
                return None;
            }
        }
    }
    if found.is_none() {
        problems.push(Problem::new(
            id,
            1,
            field,
            101,
            "no 宛名番号 (type PI) or coupon number (type VN) with a municipality code as assigning authority",
        ));
    }
    found
}

fn hl7_date(text: &str) -> Option<NaiveDate> {
    let digits = text.get(..8)?;
    NaiveDate::parse_from_str(digits, "%Y%m%d").ok()
}

fn patient(
    seg: &Segment,
    key_field: usize,
    birth_field: usize,
    sex_field: usize,
    problems: &mut Vec<Problem>,
) -> Option<PatientIds> {
    let key = person_key(seg, key_field, problems);
    let birth = seg.field(birth_field);
    let birth_date = if birth.is_empty() {
        None
    } else {
        let d = hl7_date(birth);
        if d.is_none() {
            problems.push(Problem::new(
                &seg.id,
                1,
                birth_field,
                102,
                &format!("{} is not a date (YYYYMMDD)", shown(birth)),
            ));
        }
        d
    };
    let sex = match seg.field(sex_field) {
        "" | "U" => None,
        "M" => Some(Sex::Male),
        "F" => Some(Sex::Female),
        other => {
            problems.push(Problem::new(
                &seg.id,
                1,
                sex_field,
                103,
                &format!("sex {} is not M, F or U", shown(other)),
            ));
            None
        }
    };
    Some(PatientIds {
        key: key?,
        birth_date,
        sex,
    })
}

/// The product of RXA-5: the VRS code given as alternate identifier, else the one product of the CVX.
fn product(rxa: &Segment) -> Result<&'static VaccineProduct, String> {
    if rxa.component(5, 6) == "VRS" {
        return VaccineProduct::by_code(rxa.component(5, 4)).ok_or_else(|| {
            format!(
                "VRS product {} is not in the catalogue",
                shown(rxa.component(5, 4))
            )
        });
    }
    if rxa.component(5, 3) != "CVX" {
        return Err("the product must be coded in CVX (RXA-5.3 = CVX)".into());
    }
    let cvx = rxa.component(5, 1);
    let matching: Vec<&'static VaccineProduct> = VaccineProduct::catalogue()
        .iter()
        .filter(|p| p.cvx == cvx)
        .collect();
    match matching.as_slice() {
        [one] => Ok(one),
        [] => Err(format!(
            "CVX {} is not a COVID-19 vaccine of the catalogue",
            shown(cvx)
        )),
        many => Err(format!(
            "CVX {} covers several products ({}); give the product as alternate identifier with coding system VRS",
            shown(cvx),
            many.iter().map(|p| p.code).collect::<Vec<_>>().join(", ")
        )),
    }
}

fn read_vxu(m: &Message, h: Header) -> Result<Incoming, Refusal> {
    let mut problems = Vec::new();
    let Some(pid) = m.segment("PID") else {
        return Err(Refusal::Error(
            Box::new(h),
            vec![Problem::new("PID", 1, 0, 100, "the PID segment is missing")],
        ));
    };
    let patient = patient(pid, 3, 7, 8, &mut problems);
    let mut doses = Vec::new();
    let mut occurrence = 0;
    for (i, seg) in m.segments.iter().enumerate() {
        if seg.id != "RXA" {
            continue;
        }
        occurrence += 1;
        let n = occurrence;
        let before = problems.len();
        let mut problem = |field: usize, code: u16, reason: String| {
            problems.push(Problem::new("RXA", n, field, code, &reason))
        };
        if matches!(seg.field(20), "NA" | "RE") || seg.field(21) == "D" {
            problem(
                20,
                207,
                "only completed doses to add are accepted (RXA-20 CP or PA, RXA-21 A)".into(),
            );
            continue;
        }
        let administered_on = hl7_date(seg.field(3));
        if administered_on.is_none() {
            problem(
                3,
                if seg.field(3).is_empty() { 101 } else { 102 },
                format!("{} is not a date (YYYYMMDD)", shown(seg.field(3))),
            );
        }
        let product = product(seg).map_err(|e| problem(5, 103, e)).ok();
        let lot = LotNumber::parse(seg.field(15))
            .map_err(|e| {
                problem(
                    15,
                    if seg.field(15).is_empty() { 101 } else { 102 },
                    format!("lot {}: {e}", shown(seg.field(15))),
                )
            })
            .ok();
        // The dose number: the OBX 30973-2 before the next RXA.
        let number = m.segments[i + 1..]
            .iter()
            .take_while(|s| s.id != "RXA" && s.id != "ORC")
            .find(|s| s.id == "OBX" && s.component(3, 1) == DOSE_NUMBER_LOINC)
            .map(|s| s.field(5).to_owned());
        let dose_number = match number.as_deref().map(DoseNumber::parse) {
            Some(Ok(number)) => Some(number),
            Some(Err(e)) => {
                problems.push(Problem::new("OBX", n, 5, 102, &e.to_string()));
                None
            }
            None => {
                problems.push(Problem::new(
                    "OBX",
                    n,
                    3,
                    101,
                    &format!("RXA {n} has no OBX with LOINC {DOSE_NUMBER_LOINC} (dose number)"),
                ));
                None
            }
        };
        let venue = DoseRecord::venue(seg.component(11, 4))
            .map_err(|e| problems.push(Problem::new("RXA", n, 11, 102, &format!("the venue: {e}"))))
            .unwrap_or_default();
        let doctor_name = [seg.component(10, 2), seg.component(10, 3)]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join("　");
        let doctor = DoseRecord::doctor(&doctor_name)
            .map_err(|e| {
                problems.push(Problem::new("RXA", n, 10, 102, &format!("the doctor: {e}")))
            })
            .unwrap_or_default();
        if problems.len() > before {
            continue;
        }
        if let (Some(administered_on), Some(product), Some(lot_number), Some(dose_number)) =
            (administered_on, product, lot, dose_number)
        {
            doses.push(VxuDose {
                occurrence: n,
                dose_number,
                administered_on,
                product,
                lot_number,
                venue,
                doctor,
            });
        }
    }
    if occurrence == 0 {
        problems.push(Problem::new(
            "RXA",
            1,
            0,
            100,
            "the message holds no RXA segment",
        ));
    }
    match patient {
        Some(patient) if problems.is_empty() => Ok(Incoming::Vxu {
            header: h,
            patient,
            doses,
        }),
        _ => Err(Refusal::Error(Box::new(h), problems)),
    }
}

fn read_query(m: &Message, h: Header) -> Result<Incoming, Refusal> {
    let Some(qpd) = m.segment("QPD") else {
        return Err(Refusal::Error(
            Box::new(h),
            vec![Problem::new("QPD", 1, 0, 100, "the QPD segment is missing")],
        ));
    };
    if qpd.component(1, 1) != "Z34" {
        return Err(Refusal::Reject(
            Some(Box::new(h)),
            vec![Problem::new(
                "QPD",
                1,
                1,
                103,
                &format!(
                    "query {} is not supported (Z34 is)",
                    shown(qpd.component(1, 1))
                ),
            )],
        ));
    }
    let mut problems = Vec::new();
    let tag = qpd.field(2).to_owned();
    let tag_length = tag.chars().count();
    if tag.is_empty() {
        problems.push(Problem::new("QPD", 1, 2, 101, "the query tag is missing"));
    } else if tag_length > QUERY_TAG_MAX {
        problems.push(Problem::new(
            "QPD",
            1,
            2,
            102,
            &format!("the query tag has {tag_length} characters (at most {QUERY_TAG_MAX})"),
        ));
    }
    let patient = patient(qpd, 3, 6, 7, &mut problems);
    match patient {
        Some(patient) if problems.is_empty() => Ok(Incoming::Query {
            header: h,
            tag,
            patient,
        }),
        _ => Err(Refusal::Error(Box::new(h), problems)),
    }
}

/// The acknowledgment code of an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckCode {
    Accept,
    Error,
    Reject,
}

impl AckCode {
    pub fn as_str(self) -> &'static str {
        match self {
            AckCode::Accept => "AA",
            AckCode::Error => "AE",
            AckCode::Reject => "AR",
        }
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

fn err_segment(p: &Problem) -> Segment {
    let occurrence = p.occurrence.to_string();
    let field = p.field.to_string();
    let code = p.code.to_string();
    let segment = segment_id(&p.segment);
    let location: Vec<&str> = if p.field > 0 {
        vec![&segment, &occurrence, &field]
    } else {
        vec![&segment, &occurrence]
    };
    Segment::new("ERR")
        .set(2, &location)
        .set(3, &[&code, p.code_text(), "HL70357"])
        .set(4, &["E"])
        .set(8, &[&user_message(&p.reason)])
}

/// An ACK to a VXU (or to anything refused).
pub fn ack(to: Option<&Header>, code: AckCode, problems: &[Problem]) -> Message {
    let mut segments = vec![
        answer_header(to, &["ACK", "V04", "ACK"], Some(&["Z23", "CDCPHINVS"])),
        Segment::new("MSA")
            .set(1, &[code.as_str()])
            .set(2, &[to.map_or("", |h| h.control_id.as_str())]),
    ];
    segments.extend(problems.iter().map(err_segment));
    Message {
        separators: Separators::default(),
        segments,
    }
}

fn hl7_sex(sex: Sex) -> &'static str {
    match sex {
        Sex::Male => "M",
        Sex::Female => "F",
    }
}

/// The RSP^K11 to a Z34 query: the person and every dose (Z32), or `NF` when nobody matches.
pub fn rsp(
    query: &Header,
    tag: &str,
    asked: &PatientIds,
    found: Option<(&Resident, &[DoseRecord])>,
) -> Message {
    let (status, profile) = match found {
        Some(_) => ("OK", ["Z32", "CDCPHINVS"]),
        None => ("NF", ["Z33", "CDCPHINVS"]),
    };
    let mut segments = vec![
        answer_header(Some(query), &["RSP", "K11", "RSP_K11"], Some(&profile)),
        Segment::new("MSA")
            .set(1, &["AA"])
            .set(2, &[&query.control_id]),
        Segment::new("QAK")
            .set(1, &[tag])
            .set(2, &[status])
            .set(3, &["Z34", "Request Immunization History", "CDCPHINVS"]),
    ];
    let (key_value, key_authority, key_type) = match &asked.key {
        PersonKey::Atena(m, a) => (a.to_string(), m.to_string(), "PI"),
        PersonKey::Coupon(m, c) => (c.to_string(), m.to_string(), "VN"),
    };
    segments.push(
        Segment::new("QPD")
            .set(1, &["Z34", "Request Immunization History", "CDCPHINVS"])
            .set(2, &[tag])
            .set(3, &[&key_value, "", "", &key_authority, key_type]),
    );
    if let Some((person, doses)) = found {
        let m = person.municipality.to_string();
        let atena = person.atena.to_string();
        let coupon = person.coupon.to_string();
        let mut pid = Segment::new("PID").set(1, &["1"]);
        pid.set_repetitions(
            3,
            &[&[&atena, "", "", &m, "PI"], &[&coupon, "", "", &m, "VN"]],
        );
        let name = person.name.as_str();
        let (family, given) = name.split_once('　').unwrap_or((name, ""));
        let birth = person.birth_date.format("%Y%m%d").to_string();
        segments.push(
            pid.set(5, &[family, given])
                .set(7, &[&birth])
                .set(8, &[hl7_sex(person.sex)]),
        );
        for (i, d) in doses.iter().enumerate() {
            let n = (i + 1).to_string();
            let dose = &d.dose;
            let (doctor_family, doctor_given) =
                d.doctor.split_once('　').unwrap_or((&d.doctor, ""));
            let product = dose.product;
            let maker = product.manufacturer;
            // Given at one time: the end of administration (RXA-4) is its start (RXA-3).
            let given = dose.administered_on.format("%Y%m%d").to_string();
            segments.push(
                Segment::new("ORC")
                    .set(1, &["RE"])
                    .set(3, &[&format!("{}-{}", atena, dose.dose_number), "VRS"]),
            );
            segments.push(
                Segment::new("RXA")
                    .set(1, &["0"])
                    .set(2, &["1"])
                    .set(3, &[&given])
                    .set(4, &[&given])
                    .set(
                        5,
                        &[
                            product.cvx,
                            product.name,
                            "CVX",
                            product.code,
                            product.name_ja,
                            "VRS",
                        ],
                    )
                    .set(6, &["999"])
                    .set(9, &["00", "New immunization record", "NIP001"])
                    .set(10, &["", doctor_family, doctor_given])
                    .set(11, &["", "", "", &d.venue])
                    .set(15, &[dose.lot_number.as_str()])
                    .set(17, &[maker.mvx().unwrap_or("OTH"), maker.name_en(), "MVX"])
                    .set(20, &["CP"])
                    .set(21, &["A"]),
            );
            segments.push(
                Segment::new("OBX")
                    .set(1, &[&n])
                    .set(2, &["NM"])
                    .set(3, &[DOSE_NUMBER_LOINC, "Dose number in series", "LN"])
                    .set(4, &[&n])
                    .set(5, &[&dose.dose_number.to_string()])
                    .set(11, &["F"]),
            );
        }
    }
    Message {
        separators: Separators::default(),
        segments,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSH: &str = "MSH|^~\\&|EHR|Clinic|VRS|382060|20210701||VXU^V04^VXU_V04|C1|P|2.5.1\r";

    fn vxu(pid3: &str, rxa5: &str) -> String {
        format!(
            "{MSH}PID|1||{pid3}||西条^花子||19500401|F\rORC|RE\r\
             RXA|0|1|20210601||{rxa5}|0.3|mL||00|^山田^太郎|^^^会場||||FA4597||||||CP|A\r\
             OBX|1|NM|30973-2^Dose number in series^LN|1|1||||||F\r"
        )
    }

    fn problems(text: &str) -> Vec<String> {
        match read(text) {
            Err(Refusal::Error(_, p)) | Err(Refusal::Reject(_, p)) => p
                .iter()
                .map(|p| format!("{}-{} {}", p.segment, p.field, p.code))
                .collect(),
            Ok(m) => panic!("read: {m:?}"),
        }
    }

    #[test]
    fn a_cvx_code_of_several_products_needs_the_vrs_code() {
        let p = problems(&vxu("100001^^^382060^PI", "213^SARS-COV-2 unspecified^CVX"));
        assert_eq!(p, ["RXA-5 103"]);
        let Ok(Incoming::Vxu { doses, patient, .. }) = read(&vxu(
            "100001^^^382060^PI",
            "213^unspecified^CVX^nuvaxovid^ヌバキソビッド筋注^VRS",
        )) else {
            panic!("the VRS code names the product");
        };
        assert_eq!(doses[0].product.code, "nuvaxovid");
        assert_eq!(doses[0].doctor, "山田　太郎");
        assert_eq!(
            patient.key,
            PersonKey::Atena(
                MunicipalityCode::parse("382060").unwrap(),
                AtenaNumber::parse("100001").unwrap()
            )
        );
    }

    #[test]
    fn the_person_needs_an_identifier_of_a_municipality() {
        assert_eq!(problems(&vxu("100001^^^^MR", "208^x^CVX")), ["PID-3 101"]);
        assert_eq!(
            problems(&vxu("100001^^^ABC^PI", "208^x^CVX")),
            ["PID-3 102"]
        );
        assert_eq!(problems(&vxu("", "208^x^CVX")), ["PID-3 101"]);
    }

    #[test]
    fn unsupported_messages_and_queries_are_rejected() {
        let q = "MSH|^~\\&|EHR|C|VRS|382060|2021||QBP^Q11|Q1|P|2.5.1\rQPD|Z44^Forecast^CDCPHINVS|T1|1^^^382060^PI\r";
        assert!(matches!(read(q), Err(Refusal::Reject(Some(_), _))));
        assert_eq!(problems(q), ["QPD-1 103"]);
        let old = MSH.replace("2.5.1", "2.3.1");
        assert_eq!(problems(&old), ["MSH-12 203"]);
        let no_id = MSH.replace("|C1|", "||");
        assert_eq!(problems(&no_id), ["MSH-10 101"]);
    }

    #[test]
    fn the_header_of_an_unreadable_message_comes_from_its_msh() {
        let mut bytes =
            b"\xef\xbb\xbf\r\nMSH|^~\\&|EHR|Clinic|VRS|382060|2021||VXU^V04|C9|T|2.5.1\r".to_vec();
        bytes.extend_from_slice(b"PID|1||\x82\xa0\r");
        let h = header_of(&bytes).unwrap();
        assert_eq!(
            (
                h.control_id.as_str(),
                h.sending_application.as_str(),
                h.processing_id.as_str()
            ),
            ("C9", "EHR", "T")
        );
        // Bytes that are not UTF-8 in a field leave that field empty.
        let h = header_of(b"MSH|^~\\&|E\xff|C|VRS|382060|2021||VXU^V04|C\xfe|P|2.5.1").unwrap();
        assert_eq!(
            (h.control_id.as_str(), h.sending_application.as_str()),
            ("", "")
        );
        assert_eq!(header_of(b"PID|1"), None);
        assert_eq!(header_of(b""), None);
    }

    #[test]
    fn an_ack_names_each_problem_in_an_err_segment() {
        let h = match read(&vxu("", "208^x^CVX")) {
            Err(Refusal::Error(h, _)) => h,
            other => panic!("{other:?}"),
        };
        let text = ack(
            Some(&h),
            AckCode::Error,
            &[Problem::new("RXA", 2, 3, 102, "bad | date")],
        )
        .to_er7();
        let m = Message::parse(&text).unwrap();
        assert_eq!(m.segment("MSA").unwrap().field(2), "C1");
        let err = m.segment("ERR").unwrap();
        assert_eq!(
            (
                err.component(2, 1),
                err.component(2, 2),
                err.component(2, 3)
            ),
            ("RXA", "2", "3")
        );
        assert_eq!(err.field(8), "bad | date");
        assert!(text.contains("bad \\F\\ date"));
    }
}
