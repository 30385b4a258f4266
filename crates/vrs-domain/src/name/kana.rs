//! Folding a reading into full-width katakana: hiragana shifted to katakana, half-width
//! katakana widened, and voiced / semi-voiced marks (half-width, spacing or combining) composed
//! with the kana before them.

use super::NameError;

/// Half-width ｱ (U+FF71) … ﾝ (U+FF9D), in code point order.
const HALF_WIDTH_BASIC: &str =
    "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン";
/// Half-width ｧ (U+FF67) … ｯ (U+FF6F), in code point order.
const HALF_WIDTH_SMALL: &str = "ァィゥェォャュョッ";

/// The reading in full-width katakana, or the first character that has no place in one.
pub(super) fn to_katakana(s: &str) -> Result<String, NameError> {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            // Voiced (dakuten) and semi-voiced (handakuten) marks: half-width, combining, spacing.
            '\u{FF9E}' | '\u{3099}' | '\u{309B}' => compose(&mut out, ch, voiced)?,
            '\u{FF9F}' | '\u{309A}' | '\u{309C}' => compose(&mut out, ch, semi_voiced)?,
            _ => out.push(fold(ch).ok_or(NameError::InvalidCharacter { ch })?),
        }
    }
    Ok(out)
}

/// One character to full-width katakana (or a space), if it belongs in a reading at all.
fn fold(ch: char) -> Option<char> {
    match ch {
        'ァ'..='ヺ' | 'ー' | '・' | 'ヽ' | 'ヾ' | ' ' | '\u{3000}' => Some(ch),
        'ぁ'..='ゖ' | 'ゝ' | 'ゞ' => char::from_u32(ch as u32 + 0x60),
        '\u{FF65}' => Some('・'),
        '\u{FF70}' => Some('ー'),
        '\u{FF66}' => Some('ヲ'),
        '\u{FF67}'..='\u{FF6F}' => HALF_WIDTH_SMALL.chars().nth((ch as u32 - 0xFF67) as usize),
        '\u{FF71}'..='\u{FF9D}' => HALF_WIDTH_BASIC.chars().nth((ch as u32 - 0xFF71) as usize),
        _ => None,
    }
}

/// Replaces the last kana with its marked form, or refuses the mark.
fn compose(out: &mut String, mark: char, with: fn(char) -> Option<char>) -> Result<(), NameError> {
    let marked = out.chars().next_back().and_then(with);
    match marked {
        Some(m) => {
            out.pop();
            out.push(m);
            Ok(())
        }
        None => Err(NameError::InvalidCharacter { ch: mark }),
    }
}

fn voiced(c: char) -> Option<char> {
    match c {
        'カ' | 'キ' | 'ク' | 'ケ' | 'コ' | 'サ' | 'シ' | 'ス' | 'セ' | 'ソ' | 'タ' | 'チ'
        | 'ツ' | 'テ' | 'ト' | 'ハ' | 'ヒ' | 'フ' | 'ヘ' | 'ホ' => {
            char::from_u32(c as u32 + 1)
        }
        'ウ' => Some('ヴ'),
        'ワ' => Some('ヷ'),
        'ヰ' => Some('ヸ'),
        'ヱ' => Some('ヹ'),
        'ヲ' => Some('ヺ'),
        'ヽ' => Some('ヾ'),
        _ => None,
    }
}

fn semi_voiced(c: char) -> Option<char> {
    match c {
        'ハ' | 'ヒ' | 'フ' | 'ヘ' | 'ホ' => char::from_u32(c as u32 + 2),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_half_width_tables_line_up_with_their_code_points() {
        assert_eq!(HALF_WIDTH_BASIC.chars().count(), 0xFF9D - 0xFF71 + 1);
        assert_eq!(HALF_WIDTH_SMALL.chars().count(), 0xFF6F - 0xFF67 + 1);
        assert_eq!(fold('ｱ'), Some('ア'));
        assert_eq!(fold('ﾝ'), Some('ン'));
        assert_eq!(fold('ｯ'), Some('ッ'));
        assert_eq!(fold('ﾜ'), Some('ワ'));
    }

    #[test]
    fn every_voiceable_kana_gets_its_voiced_form() {
        let pairs = [
            ('カ', 'ガ'),
            ('ト', 'ド'),
            ('ツ', 'ヅ'),
            ('ハ', 'バ'),
            ('ホ', 'ボ'),
            ('ウ', 'ヴ'),
        ];
        for (plain, v) in pairs {
            assert_eq!(voiced(plain), Some(v));
        }
        assert_eq!(semi_voiced('ヘ'), Some('ペ'));
        assert_eq!(voiced('ア'), None);
        assert_eq!(voiced('ッ'), None);
        assert_eq!(semi_voiced('カ'), None);
    }
}
