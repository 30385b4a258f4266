//! Japanese by default, English on request (the `vrs_lang` cookie). The texts pages show are one
//! table in `texts.rs`: a key, its Japanese and its English, on one line each — [`Text`] for fixed
//! texts, [`Phrase`] for texts built from values (a count, a name, a number). The two languages
//! cannot drift apart silently: a key without both is a compile error, and tests check that every
//! Japanese text is Japanese and every English text holds no Japanese (but the term 宛名番号).
//! Domain values (a sex, a role, a vaccine product) name themselves through
//! [`vrs_domain::Labelled`].

use axum_extra::extract::CookieJar;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Ja,
    En,
}

impl Lang {
    pub fn from_cookies(jar: &CookieJar) -> Self {
        match jar.get("vrs_lang").map(|c| c.value()) {
            Some("en") => Lang::En,
            _ => Lang::Ja,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Ja => Lang::En,
            Lang::En => Lang::Ja,
        }
    }
}

/// Defines [`Text`] from the table in `texts.rs`: one variant per key, its Japanese and English.
macro_rules! text_table {
    ($($(#[$doc:meta])* $key:ident => $ja:literal, $en:literal;)*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Text {
            $($(#[$doc])* $key,)*
        }

        impl Text {
            /// Every key, for the table's own test.
            #[cfg(test)]
            pub const ALL: &'static [Text] = &[$(Text::$key,)*];

            pub fn ja(self) -> &'static str {
                match self {
                    $(Text::$key => $ja,)*
                }
            }

            pub fn en(self) -> &'static str {
                match self {
                    $(Text::$key => $en,)*
                }
            }
        }
    };
}

/// Defines [`Phrase`] from the table in `texts.rs`: one variant per key, holding the values it
/// says, and its Japanese and English, which name those values (`{atena}`) as `format!` does. A
/// language may leave out a value the other says: a function is named by its Japanese label in
/// Japanese and by its code in English.
macro_rules! phrase_table {
    ($($(#[$doc:meta])* $key:ident($($value:ident),+) => $ja:literal, $en:literal;)*) => {
        #[derive(Clone, Copy)]
        pub enum Phrase<'a> {
            $($(#[$doc])* $key($(phrase_table!(@value $value)),+),)*
        }

        impl Phrase<'_> {
            /// Every key with its values' names and both texts, for the table's own test.
            #[cfg(test)]
            pub const ALL: &'static [(&'static str, &'static [&'static str], &'static str, &'static str)] =
                &[$((stringify!($key), &[$(stringify!($value)),+], $ja, $en),)*];

            #[allow(unused_variables)]
            pub fn ja(&self) -> String {
                match *self {
                    $(Phrase::$key($($value),+) => format!($ja),)*
                }
            }

            #[allow(unused_variables)]
            pub fn en(&self) -> String {
                match *self {
                    $(Phrase::$key($($value),+) => format!($en),)*
                }
            }
        }
    };
    (@value $value:ident) => { &'a dyn std::fmt::Display };
}

mod texts;
pub use texts::{Phrase, Text};

/// A refusal in the reader's language.
pub fn said(
    lang: Lang,
    refusal: &(impl vrs_domain::UserFacing + ?Sized),
) -> std::borrow::Cow<'_, str> {
    match lang {
        Lang::Ja => refusal.message_ja(),
        Lang::En => refusal.message_en(),
    }
}

/// A field's refusal as a form shows it: the field's label, then why, in the reader's language.
pub fn field_refused(
    lang: Lang,
    label: Text,
    refusal: &(impl vrs_domain::UserFacing + ?Sized),
) -> String {
    format!("{}: {}", t(lang, label), said(lang, refusal))
}

pub fn t(lang: Lang, text: Text) -> &'static str {
    match lang {
        Lang::Ja => text.ja(),
        Lang::En => text.en(),
    }
}

impl Text {
    /// The text in Japanese when `ja`, else in English.
    pub fn pick(self, ja: bool) -> &'static str {
        if ja {
            self.ja()
        } else {
            self.en()
        }
    }
}

impl Phrase<'_> {
    /// The text in Japanese when `ja`, else in English.
    pub fn pick(&self, ja: bool) -> String {
        if ja {
            self.ja()
        } else {
            self.en()
        }
    }

    /// The text in the reader's language.
    pub fn text(&self, lang: Lang) -> String {
        self.pick(lang == Lang::Ja)
    }
}

#[cfg(test)]
mod tests {
    use super::{Phrase, Text};

    fn japanese(s: &str) -> bool {
        s.chars().any(|c| {
            matches!(c, '\u{3040}'..='\u{30ff}' | '\u{3400}'..='\u{9fff}' | '\u{ff00}'..='\u{ffef}')
        })
    }

    /// Every key has both texts; the Japanese column is Japanese and the English column holds no
    /// Japanese, so a pair written the wrong way round or half-translated fails here. The language
    /// switch names the other language in that language.
    #[test]
    fn every_text_is_written_in_both_languages() {
        let mut seen = std::collections::HashSet::new();
        for &text in Text::ALL {
            assert!(
                seen.insert((text.ja(), text.en())),
                "{text:?}: the same pair twice"
            );
            if text == Text::OtherLanguage {
                assert!(japanese(text.en()) && !japanese(text.ja()));
                continue;
            }
            assert!(
                japanese(text.ja()),
                "{text:?}: {:?} is not Japanese",
                text.ja()
            );
            assert!(
                !japanese(text.en()),
                "{text:?}: {:?} is not English",
                text.en()
            );
        }
    }

    /// Every phrase has both texts, each value it holds is said in one of them at least, the
    /// Japanese is Japanese and the English holds no Japanese but 宛名番号, the term staff know
    /// the number by.
    #[test]
    fn every_phrase_is_written_in_both_languages() {
        let mut seen = std::collections::HashSet::new();
        for &(key, values, ja, en) in Phrase::ALL {
            assert!(seen.insert((ja, en)), "{key}: the same pair twice");
            assert!(
                !ja.trim().is_empty() && !en.trim().is_empty(),
                "{key}: a text is empty"
            );
            for value in values {
                let named = |text: &str| {
                    text.contains(&format!("{{{value}}}")) || text.contains(&format!("{{{value}:"))
                };
                assert!(
                    named(ja) || named(en),
                    "{key}: {value} is said in neither language"
                );
            }
            assert!(japanese(ja), "{key}: {ja:?} is not Japanese");
            assert!(
                !japanese(&en.replace("宛名番号", "")),
                "{key}: {en:?} is not English"
            );
        }
    }
}
