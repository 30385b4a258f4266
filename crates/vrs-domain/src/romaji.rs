//! Kana to Latin letters the way Japanese passports write names (ヘボン式, passport Hepburn): long
//! vowels are not marked (おう/おお → O, うう → U), ん before B, M or P is M (ほんま → HOMMA), っ
//! doubles the next consonant (っち → TCH). Certificates need it for names on codes read abroad (the
//! EU DCC's transliterated `fnt`/`gnt`) and for municipalities' English names.

/// The romaji of one kana (hiragana), or of a kana followed by a small ゃ/ゅ/ょ (two characters).
fn syllable(kana: &str) -> Option<&'static str> {
    Some(match kana {
        "あ" => "a",
        "い" => "i",
        "う" => "u",
        "え" => "e",
        "お" => "o",
        "か" => "ka",
        "き" => "ki",
        "く" => "ku",
        "け" => "ke",
        "こ" => "ko",
        "さ" => "sa",
        "し" => "shi",
        "す" => "su",
        "せ" => "se",
        "そ" => "so",
        "た" => "ta",
        "ち" => "chi",
        "つ" => "tsu",
        "て" => "te",
        "と" => "to",
        "な" => "na",
        "に" => "ni",
        "ぬ" => "nu",
        "ね" => "ne",
        "の" => "no",
        "は" => "ha",
        "ひ" => "hi",
        "ふ" => "fu",
        "へ" => "he",
        "ほ" => "ho",
        "ま" => "ma",
        "み" => "mi",
        "む" => "mu",
        "め" => "me",
        "も" => "mo",
        "や" => "ya",
        "ゆ" => "yu",
        "よ" => "yo",
        "ら" => "ra",
        "り" => "ri",
        "る" => "ru",
        "れ" => "re",
        "ろ" => "ro",
        "わ" => "wa",
        "ゐ" => "i",
        "ゑ" => "e",
        "を" => "o",
        "が" => "ga",
        "ぎ" => "gi",
        "ぐ" => "gu",
        "げ" => "ge",
        "ご" => "go",
        "ざ" => "za",
        "じ" => "ji",
        "ず" => "zu",
        "ぜ" => "ze",
        "ぞ" => "zo",
        "だ" => "da",
        "ぢ" => "ji",
        "づ" => "zu",
        "で" => "de",
        "ど" => "do",
        "ば" => "ba",
        "び" => "bi",
        "ぶ" => "bu",
        "べ" => "be",
        "ぼ" => "bo",
        "ぱ" => "pa",
        "ぴ" => "pi",
        "ぷ" => "pu",
        "ぺ" => "pe",
        "ぽ" => "po",
        "ゔ" => "bu",
        "ぁ" => "a",
        "ぃ" => "i",
        "ぅ" => "u",
        "ぇ" => "e",
        "ぉ" => "o",
        "ゃ" => "ya",
        "ゅ" => "yu",
        "ょ" => "yo",
        "きゃ" => "kya",
        "きゅ" => "kyu",
        "きょ" => "kyo",
        "しゃ" => "sha",
        "しゅ" => "shu",
        "しょ" => "sho",
        "ちゃ" => "cha",
        "ちゅ" => "chu",
        "ちょ" => "cho",
        "にゃ" => "nya",
        "にゅ" => "nyu",
        "にょ" => "nyo",
        "ひゃ" => "hya",
        "ひゅ" => "hyu",
        "ひょ" => "hyo",
        "みゃ" => "mya",
        "みゅ" => "myu",
        "みょ" => "myo",
        "りゃ" => "rya",
        "りゅ" => "ryu",
        "りょ" => "ryo",
        "ぎゃ" => "gya",
        "ぎゅ" => "gyu",
        "ぎょ" => "gyo",
        "じゃ" => "ja",
        "じゅ" => "ju",
        "じょ" => "jo",
        "ぢゃ" => "ja",
        "ぢゅ" => "ju",
        "ぢょ" => "jo",
        "びゃ" => "bya",
        "びゅ" => "byu",
        "びょ" => "byo",
        "ぴゃ" => "pya",
        "ぴゅ" => "pyu",
        "ぴょ" => "pyo",
        _ => return None,
    })
}

