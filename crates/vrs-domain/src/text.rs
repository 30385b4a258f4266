//! Text normalisation shared by every parser: full-width ASCII (digits, letters, punctuation,
//! the ideographic space) becomes plain ASCII, and surrounding whitespace is trimmed.
//!
//! Registry exports, OCR output and hand-typed forms in Japan mix `２０２１` with `2021`;
//! normalising once here lets each parser accept both without its own special cases.

use std::borrow::Cow;

/// Full-width digits/letters/space → ASCII, trims ASCII and U+3000 whitespace.
///
/// Every character of the full-width ASCII block (U+FF01–U+FF5E: digits, letters and
/// punctuation such as `／` `－` `．`) maps to its ASCII twin, and the ideographic space U+3000 to
/// a plain space. Leading and trailing whitespace (Unicode `White_Space`, which includes U+3000)
/// is trimmed. Borrows when nothing but trimming was needed.
pub fn normalize_digits(s: &str) -> Cow<'_, str> {
    let trimmed = s.trim_matches(char::is_whitespace);
    if trimmed.chars().any(|c| fold_char(c) != c) {
        Cow::Owned(trimmed.chars().map(fold_char).collect())
    } else {
        Cow::Borrowed(trimmed)
    }
}

/// One character of [`normalize_digits`]: full-width ASCII and U+3000 to ASCII, others unchanged.
pub fn fold_char(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// Trims Unicode whitespace (ASCII and U+3000 included) without any other change.
pub(crate) fn trim(s: &str) -> &str {
    s.trim_matches(char::is_whitespace)
}

/// A byte array the crate itself filled with ASCII digits, viewed as `&str`.
pub(crate) fn ascii_str(bytes: &[u8]) -> &str {
    // Callers only store bytes that passed `is_ascii_digit`, so this never falls back.
    std::str::from_utf8(bytes).unwrap_or_default()
}

/// Copies exactly `N` ASCII digits into an array, or `None`.
pub(crate) fn digits_array<const N: usize>(s: &str) -> Option<[u8; N]> {
    let bytes = s.as_bytes();
    if bytes.len() != N || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut out = [0u8; N];
    out.copy_from_slice(bytes);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_digits_become_ascii() {
        assert_eq!(normalize_digits("３８２０６０"), "382060");
        assert_eq!(normalize_digits("Ｒ０３．０５．２７"), "R03.05.27");
        assert_eq!(normalize_digits("ａｂｃ"), "abc");
    }

    #[test]
    fn surrounding_whitespace_including_ideographic_space_is_trimmed() {
        assert_eq!(normalize_digits("\u{3000} 382060\t\u{3000}"), "382060");
        assert_eq!(normalize_digits("a\u{3000}b"), "a b");
    }

    #[test]
    fn untouched_input_is_borrowed() {
        assert!(matches!(
            normalize_digits(" 382060 "),
            Cow::Borrowed("382060")
        ));
        assert!(matches!(normalize_digits("３"), Cow::Owned(_)));
    }

    #[test]
    fn non_ascii_text_is_left_alone() {
        assert_eq!(normalize_digits("令和３年"), "令和3年");
        assert_eq!(normalize_digits("ヤマダ"), "ヤマダ");
    }

    #[test]
    fn digits_array_requires_exact_length_of_ascii_digits() {
        assert_eq!(digits_array::<3>("123"), Some(*b"123"));
        assert_eq!(digits_array::<3>("12"), None);
        assert_eq!(digits_array::<3>("12a"), None);
        assert_eq!(digits_array::<3>("１２３"), None);
    }
}
