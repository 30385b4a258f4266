//! Japanese by default, English on request (the `vrs_lang` cookie). The texts pages show are one
//! table, [`Text`]: a key, its Japanese and its English, on one line each in `texts.rs`, so the two
//! languages cannot drift apart silently — a key without both is a compile error, and a test checks
//! that every Japanese text is Japanese and every English text holds no Japanese. Texts built from
//! values (`format!` with a count or a name) are still written beside their use.

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
mod texts;
pub use texts::Text;

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

#[cfg(test)]
mod tests {
    use super::Text;

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
}
