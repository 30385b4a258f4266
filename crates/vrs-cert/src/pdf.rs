//! The printable vaccination certificate (接種証明書): one bilingual Japanese/English A4 document
//! per certificate, as a municipality's counter hands it out, with the certificate's 2D codes.
//!
//! The caller gathers what the certificate says into a [`CertificateDocument`] (already decided:
//! which doses, which codes, which name form) and [`render`] turns it into PDF bytes. Rendering
//! is pure and deterministic: the same document gives the same bytes (the PDF's creation date
//! is the issue date), so a reissued certificate can be compared byte for byte.
//!
//! The text is set in BIZ UDPGothic (`fonts/`, see its README), embedded as a subset of the
//! glyphs used with a ToUnicode map, so the text can be searched and copied. Every character
//! of a resident's name must be in the font: one that is not is refused
//! ([`PdfError::UnsupportedCharacter`]) rather than printed as an empty box. QR codes are drawn
//! as vector squares with their quiet zone, so they stay crisp at any printer resolution.
//!
//! `layout` places everything on pages, `text` shapes and wraps lines, `draw` writes the PDF.

mod draw;
mod layout;
mod text;

use chrono::NaiveDate;
use vrs_domain::certificate::CertificateKind;
use vrs_domain::DoseStatement;

/// Everything a printed certificate shows.
#[derive(Debug, Clone)]
pub struct CertificateDocument {
    pub kind: CertificateKind,
    /// The certificate ID as printed (e.g. `131016-7K3M9Q2XWZ4HC`).
    pub certificate_id: String,
    pub issued_on: NaiveDate,
    /// The issuer as the certificate names it in Japanese, e.g. 千代田区長.
    pub issuer_ja: String,
    /// The issuer in English, e.g. "Mayor of Chiyoda City".
    pub issuer_en: String,
    pub holder: Holder,
    /// The doses, in the order they are printed (normally by dose number). A row prints the dose
    /// number, the date, the product (its type, name and maker) and the lot; not where the dose
    /// was given, the venue or the doctor.
    pub doses: Vec<DoseStatement>,
    /// The 2D codes, printed side by side in this order (at most three fit a row; more wrap).
    pub codes: Vec<CodeBlock>,
}

/// The person the certificate is about. A domestic certificate prints the kanji and kana name;
/// an overseas one the name as in the passport, the nationality and the passport number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// 氏名 as registered, e.g. "山田 太郎".
    pub name_kanji: String,
    /// フリガナ, e.g. "ヤマダ タロウ".
    pub name_kana: String,
    /// The name as in the passport, e.g. "YAMADA TARO" (overseas certificates).
    pub name_romaji: String,
    pub birth_date: NaiveDate,
    /// As in the passport, e.g. "JPN" or "日本 / JAPAN" (overseas certificates).
    pub nationality: Option<String>,
    /// 旅券番号 (overseas certificates).
    pub passport_number: Option<String>,
}

/// A 2D code with the short caption printed under it (e.g. "SMART Health Card").
#[derive(Clone)]
pub struct CodeBlock {
    pub caption_ja: String,
    pub caption_en: String,
    pub code: qrcode::QrCode,
}

impl std::fmt::Debug for CodeBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeBlock")
            .field("caption_en", &self.caption_en)
            .field("modules", &self.code.width())
            .finish_non_exhaustive()
    }
}

/// Why a certificate could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PdfError {
    /// A character the certificate font has no glyph for (e.g. a 外字 outside JIS X 0213 in a
    /// name); the record should use the registered standard form of the character.
    #[error("the character {character:?} (U+{code:04X}) in {field} cannot be printed: the certificate font has no glyph for it", code = u32::from(*character))]
    UnsupportedCharacter {
        character: char,
        field: &'static str,
    },
    #[error("a certificate needs at least one dose")]
    NoDoses,
    /// The embedded font could not be read (a broken build, not bad input).
    #[error("the certificate font could not be loaded")]
    Font,
    /// The PDF writer refused the document.
    #[error("the PDF could not be written: {0}")]
    Write(String),
}

/// Renders the certificate as a PDF (A4 portrait; a second page only when the doses do not fit
/// on one).
pub fn render(doc: &CertificateDocument) -> Result<Vec<u8>, PdfError> {
    if doc.doses.is_empty() {
        return Err(PdfError::NoDoses);
    }
    let shaper = text::Shaper::new()?;
    let pages = layout::lay_out(doc, &shaper)?;
    draw::write(doc, &shaper, &pages)
}
