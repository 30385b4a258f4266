//! CSV as VRS writes it: UTF-8 with a BOM or CP932, CRLF, fields quoted when they must be, and
//! no cell a spreadsheet would run as a formula.

use std::io::{self, Write};

use crate::targets::Encoding;

/// CSV output in an encoding: fields quoted when they must be, CRLF, a BOM for UTF-8, and a
/// character CP932 lacks refused with the row and field it is in.
/// A cell that a spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`, a tab or a
/// carriage return — text typed at a site, such as a venue or a doctor's name) is written with a
/// leading `'`, so Excel on an LG-WAN PC shows it as text and runs nothing. Other cells are
/// written as they are.
pub(crate) fn neutralise(field: &str) -> Option<String> {
    field
        .starts_with(['=', '+', '-', '@', '\t', '\r'])
        .then(|| format!("'{field}"))
}

/// Writes CSV rows in UTF-8 (with a BOM) or CP932, every cell through [`neutralise`].
pub(crate) struct CsvOut<W: Write> {
    out: W,
    encoding: Encoding,
    line: String,
}

impl<W: Write> CsvOut<W> {
    pub(crate) fn start(mut out: W, encoding: Encoding) -> io::Result<Self> {
        if encoding == Encoding::Utf8 {
            // Excel opens UTF-8 CSV as such only with a BOM.
            out.write_all("\u{feff}".as_bytes())?;
        }
        Ok(Self {
            out,
            encoding,
            line: String::with_capacity(256),
        })
    }

    /// Writes one row; `atena` and `column(i)` name a field that cannot be encoded.
    pub(crate) fn row(
        &mut self,
        atena: &str,
        fields: &[String],
        column: impl Fn(usize) -> String,
    ) -> io::Result<()> {
        self.line.clear();
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                self.line.push(',');
            }
            let neutral;
            let field = match neutralise(field) {
                Some(text) => {
                    neutral = text;
                    &neutral
                }
                None => field,
            };
            if field.contains([',', '"', '\r', '\n']) {
                self.line.push('"');
                self.line.push_str(&field.replace('"', "\"\""));
                self.line.push('"');
            } else {
                self.line.push_str(field);
            }
        }
        self.line.push_str("\r\n");
        match self.encoding {
            Encoding::Utf8 => self.out.write_all(self.line.as_bytes()),
            Encoding::Cp932 => {
                let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&self.line);
                if !unmappable {
                    return self.out.write_all(&bytes);
                }
                for (i, field) in fields.iter().enumerate() {
                    if let Some(ch) = field.chars().find(|c| !cp932_has(*c)) {
                        let whose = if atena.is_empty() {
                            "the header".to_owned()
                        } else {
                            format!("atena number {atena}")
                        };
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!(
                                "{whose}, {}: the character {ch:?} (U+{:04X}) cannot be written in CP932",
                                column(i),
                                u32::from(ch)
                            ),
                        ));
                    }
                }
                Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "a character cannot be written in CP932",
                ))
            }
        }
    }

    pub(crate) fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    pub(crate) fn finish(mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn cp932_has(c: char) -> bool {
    let mut buf = [0u8; 4];
    !encoding_rs::SHIFT_JIS.encode(c.encode_utf8(&mut buf)).2
}
