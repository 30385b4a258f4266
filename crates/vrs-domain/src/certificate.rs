//! What a vaccination certificate (接種証明書) is, apart from its codes: its ID, whether it is for use
//! in Japan or abroad, and the channel it was issued through.
//!
//! A certificate ID is the issuing municipality's code, a hyphen and twelve random characters, then
//! one check character (Luhn mod N over the 36 characters 0–9 A–Z, the algorithm the EU uses for
//! its certificate identifiers), e.g. `131016-7K3M9Q2XWZ4H` + check. The check catches every single
//! mistyped character and every swap of neighbours when staff or a verifier type an ID in.

use std::fmt;

use crate::MunicipalityCode;

/// The characters of a certificate ID's random part and check character, in Luhn mod N order.
const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
/// Random characters after the municipality code.
const RANDOM_LEN: usize = 12;

/// The Luhn mod N check character of `text` over `alphabet` (every character of `text` must be in
/// it). `None` when a character is not.
pub fn luhn_mod_n(text: &str, alphabet: &[u8]) -> Option<char> {
    let n = alphabet.len() as u32;
    let mut factor = 2;
    let mut sum = 0u32;
    for c in text.bytes().rev() {
        let code = alphabet.iter().position(|&a| a == c)? as u32;
        let addend = factor * code;
        factor = if factor == 2 { 1 } else { 2 };
        sum += addend / n + addend % n;
    }
    let check = (n - sum % n) % n;
    Some(alphabet[check as usize] as char)
}

/// A certificate's ID: unique, and checkable by its last character.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CertificateId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateIdError {
    #[error(
        "a certificate ID has the form 123456-XXXXXXXXXXXXC (20 characters), got {0} characters"
    )]
    Length(usize),
    #[error("a certificate ID starts with the issuing municipality's code: {0}")]
    Municipality(String),
    #[error("character {position} of the certificate ID is not 0–9 or A–Z")]
    Character { position: usize },
    #[error("the check character of the certificate ID does not match (mistyped?)")]
    Check,
}

impl CertificateId {
    /// A new ID for `issuer` from 12 random bytes (the caller's randomness: the domain does no IO).
    pub fn new(issuer: MunicipalityCode, random: [u8; RANDOM_LEN]) -> Self {
        let mut body = format!("{}-", issuer.as_str());
        for b in random {
            body.push(ALPHABET[(b as usize) % ALPHABET.len()] as char);
        }
        let check = luhn_mod_n(&Self::checked_part(&body), ALPHABET).unwrap_or('0');
        body.push(check);
        CertificateId(body)
    }

    /// Reads an ID as typed: surrounding spaces and lower case are accepted.
    pub fn parse(text: &str) -> Result<Self, CertificateIdError> {
        let text = text.trim().to_ascii_uppercase();
        if text.chars().count() != 7 + RANDOM_LEN + 1 {
            return Err(CertificateIdError::Length(text.chars().count()));
        }
        // Positions below are bytes: only ASCII gets that far.
        if let Some(i) = text.chars().position(|c| !c.is_ascii()) {
            return Err(CertificateIdError::Character { position: i + 1 });
        }
        let (code, rest) = text.split_at(6);
        MunicipalityCode::parse(code)
            .map_err(|e| CertificateIdError::Municipality(e.to_string()))?;
        let Some(rest) = rest.strip_prefix('-') else {
            return Err(CertificateIdError::Character { position: 7 });
        };
        if let Some(i) = rest.bytes().position(|b| !ALPHABET.contains(&b)) {
            return Err(CertificateIdError::Character { position: 8 + i });
        }
        let (body, check) = text.split_at(text.len() - 1);
        if luhn_mod_n(&Self::checked_part(body), ALPHABET).map(String::from) != Some(check.into()) {
            return Err(CertificateIdError::Check);
        }
        Ok(CertificateId(text))
    }

