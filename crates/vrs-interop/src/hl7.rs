//! HL7 v2 messages in ER7 (the pipe-and-hat encoding): parsing with the separators the message's
//! own MSH declares, unescaping (`\F\ \S\ \T\ \R\ \E\`, `\Xhh…\`), and writing with escaping.
//!
//! A parsed message keeps every value unescaped; positions follow HL7's numbering (MSH-1 is the
//! field separator itself, so `MSH-9` is the message type as in the standard). Nothing here knows
//! vaccinations: [`crate::hl7_messages`] reads VXU and QBP and writes ACK and RSP.

use std::fmt;

pub mod mllp;

/// The separators a message declares in MSH-1 and MSH-2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Separators {
    pub field: char,
    pub component: char,
    pub repetition: char,
    pub escape: char,
    pub subcomponent: char,
}

impl Default for Separators {
    fn default() -> Self {
        Self {
            field: '|',
            component: '^',
            repetition: '~',
            escape: '\\',
            subcomponent: '&',
        }
    }
}

/// Why a message could not be read at all (answered with AR).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the message is empty")]
    Empty,
    #[error("the message does not start with an MSH segment")]
    NoMsh,
    #[error("MSH-1/MSH-2 do not declare five distinct separators")]
    BadSeparators,
    #[error("segment {0}: the segment id {1:?} is not three upper-case letters or digits")]
    BadSegmentId(usize, String),
}

/// One segment: its id and fields (field 1 is `fields[0]`), each field a list of repetitions, each a
/// list of components, each a list of subcomponents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub id: String,
    fields: Vec<Vec<Vec<Vec<String>>>>,
}

impl Segment {
    pub fn new(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            fields: Vec::new(),
        }
    }

    /// The value at field `f` (1-based), repetition `r` (0-based), component `c` and subcomponent
    /// `s` (1-based); "" when absent.
    pub fn at(&self, f: usize, r: usize, c: usize, s: usize) -> &str {
        f.checked_sub(1)
            .and_then(|f| self.fields.get(f))
            .and_then(|field| field.get(r))
            .and_then(|rep| c.checked_sub(1).and_then(|c| rep.get(c)))
            .and_then(|comp| s.checked_sub(1).and_then(|s| comp.get(s)))
            .map_or("", String::as_str)
    }

    /// The first component of field `f`'s first repetition.
    pub fn field(&self, f: usize) -> &str {
        self.at(f, 0, 1, 1)
    }

    /// Component `c` of field `f`'s first repetition.
    pub fn component(&self, f: usize, c: usize) -> &str {
        self.at(f, 0, c, 1)
    }

    /// The number of repetitions of field `f`.
    pub fn repetitions(&self, f: usize) -> usize {
        f.checked_sub(1)
            .and_then(|f| self.fields.get(f))
            .map_or(0, Vec::len)
    }

    /// Sets field `f` to one repetition of the given components (each without subcomponents).
    pub fn set(mut self, f: usize, components: &[&str]) -> Self {
        self.set_repetitions(f, &[components]);
        self
    }

    /// Sets field `f` to several repetitions.
    pub fn set_repetitions(&mut self, f: usize, repetitions: &[&[&str]]) {
        if f == 0 {
            return;
        }
        if self.fields.len() < f {
            self.fields.resize(f, Vec::new());
        }
        self.fields[f - 1] = repetitions
            .iter()
            .map(|comps| comps.iter().map(|c| vec![(*c).to_owned()]).collect())
            .collect();
    }
}

/// A parsed message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub separators: Separators,
    pub segments: Vec<Segment>,
}

