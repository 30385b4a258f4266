//! ユーザID: the name an account is issued under and signs in with. It never changes: the audit
//! log writes it as who acted, and it keys the account's sessions, its bearer tokens and the
//! idempotency keys of its registrations.
//!
//! An ID is 3 to 64 of the letters A–Z and a–z, the digits and `-`, `_`, `.` — the rule
//! `vrs accounts create` gives an ID typed at the command line. An ID issued on the national
//! operator's approval is the municipality's code and a four-digit number (`382060-0042`, see
//! [`UserId::issued`]), which keeps to the same rule.

use std::borrow::Cow;
use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

use crate::{MunicipalityCode, UserFacing};

/// A user ID, valid by construction (see the module's rule), compared exactly as written.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(String);

/// Why a user ID was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UserIdError {
    #[error("the user ID is empty")]
    Empty,
    #[error(
        "a user ID may contain only letters, digits, '-', '_' and '.' ({ch:?} is not allowed)"
    )]
    Character { ch: char },
    #[error(
        "a user ID is {} to {} characters ({len} given)",
        UserId::LENGTH.start(),
        UserId::LENGTH.end()
    )]
    Length { len: usize },
}

impl UserId {
    /// How many characters an ID has.
    pub const LENGTH: RangeInclusive<usize> = 3..=64;

    /// An ID as given: exactly the text, nothing trimmed or folded (the edges trim what a person
    /// typed before they parse it).
    pub fn parse(text: &str) -> Result<Self, UserIdError> {
        if text.is_empty() {
            return Err(UserIdError::Empty);
        }
        if let Some(ch) = text.chars().find(|c| !Self::allowed(*c)) {
            return Err(UserIdError::Character { ch });
        }
        // Every character is ASCII now, so bytes and characters count the same.
        if !Self::LENGTH.contains(&text.len()) {
            return Err(UserIdError::Length { len: text.len() });
        }
        Ok(Self(text.to_owned()))
    }

    /// The ID of an account issued on approval of `municipality`'s application: its code, `-` and
    /// `number` in four digits (`382060-0042`).
    pub fn issued(municipality: MunicipalityCode, number: u16) -> Self {
        Self(format!("{}-{number:04}", municipality.as_str()))
    }

    /// An ID read back from a row the system itself wrote, taken as stored and not checked again,
    /// so that whatever was stored keeps loading and being shown as it always has. Never for text
    /// from outside the store — that goes through [`UserId::parse`].
    pub fn from_stored(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    fn allowed(c: char) -> bool {
        c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for UserId {
    type Err = UserIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for UserId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<UserId> for String {
    fn from(id: UserId) -> String {
        id.0
    }
}

impl PartialEq<str> for UserId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for UserId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for UserId {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

impl PartialEq<UserId> for str {
    fn eq(&self, other: &UserId) -> bool {
        self == other.0
    }
}

impl PartialEq<UserId> for &str {
    fn eq(&self, other: &UserId) -> bool {
        *self == other.0
    }
}

impl PartialEq<UserId> for String {
    fn eq(&self, other: &UserId) -> bool {
        *self == other.0
    }
}

impl UserFacing for UserIdError {
    fn code(&self) -> &'static str {
        match self {
            UserIdError::Empty => "user_id_empty",
            UserIdError::Character { .. } => "user_id_character",
            UserIdError::Length { .. } => "user_id_length",
        }
    }

    fn status(&self) -> u16 {
        422
    }

    fn message_ja(&self) -> Cow<'_, str> {
        match self {
            UserIdError::Empty => "ユーザIDが入力されていません。".into(),
            UserIdError::Character { ch } => format!(
                "ユーザIDに使えるのは英字・数字・「-」「_」「.」だけです（{ch:?} は使えません）。"
            )
            .into(),
            UserIdError::Length { len } => format!(
                "ユーザIDは{}〜{}文字です（{len}文字あります）。",
                UserId::LENGTH.start(),
                UserId::LENGTH.end()
            )
            .into(),
        }
    }

    fn message_en(&self) -> Cow<'_, str> {
        self.to_string().into()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn letters_digits_and_three_marks_from_three_to_sixty_four() {
        for valid in [
            "abc",
            "saijo-0001",
            "op.national",
            "app_backend",
            "ABC-def.9_0",
            &"a".repeat(64),
        ] {
            let id = UserId::parse(valid).unwrap();
            assert_eq!(id.as_str(), valid);
            assert_eq!(id.to_string(), valid);
            assert_eq!(id, valid);
            assert_eq!(valid.parse::<UserId>().unwrap(), id);
        }
    }

    #[test]
    fn each_refusal_with_its_reason() {
        assert_eq!(UserId::parse(""), Err(UserIdError::Empty));
        assert_eq!(UserId::parse("x"), Err(UserIdError::Length { len: 1 }));
        assert_eq!(UserId::parse("ab"), Err(UserIdError::Length { len: 2 }));
        assert_eq!(
            UserId::parse(&"a".repeat(65)),
            Err(UserIdError::Length { len: 65 })
        );
        assert_eq!(
            UserId::parse("saijo 0001"),
            Err(UserIdError::Character { ch: ' ' })
        );
        assert_eq!(
            UserId::parse(" saijo-0001"),
            Err(UserIdError::Character { ch: ' ' })
        );
        assert_eq!(
            UserId::parse("user@example.jp"),
            Err(UserIdError::Character { ch: '@' })
        );
        assert_eq!(
            UserId::parse("西条市"),
            Err(UserIdError::Character { ch: '西' })
        );
        assert_eq!(
            UserId::parse("ｓａｉｊｏ"),
            Err(UserIdError::Character { ch: 'ｓ' })
        );
    }

    #[test]
    fn a_refusal_speaks_both_languages() {
        let refusals = [
            UserIdError::Empty,
            UserIdError::Character { ch: '@' },
            UserIdError::Length { len: 2 },
        ];
        let codes: Vec<_> = refusals.iter().map(UserFacing::code).collect();
        assert_eq!(
            codes,
            ["user_id_empty", "user_id_character", "user_id_length"]
        );
        for refusal in &refusals {
            assert_eq!(refusal.status(), 422);
            assert!(refusal.message_ja().starts_with("ユーザID"), "{refusal:?}");
            assert!(refusal.message_en().is_ascii(), "{refusal:?}");
        }
        assert!(UserIdError::Length { len: 2 }
            .message_ja()
            .contains("3〜64文字"));
        assert!(UserIdError::Length { len: 2 }
            .to_string()
            .contains("3 to 64 characters"));
        assert!(UserIdError::Character { ch: '@' }
            .message_ja()
            .contains("'@'"));
    }

    #[test]
    fn an_issued_id_keeps_to_the_rule() {
        let saijo = MunicipalityCode::parse("382060").unwrap();
        for number in [0, 42, 9999] {
            let id = UserId::issued(saijo, number);
            assert_eq!(UserId::parse(id.as_str()).unwrap(), id);
        }
        assert_eq!(UserId::issued(saijo, 42), "382060-0042");
    }

    #[test]
    fn a_stored_id_loads_as_stored() {
        assert_eq!(UserId::from_stored("x").as_str(), "x");
        assert_eq!(String::from(UserId::from_stored("old id")), "old id");
    }
}
