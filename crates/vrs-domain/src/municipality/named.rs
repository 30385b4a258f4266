//! A municipality as a person types or picks it: its code, the code with its name as a list offers
//! it, its full name, or its own name where no other municipality has it.

use super::{master_list, MunicipalityCode, MunicipalityCodeError, MunicipalityKind};
use crate::text::normalize_digits;

/// Why a typed municipality is not one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MunicipalityNameError {
    #[error("no municipality is given")]
    Empty,
    #[error("{0}")]
    Code(MunicipalityCodeError),
    #[error("no municipality has this name")]
    Unknown,
    #[error("several municipalities have this name: {}", codes(.0))]
    Ambiguous(Vec<MunicipalityCode>),
}

fn codes(found: &[MunicipalityCode]) -> String {
    found
        .iter()
        .map(|c| format!("{c} {}", c.info().full_name()))
        .collect::<Vec<_>>()
        .join(", ")
}

impl MunicipalityNameError {
    /// The candidates of an ambiguous name, as "382060 愛媛県西条市".
    pub fn candidates(&self) -> String {
        match self {
            MunicipalityNameError::Ambiguous(found) => codes(found),
            _ => String::new(),
        }
    }
}

/// The municipality `text` names: "382060", "382060 愛媛県西条市" (as [`choices`] offers it),
/// "愛媛県西条市", or "西条市" when only one municipality is called so. A code is checked as
/// [`MunicipalityCode::parse`] checks it; names are matched whole, after trimming.
pub fn municipality_named(text: &str) -> Result<MunicipalityCode, MunicipalityNameError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(MunicipalityNameError::Empty);
    }
    let (head, rest) = text
        .split_once(|c: char| c.is_whitespace())
        .unwrap_or((text, ""));
    let digits = normalize_digits(head);
    if digits.chars().all(|c| c.is_ascii_digit()) {
        let code = MunicipalityCode::parse(&digits).map_err(MunicipalityNameError::Code)?;
        let name = rest.trim();
        return if name.is_empty() || name == code.info().full_name() {
            Ok(code)
        } else {
            Err(MunicipalityNameError::Unknown)
        };
    }
    let found: Vec<MunicipalityCode> = master_list()
        .iter()
        .filter(|m| m.kind != MunicipalityKind::Prefecture)
        .filter(|m| m.name == text || m.full_name() == text)
        .map(|m| m.code)
        .collect();
    match found.len() {
        0 => Err(MunicipalityNameError::Unknown),
        1 => Ok(found[0]),
        _ => Err(MunicipalityNameError::Ambiguous(found)),
    }
}

/// Every municipality (cities, towns, villages and Tokyo's wards; not the wards of a designated
/// city) as a list offers it to pick from: "382060 愛媛県西条市".
pub fn choices() -> impl Iterator<Item = String> {
    master_list()
        .iter()
        .filter(|m| m.kind == MunicipalityKind::Municipality)
        .map(|m| format!("{} {}", m.code, m.full_name()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_a_choice_a_full_name_and_a_unique_name_name_the_municipality() {
        let saijo = MunicipalityCode::parse("382060").unwrap();
        for text in [
            "382060",
            "３８２０６０",
            " 382060 愛媛県西条市 ",
            "愛媛県西条市",
        ] {
            assert_eq!(municipality_named(text), Ok(saijo), "{text}");
        }
        let every = choices().count();
        assert!(every > 1700, "{every}");
        for choice in choices() {
            assert!(municipality_named(&choice).is_ok(), "{choice}");
        }
    }

    #[test]
    fn a_shared_name_lists_its_municipalities_and_a_wrong_one_is_refused() {
        // 府中市 is in Tokyo and in Hiroshima.
        let Err(MunicipalityNameError::Ambiguous(found)) = municipality_named("府中市") else {
            panic!("府中市 is ambiguous");
        };
        assert_eq!(found.len(), 2);
        assert_eq!(municipality_named(""), Err(MunicipalityNameError::Empty));
        assert_eq!(
            municipality_named("存在しない市"),
            Err(MunicipalityNameError::Unknown)
        );
        assert_eq!(
            municipality_named("382060 東京都府中市"),
            Err(MunicipalityNameError::Unknown)
        );
        assert!(matches!(
            municipality_named("382061"),
            Err(MunicipalityNameError::Code(_))
        ));
    }
}