impl Message {
    /// Reads an ER7 message. Segments end with CR (LF and CR LF are accepted too); empty lines are
    /// skipped.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let text = text.trim_start_matches(['\u{feff}', '\r', '\n', ' ']);
        if text.trim().is_empty() {
            return Err(ParseError::Empty);
        }
        if !text.starts_with("MSH") {
            return Err(ParseError::NoMsh);
        }
        let mut chars = text[3..].chars();
        let field = chars.next().ok_or(ParseError::BadSeparators)?;
        let enc: Vec<char> = chars.take_while(|c| *c != field).collect();
        if enc.len() < 4 {
            return Err(ParseError::BadSeparators);
        }
        let separators = Separators {
            field,
            component: enc[0],
            repetition: enc[1],
            escape: enc[2],
            subcomponent: enc[3],
        };
        let all = [field, enc[0], enc[1], enc[2], enc[3]];
        let distinct = all
            .iter()
            .enumerate()
            .all(|(i, a)| all[i + 1..].iter().all(|b| a != b));
        if !distinct
            || all
                .iter()
                .any(|c| c.is_alphanumeric() || *c == '\r' || *c == '\n')
        {
            return Err(ParseError::BadSeparators);
        }
        let mut segments = Vec::new();
        for (i, line) in text
            .split(['\r', '\n'])
            .filter(|l| !l.trim().is_empty())
            .enumerate()
        {
            segments.push(parse_segment(line, &separators, i == 0, i + 1)?);
        }
        Ok(Self {
            separators,
            segments,
        })
    }

    /// The first segment with `id`.
    pub fn segment(&self, id: &str) -> Option<&Segment> {
        self.segments.iter().find(|s| s.id == id)
    }

    /// The message header (always present in a parsed message).
    pub fn msh(&self) -> &Segment {
        &self.segments[0]
    }

    /// Writes the message in ER7, segments ended by CR, values escaped.
    pub fn to_er7(&self) -> String {
        let sep = &self.separators;
        let mut out = String::new();
        for seg in &self.segments {
            out.push_str(&seg.id);
            let is_msh = seg.id == "MSH";
            for (i, field) in seg.fields.iter().enumerate() {
                if is_msh && i == 0 {
                    out.push(sep.field);
                    continue;
                }
                if is_msh && i == 1 {
                    out.extend([sep.component, sep.repetition, sep.escape, sep.subcomponent]);
                    continue;
                }
                out.push(sep.field);
                let reps: Vec<String> = field
                    .iter()
                    .map(|rep| {
                        let comps: Vec<String> = rep
                            .iter()
                            .map(|comp| {
                                let subs: Vec<String> =
                                    comp.iter().map(|s| escape(s, sep)).collect();
                                subs.join(&sep.subcomponent.to_string())
                            })
                            .collect();
                        trim_trailing(comps, sep.component)
                    })
                    .collect();
                out.push_str(&reps.join(&sep.repetition.to_string()));
            }
            out.push('\r');
        }
        out
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_er7())
    }
}

fn trim_trailing(mut comps: Vec<String>, sep: char) -> String {
    while comps.len() > 1 && comps.last().is_some_and(String::is_empty) {
        comps.pop();
    }
    comps.join(&sep.to_string())
}

/// A header segment with the standard separators: MSH-1 and MSH-2 set, the rest to fill in.
pub fn msh() -> Segment {
    let mut s = Segment::new("MSH");
    s.fields = vec![
        vec![vec![vec!["|".into()]]],
        vec![vec![vec!["^~\\&".into()]]],
    ];
    s
}

fn parse_segment(
    line: &str,
    sep: &Separators,
    first: bool,
    number: usize,
) -> Result<Segment, ParseError> {
    let mut parts = line.split(sep.field);
    let id = parts.next().unwrap_or_default().to_owned();
    if id.len() != 3
        || !id
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return Err(ParseError::BadSegmentId(number, id));
    }
    let mut fields = Vec::new();
    if first {
        // MSH-1 is the field separator and MSH-2 the encoding characters, kept literally.
        fields.push(vec![vec![vec![sep.field.to_string()]]]);
        let enc = parts.next().unwrap_or_default();
        fields.push(vec![vec![vec![enc.to_owned()]]]);
    }
    for raw in parts {
        fields.push(
            raw.split(sep.repetition)
                .map(|rep| {
                    rep.split(sep.component)
                        .map(|comp| {
                            comp.split(sep.subcomponent)
                                .map(|s| unescape(s, sep))
                                .collect()
                        })
                        .collect()
                })
                .collect(),
        );
    }
    Ok(Segment { id, fields })
}

