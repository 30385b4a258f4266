//! The certificate's text: the embedded font, shaping a string into positioned glyphs (so a line
//! can be measured before it is placed), and wrapping text to a column width with the Japanese
//! line-breaking rules that matter on a form (no line starts with 、。）, none ends with （).

use std::sync::OnceLock;

use krilla::text::{Font, GlyphId, KrillaGlyph};

use super::PdfError;

/// BIZ UDPGothic, subset to the JIS character sets (see `fonts/README.md`).
static FONT_DATA: &[u8] = include_bytes!("../../fonts/BIZUDPGothic-JIS.ttf");

/// Characters a line may not start with (closing brackets, punctuation, small kana, and the
/// slash so "Original/Omicron" breaks after it).
const NO_LINE_START: &str =
    "、。，．・：；？！ー）」』】〕〉》)]}.,:;?!/ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ々";
/// Characters a line may not end with (opening brackets).
const NO_LINE_END: &str = "（「『【〔〈《([{";

/// One shaped line of text: its glyphs with advances in em, and the text they came from (the
/// PDF maps the glyphs back to it for search and copy).
#[derive(Debug, Clone)]
pub(super) struct Line {
    pub text: String,
    pub glyphs: Vec<KrillaGlyph>,
    advance_em: f32,
}

impl Line {
    /// The line's width in points at `size`.
    pub fn width(&self, size: f32) -> f32 {
        self.advance_em * size
    }
}

/// Shapes text with the certificate font.
pub(super) struct Shaper {
    face: rustybuzz::Face<'static>,
    font: Font,
}

impl Shaper {
    pub fn new() -> Result<Self, PdfError> {
        let face = rustybuzz::Face::from_slice(FONT_DATA, 0).ok_or(PdfError::Font)?;
        Ok(Shaper {
            face,
            font: pdf_font()?,
        })
    }

    /// The font as the PDF writer embeds it.
    pub fn font(&self) -> Font {
        self.font.clone()
    }

    /// Shapes `text` as one line. `field` names the text in the error when a character has no
    /// glyph in the font.
    pub fn shape(&self, text: &str, field: &'static str) -> Result<Line, PdfError> {
        let mut buffer = rustybuzz::UnicodeBuffer::new();
        buffer.push_str(text);
        buffer.set_direction(rustybuzz::Direction::LeftToRight);
        buffer.guess_segment_properties();
        let output = rustybuzz::shape(&self.face, &[], buffer);
        let upem = self.face.units_per_em() as f32;
        let infos = output.glyph_infos();
        let positions = output.glyph_positions();
        let mut glyphs = Vec::with_capacity(infos.len());
        let mut advance = 0;
        for (i, (info, pos)) in infos.iter().zip(positions).enumerate() {
            let start = info.cluster as usize;
            if info.glyph_id == 0 {
                let character = text
                    .get(start..)
                    .and_then(|rest| rest.chars().next())
                    .unwrap_or(char::REPLACEMENT_CHARACTER);
                return Err(PdfError::UnsupportedCharacter { character, field });
            }
            // Left to right, clusters never decrease: a cluster ends where the next one starts.
            let end = infos[i + 1..]
                .iter()
                .map(|next| next.cluster as usize)
                .find(|&next| next != start)
                .unwrap_or(text.len());
            advance += pos.x_advance;
            glyphs.push(KrillaGlyph::new(
                GlyphId::new(info.glyph_id),
                pos.x_advance as f32 / upem,
                pos.x_offset as f32 / upem,
                pos.y_offset as f32 / upem,
                pos.y_advance as f32 / upem,
                start..end,
                None,
            ));
        }
        Ok(Line {
            text: text.to_owned(),
            glyphs,
            advance_em: advance as f32 / upem,
        })
    }