    /// The municipality that issued it.
    pub fn issuer(&self) -> Option<MunicipalityCode> {
        MunicipalityCode::parse(self.0.get(..6)?).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The twelve random characters: the certificate's identifier in an ICAO VDS-NC seal, whose
    /// `uvci` holds at most 12 characters (the seal's signer certificate names the issuer).
    pub fn random_part(&self) -> &str {
        &self.0[7..7 + RANDOM_LEN]
    }

    /// The ID without its hyphen: the unique part of an EU DCC certificate identifier (UVCI).
    pub fn compact(&self) -> String {
        self.0.replace('-', "")
    }

    fn checked_part(body: &str) -> String {
        body.replace('-', "")
    }
}

impl fmt::Display for CertificateId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a certificate is for use in Japan or abroad (overseas ones carry the passport's name,
/// nationality and number).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CertificateKind {
    Domestic,
    Overseas,
}

impl CertificateKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CertificateKind::Domestic => "domestic",
            CertificateKind::Overseas => "overseas",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "domestic" => Some(CertificateKind::Domestic),
            "overseas" => Some(CertificateKind::Overseas),
            _ => None,
        }
    }

    pub fn label_ja(self) -> &'static str {
        match self {
            CertificateKind::Domestic => "日本国内用",
            CertificateKind::Overseas => "海外用",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            CertificateKind::Domestic => "For use in Japan",
            CertificateKind::Overseas => "For overseas use",
        }
    }
}

/// How a certificate reached its holder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IssueChannel {
    /// On paper at the municipality's counter.
    Counter,
    /// To the certificate app.
    App,
    /// At a convenience-store kiosk or a certificate centre.
    Kiosk,
}

impl IssueChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            IssueChannel::Counter => "counter",
            IssueChannel::App => "app",
            IssueChannel::Kiosk => "kiosk",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "counter" => Some(IssueChannel::Counter),
            "app" => Some(IssueChannel::App),
            "kiosk" => Some(IssueChannel::Kiosk),
            _ => None,
        }
    }

    pub fn label_ja(self) -> &'static str {
        match self {
            IssueChannel::Counter => "窓口",
            IssueChannel::App => "アプリ",
            IssueChannel::Kiosk => "コンビニ交付",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chiyoda() -> MunicipalityCode {
        MunicipalityCode::parse("131016").unwrap()
    }

    #[test]
    fn new_ids_parse_and_name_their_issuer() {
        let id = CertificateId::new(chiyoda(), *b"abcdefghijkl");
        assert_eq!(id.as_str().len(), 20);
        assert_eq!(CertificateId::parse(id.as_str()).unwrap(), id);
        assert_eq!(
            CertificateId::parse(&id.as_str().to_lowercase()).unwrap(),
            id
        );
        assert_eq!(id.issuer(), Some(chiyoda()));
        assert!(!id.compact().contains('-'));
        assert_eq!(id.random_part().len(), 12);
        assert!(id.as_str().contains(id.random_part()));
    }

    #[test]
    fn every_single_mistyped_character_and_neighbour_swap_is_caught() {
        let id = CertificateId::new(chiyoda(), [7, 200, 13, 99, 5, 31, 250, 1, 0, 64, 128, 17]);
        let text = id.as_str().to_owned();
        for i in 7..text.len() {
            for &c in ALPHABET {
                let mut typed = text.clone().into_bytes();
                if typed[i] == c {
                    continue;
                }
                typed[i] = c;
                let typed = String::from_utf8(typed).unwrap();
                assert!(CertificateId::parse(&typed).is_err(), "{typed} accepted");
            }
        }
        for i in 7..text.len() - 1 {
            let mut typed = text.clone().into_bytes();
            if typed[i] == typed[i + 1] {
                continue;
            }
            typed.swap(i, i + 1);
            let typed = String::from_utf8(typed).unwrap();
            assert_eq!(
                CertificateId::parse(&typed),
                Err(CertificateIdError::Check),
                "{typed}"
            );
        }
    }

    #[test]
    fn malformed_ids_are_refused_with_the_reason() {
        assert_eq!(
            CertificateId::parse("131016-ABC"),
            Err(CertificateIdError::Length(10))
        );
        assert!(matches!(
            CertificateId::parse("131017-AAAAAAAAAAAAA"),
            Err(CertificateIdError::Municipality(_))
        ));
        assert_eq!(
            CertificateId::parse("131016-AAAAAA*AAAAAA"),
            Err(CertificateIdError::Character { position: 14 })
        );
    }

    #[test]
    fn luhn_mod_n_matches_the_published_example() {
        // Over the ten digits Luhn mod N is the classic Luhn check: 7992739871 → 3.
        assert_eq!(luhn_mod_n("1", b"0123456789"), Some('8'));
        assert_eq!(luhn_mod_n("7992739871", b"0123456789"), Some('3'));
        assert_eq!(luhn_mod_n("!", ALPHABET), None);
    }
}