/// Replaces the escape sequences of a value. An unknown or unterminated sequence is kept as text.
pub fn unescape(value: &str, sep: &Separators) -> String {
    if !value.contains(sep.escape) {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find(sep.escape) {
        out.push_str(&rest[..start]);
        let after = &rest[start + sep.escape.len_utf8()..];
        let Some(end) = after.find(sep.escape) else {
            out.push_str(&rest[start..]);
            return out;
        };
        let code = &after[..end];
        match code {
            "F" => out.push(sep.field),
            "S" => out.push(sep.component),
            "T" => out.push(sep.subcomponent),
            "R" => out.push(sep.repetition),
            "E" => out.push(sep.escape),
            ".br" => out.push('\n'),
            _ if code.starts_with('X') && code.len() > 1 => match hex_text(&code[1..]) {
                Some(text) => out.push_str(&text),
                None => {
                    out.push(sep.escape);
                    out.push_str(code);
                    out.push(sep.escape);
                }
            },
            _ => {
                out.push(sep.escape);
                out.push_str(code);
                out.push(sep.escape);
            }
        }
        rest = &after[end + sep.escape.len_utf8()..];
    }
    out.push_str(rest);
    out
}

fn hex_text(hex: &str) -> Option<String> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

/// Escapes the separators (and line breaks) in a value.
pub fn escape(value: &str, sep: &Separators) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        let code = match c {
            _ if c == sep.escape => "E",
            _ if c == sep.field => "F",
            _ if c == sep.component => "S",
            _ if c == sep.subcomponent => "T",
            _ if c == sep.repetition => "R",
            '\n' => ".br",
            '\r' => continue,
            _ => {
                out.push(c);
                continue;
            }
        };
        out.push(sep.escape);
        out.push_str(code);
        out.push(sep.escape);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const VXU: &str = "MSH|^~\\&|EHR|Clinic|VRS|382060|20210601120000||VXU^V04^VXU_V04|MSG001|P|2.5.1\rPID|1||100001^^^382060^PI~0000000010^^^382060^CPN||西条^花子||19500401|F\r";

    #[test]
    fn fields_follow_hl7_numbering() {
        let m = Message::parse(VXU).unwrap();
        let msh = m.msh();
        assert_eq!(msh.field(1), "|");
        assert_eq!(msh.field(2), "^~\\&");
        assert_eq!(msh.component(9, 1), "VXU");
        assert_eq!(msh.component(9, 2), "V04");
        assert_eq!(msh.field(10), "MSG001");
        assert_eq!(msh.field(12), "2.5.1");
        let pid = m.segment("PID").unwrap();
        assert_eq!(pid.repetitions(3), 2);
        assert_eq!(pid.at(3, 1, 5, 1), "CPN");
        assert_eq!(pid.component(5, 2), "花子");
        assert_eq!(pid.field(99), "");
    }

    #[test]
    fn escapes_are_read_and_written() {
        let sep = Separators::default();
        assert_eq!(
            unescape("a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f", &sep),
            "a|b^c&d~e\\f"
        );
        assert_eq!(unescape("\\X4142\\ and \\.br\\", &sep), "AB and \n");
        assert_eq!(unescape("unterminated \\F", &sep), "unterminated \\F");
        assert_eq!(unescape("\\Z99\\", &sep), "\\Z99\\");
        let seg = msh().set(3, &["a|b^c"]);
        let m = Message {
            separators: sep,
            segments: vec![seg],
        };
        let text = m.to_er7();
        assert!(text.starts_with("MSH|^~\\&|a\\F\\b\\S\\c\r"), "{text}");
        assert_eq!(Message::parse(&text).unwrap().msh().field(3), "a|b^c");
    }

    #[test]
    fn other_separators_declared_in_msh_are_used() {
        let m = Message::parse("MSH#*!@%#A*B#C\nPID#1##X!Y").unwrap();
        assert_eq!(m.msh().component(3, 2), "B");
        assert_eq!(m.segment("PID").unwrap().at(3, 1, 1, 1), "Y");
    }

    #[test]
    fn broken_messages_are_named() {
        assert_eq!(Message::parse("  "), Err(ParseError::Empty));
        assert_eq!(Message::parse("PID|1"), Err(ParseError::NoMsh));
        assert_eq!(
            Message::parse("MSH|^^\\&|x"),
            Err(ParseError::BadSeparators)
        );
        assert_eq!(
            Message::parse("MSH|^~\\&|x\rpid|1"),
            Err(ParseError::BadSegmentId(2, "pid".into()))
        );
    }

    proptest! {
        #[test]
        fn any_text_survives_escaping(value in "\\PC{0,40}") {
            let sep = Separators::default();
            let value = value.replace('\r', "");
            prop_assert_eq!(unescape(&escape(&value, &sep), &sep), value);
        }

        #[test]
        fn parsing_any_text_never_panics(text in "\\PC{0,200}") {
            let _ = Message::parse(&text);
        }
    }
}