/// Katakana to hiragana (the two scripts are 0x60 apart); anything else unchanged.
fn to_hiragana(c: char) -> char {
    match c {
        'ァ'..='ヶ' => char::from_u32(c as u32 - 0x60).unwrap_or(c),
        _ => c,
    }
}

/// A kana text that has no romaji: the first character that is not kana.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("「{0}」 cannot be written in romaji (only kana, spaces and ー are)")]
pub struct RomajiError(pub char);

/// The passport Hepburn romaji of a kana text, in upper case; words stay separated by one space.
pub fn hepburn(kana: &str) -> Result<String, RomajiError> {
    let chars: Vec<char> = kana.chars().map(to_hiragana).collect();
    let mut out = String::new();
    let mut double_next = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
            i += 1;
            continue;
        }
        match c {
            'っ' => {
                double_next = true;
                i += 1;
                continue;
            }
            // A long-vowel mark is not written in passport Hepburn.
            'ー' => {
                i += 1;
                continue;
            }
            'ん' => {
                let next = chars.get(i + 1).and_then(|n| syllable(&n.to_string()));
                let labial = next.is_some_and(|s| matches!(s.as_bytes()[0], b'b' | b'm' | b'p'));
                out.push(if labial { 'm' } else { 'n' });
                i += 1;
                continue;
            }
            _ => {}
        }
        let pair: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        let (romaji, used) = match syllable(&pair) {
            Some(r) if pair.chars().count() == 2 => (r, 2),
            _ => (syllable(&c.to_string()).ok_or(RomajiError(c))?, 1),
        };
        if double_next {
            // っ before ch is t (まっちゃ → MATCHA); otherwise the consonant doubles.
            out.push(if romaji.starts_with("ch") {
                't'
            } else {
                romaji.as_bytes()[0] as char
            });
            double_next = false;
        }
        // Long vowels: おう and おお are O, うう is U — but a う before え is its own sound
        // (いのうえ → INOUE).
        let last = out.chars().last();
        let vowel_follows = romaji == "u" && chars.get(i + used) == Some(&'え');
        let long = match (last, romaji) {
            (Some('o'), "u") | (Some('o'), "o") | (Some('u'), "u") => {
                i > 0 && !chars[i - 1].is_whitespace() && !vowel_follows
            }
            _ => false,
        };
        if !long {
            out.push_str(romaji);
        }
        i += used;
    }
    Ok(out.trim().to_ascii_uppercase())
}

/// A name in romaji as the English side of documents writes it: each word capitalised
/// ("YAMADA TARO" → "Yamada Taro").
pub fn title_case(upper: &str) -> String {
    upper
        .split(' ')
        .map(|w| {
            let mut cs = w.chars();
            match cs.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + &cs.as_str().to_ascii_lowercase(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passport_hepburn_of_names() {
        for (kana, romaji) in [
            ("ヤマダ　タロウ", "YAMADA TARO"),
            ("サイジョウ ハナコ", "SAIJO HANAKO"),
            ("おおの", "ONO"),
            ("ほんま", "HOMMA"),
            ("なんば", "NAMBA"),
            ("けんいち", "KENICHI"),
            ("はっとり", "HATTORI"),
            ("まっちゃ", "MATCHA"),
            ("きょうこ", "KYOKO"),
            ("ちゅうおうく", "CHUOKU"),
            ("じゅんこ", "JUNKO"),
            ("ゆうすけ", "YUSUKE"),
            ("しんじ", "SHINJI"),
            ("ちよだく", "CHIYODAKU"),
            ("とうきょうと", "TOKYOTO"),
            ("ほっかいどう", "HOKKAIDO"),
            ("リョーコ", "RYOKO"),
            ("いのうえ", "INOUE"),
            ("おおいし", "OISHI"),
        ] {
            assert_eq!(hepburn(kana).unwrap(), romaji, "{kana}");
        }
    }

    #[test]
    fn text_that_is_not_kana_is_refused_naming_the_character() {
        assert_eq!(hepburn("山田"), Err(RomajiError('山')));
        assert_eq!(hepburn("タロウA"), Err(RomajiError('A')));
    }

    #[test]
    fn title_case_for_english_text() {
        assert_eq!(title_case("YAMADA TARO"), "Yamada Taro");
        assert_eq!(title_case("CHIYODA"), "Chiyoda");
    }
}