    /// Shapes `text` into lines no wider than `width` points at `size`. Breaks between
    /// Japanese characters, after spaces and slashes, and inside a word only when a
    /// word alone is wider than the column.
    pub fn wrap(
        &self,
        text: &str,
        size: f32,
        width: f32,
        field: &'static str,
    ) -> Result<Vec<Line>, PdfError> {
        let whole = self.shape(text, field)?;
        if whole.width(size) <= width {
            return Ok(vec![whole]);
        }
        // Each cluster's start (byte) and the pen position before it, in points.
        let mut clusters: Vec<(usize, f32)> = Vec::new();
        let mut x = 0.0;
        for glyph in &whole.glyphs {
            if clusters.last().map(|&(start, _)| start) != Some(glyph.text_range.start) {
                clusters.push((glyph.text_range.start, x));
            }
            x += glyph.x_advance * size;
        }
        clusters.push((text.len(), x));

        let mut lines = Vec::new();
        let mut first = 0; // index of the line's first cluster
        let mut last_break = None; // a cluster the line may end before
        let mut k = 1;
        while k < clusters.len() {
            let overflows = clusters[k].1 - clusters[first].1 > width;
            if overflows && k - 1 > first {
                let end = last_break.filter(|&b| b > first).unwrap_or(k - 1);
                lines.push(&text[clusters[first].0..clusters[end].0]);
                first = end;
                last_break = None;
                k = first + 1;
                continue;
            }
            if k + 1 < clusters.len() && may_break_before(text, clusters[k].0) {
                last_break = Some(k);
            }
            k += 1;
        }
        lines.push(&text[clusters[first].0..]);
        lines
            .into_iter()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(|line| self.shape(line, field))
            .collect()
    }
}

/// The krilla font, made once: it hashes the font data, which is a few megabytes.
fn pdf_font() -> Result<Font, PdfError> {
    static FONT: OnceLock<Option<Font>> = OnceLock::new();
    FONT.get_or_init(|| Font::new(FONT_DATA.into(), 0))
        .clone()
        .ok_or(PdfError::Font)
}

/// Whether a line may break before the character at byte `at` of `text`.
fn may_break_before(text: &str, at: usize) -> bool {
    let (Some(prev), Some(next)) = (
        text.get(..at).and_then(|s| s.chars().next_back()),
        text.get(at..).and_then(|s| s.chars().next()),
    ) else {
        return false;
    };
    if NO_LINE_START.contains(next) || NO_LINE_END.contains(prev) {
        return false;
    }
    prev.is_whitespace() || prev == '/' || is_wide(prev) || is_wide(next)
}

/// Characters set on a full-width grid (kana, kanji, full-width forms): a line may break
/// between any two of them.
fn is_wide(c: char) -> bool {
    matches!(u32::from(c), 0x2E80..=0x9FFF | 0xF900..=0xFAFF | 0xFF00..=0xFF60 | 0x20000..=0x3FFFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_lines_fit_and_keep_every_character() {
        let shaper = Shaper::new().unwrap();
        let text = "スパイクバックス筋注（２価：起源株／オミクロン株BA.4-5）";
        let lines = shaper.wrap(text, 9.0, 80.0, "test").unwrap();
        assert!(lines.len() > 1);
        for line in &lines {
            assert!(line.width(9.0) <= 80.0, "{} is too wide", line.text);
            assert!(!line.text.starts_with('）'));
        }
        let joined: String = lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(joined, text);
    }

    #[test]
    fn latin_text_breaks_between_words() {
        let shaper = Shaper::new().unwrap();
        let lines = shaper
            .wrap(
                "Spikevax Bivalent Original/Omicron BA.4-5",
                8.0,
                70.0,
                "test",
            )
            .unwrap();
        assert_eq!(lines[0].text, "Spikevax");
        assert!(lines.iter().all(|l| l.width(8.0) <= 70.0));
    }

    #[test]
    fn a_character_outside_the_font_is_refused_by_name() {
        let shaper = Shaper::new().unwrap();
        let err = shaper.shape("山田 \u{20BB7}", "name").unwrap_err();
        assert!(matches!(
            err,
            PdfError::UnsupportedCharacter {
                character: '\u{20BB7}',
                field: "name"
            }
        ));
    }
}
