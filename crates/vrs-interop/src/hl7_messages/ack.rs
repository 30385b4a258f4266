//! The `ACK` answering a VXU, or anything refused: AA, AE or AR, and an ERR segment naming the
//! segment, field and reason of each problem.

use super::{answer_header, segment_id, user_message, Header, Problem};
use crate::hl7::{Message, Segment, Separators};

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
