//! Issuing a DCC vaccination certificate in Japan: the payload from the holder and their doses
//! (the latest dose, with the product's DCC codes), the UVCI with its check character, ICAO 9303
//! transliteration of names, the CWT, the ES256 COSE_Sign1 and the `HC1:` text, and its QR code.

use serde::Serialize;
use vrs_crypto::es256::SigningKey;
use vrs_crypto::x509::Certificate;
use vrs_domain::{CertificateId, DoseRecord};

use super::{base45, cose, Algorithm, CoseSign1, DccError, PREFIX};

/// The schema version issued.
const SCHEMA_VERSION: &str = "1.3.0";
/// SNOMED CT 840539006: COVID-19.
const COVID_19: &str = "840539006";
/// The longest name, issuer or UVCI the schema allows.
const MAX_TEXT: usize = 80;

/// The holder as the certificate names them: family and given names in romaji as on the passport
/// (or from the record's romaji), and the birth date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    pub family: String,
    pub given: String,
    pub birth_date: chrono::NaiveDate,
}

/// What the issuing municipality adds to a certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issuance {
    /// `is`: the municipality's English name, e.g. "Chiyoda City, Tokyo, Japan".
    pub issuer_name: String,
    pub uvci: Uvci,
    /// Unix seconds.
    pub issued_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

/// A Japanese unique vaccination certificate identifier: `URN:UVCI:01:JP:<id>#<check>`, the check
/// being Luhn mod N over the 38 characters A–Z 0–9 `/` `:` of everything before `#` (the EU
/// UVCI guidelines, DCC schema FAQ).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Uvci(String);

impl Uvci {
    /// The Luhn mod N alphabet of the check character, in value order.
    pub const CHECK_ALPHABET: &'static [u8; 38] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/:";
    const JAPAN: &'static str = "URN:UVCI:01:JP:";

    /// The UVCI of a certificate: its ID without the hyphen as the opaque part.
    pub fn for_certificate(id: &CertificateId) -> Self {
        let body = format!("{}{}", Self::JAPAN, id.compact());
        // The ID is 0–9 A–Z, so the check character always exists.
        let check = Self::check_character(&body).unwrap_or('0');
        Self(format!("{body}#{check}"))
    }

    /// The check character of `body` (the UVCI before `#`); `None` when a character is outside
    /// [`Self::CHECK_ALPHABET`].
    pub fn check_character(body: &str) -> Option<char> {
        vrs_domain::luhn_mod_n(body, Self::CHECK_ALPHABET)
    }

    /// Whether `uvci` ends in `#` and the right check character.
    pub fn has_valid_check(uvci: &str) -> bool {
        match uvci.rsplit_once('#') {
            Some((body, check)) => {
                Self::check_character(body).map(String::from).as_deref() == Some(check)
            }
            None => false,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A name in the ICAO 9303 machine-readable form: upper-case A–Z, `<` for spaces and hyphens,
/// German umlauts and ligatures spelled out (Ä → AE, ß → SS, Å → AA, Ø → OE, Þ → TH), other Latin
/// letters without their diacritics (Hepburn's ō → O), full-width romaji as ASCII; apostrophes and
/// other marks dropped; at most 80 characters.
pub fn transliterate(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        match c {
            ' ' | '-' | '\u{3000}' | '\u{2010}' | '\u{2011}' | '\u{FF0D}' => {
                if !out.is_empty() && !out.ends_with('<') {
                    out.push('<');
                }
            }
            _ => out.push_str(&fold(c)),
        }
    }
    while out.ends_with('<') {
        out.pop();
    }
    out.chars().take(MAX_TEXT).collect()
}

/// Latin-1 letters À–ÿ by `(code − 0xC0) % 32`; `?` marks those spelled out or dropped.
const LATIN_1: &[u8; 32] = b"AAAA???CEEEEIIIIDNOOOO???UUU?Y??";
/// Latin Extended-A, U+0100–U+017F, one base letter each; `?` for the ligatures Ĳ and Œ.
const LATIN_EXTENDED_A: &str = concat!(
    "AAAAAA",
    "CCCCCCCC",
    "DDDD",
    "EEEEEEEEEE",
    "GGGGGGGG",
    "HHHH",
    "IIIIIIIIII",
    "??",
    "JJ",
    "KKK",
    "LLLLLLLLLL",
    "NNNNNNNNN",
    "OOOOOO",
    "??",
    "RRRRRR",
    "SSSSSSSS",
    "TTTTTT",
    "UUUUUUUUUUUU",
    "WW",
    "YYY",
    "ZZZZZZ",
    "S"
);

fn fold(c: char) -> String {
    let spelled = match c {
        'Ä' | 'ä' | 'Æ' | 'æ' => "AE",
        'Ö' | 'ö' | 'Ø' | 'ø' | 'Œ' | 'œ' => "OE",
        'Ü' | 'ü' => "UE",
        'Å' | 'å' => "AA",
        'ß' => "SS",
        'Þ' | 'þ' => "TH",
        'Ĳ' | 'ĳ' => "IJ",
        'ÿ' => "Y",
        _ => "",
    };
    if !spelled.is_empty() {
        return spelled.to_owned();
    }
    let code = c as u32;
    let base = match code {
        0x41..=0x5A | 0x61..=0x7A => Some(c.to_ascii_uppercase() as u8),
        0xFF21..=0xFF3A => Some((code - 0xFF21) as u8 + b'A'),
        0xFF41..=0xFF5A => Some((code - 0xFF41) as u8 + b'A'),
        0xC0..=0xFF => Some(LATIN_1[((code - 0xC0) % 32) as usize]),
        0x100..=0x17F => LATIN_EXTENDED_A
            .as_bytes()
            .get((code - 0x100) as usize)
            .copied(),
        _ => None,
    };
    match base {
        Some(b) if b.is_ascii_uppercase() => (b as char).to_string(),
        _ => String::new(),
    }
}

/// The key id of a signer certificate: the first 8 bytes of SHA-256 of its DER.
pub fn kid(dsc_der: &[u8]) -> [u8; 8] {
    let digest = vrs_crypto::sha256(dsc_der);
    let mut kid = [0u8; 8];
    kid.copy_from_slice(&digest[..8]);
    kid
}

/// The doses in the primary series of a product: one for Jcovden (Janssen), two for the rest.
fn primary_series(product_code: &str) -> u8 {
    if product_code == "jcovden" {
        1
    } else {
        2
    }
}

/// The certificate payload for the holder's latest dose (a DCC carries one vaccination entry): a
/// view of the records that serialises to the schema's JSON or straight to its CBOR.
///
/// `sd` (doses in the series) is the product's primary series, or the dose number when higher: a
/// booster is "3/3", as the EU's guidance for additional doses has it. Japan records no series
/// length of its own, so this is the rule a verifier abroad expects.
pub fn vaccination_payload<'a>(
    holder: &'a Holder,
    doses: &'a [DoseRecord],
    issuer_name: &'a str,
    uvci: &'a Uvci,
) -> Result<VaccinationCertificate<'a>, DccError> {
    let invalid = |why: &str| DccError::Issue(why.to_owned());
    let latest = doses
        .iter()
        .map(|d| &d.dose)
        .max_by_key(|d| (d.dose_number, d.administered_on))
        .ok_or_else(|| invalid("no doses"))?;
    let (fnt, gnt) = (transliterate(&holder.family), transliterate(&holder.given));
    if fnt.is_empty() && gnt.is_empty() {
        return Err(invalid("the name has no Latin letters to transliterate"));
    }
    for (what, text) in [
        ("family name", holder.family.as_str()),
        ("given name", holder.given.as_str()),
        ("issuer name", issuer_name),
    ] {
        if text.chars().count() > MAX_TEXT {
            return Err(invalid(&format!("the {what} is longer than {MAX_TEXT}")));
        }
    }
    let dose_number = latest.dose_number.get();
    if !(1..=9).contains(&dose_number) {
        return Err(invalid("a DCC counts doses 1 to 9"));
    }
    let product = latest.product;
    let present = |text: &'a str| Some(text).filter(|t| !t.is_empty());
    Ok(VaccinationCertificate {
        dob: Day(holder.birth_date),
        nam: Name {
            family: present(holder.family.trim()),
            family_icao: Some(fnt).filter(|t| !t.is_empty()),
            given: present(holder.given.trim()),
            given_icao: Some(gnt).filter(|t| !t.is_empty()),
        },
        v: [Vaccination {
            ci: uvci.as_str(),
            co: "JP",
            dn: dose_number,
            dt: Day(latest.administered_on),
            is: issuer_name,
            ma: product.dcc_ma,
            mp: product.dcc_mp,
            sd: dose_number.max(primary_series(product.code)),
            tg: COVID_19,
            vp: product.dcc_vp,
        }],
        ver: SCHEMA_VERSION,
    })
}

/// A vaccination certificate as [`vaccination_payload`] makes it. It serialises to the members of
/// schema 1.3, written in the order of their names (as the payload's JSON object wrote them
/// before it was a view; the schema and CBOR require no order), empty names left out.
#[derive(Clone, Debug, Serialize)]
pub struct VaccinationCertificate<'a> {
    dob: Day,
    nam: Name<'a>,
    v: [Vaccination<'a>; 1],
    ver: &'static str,
}

#[derive(Clone, Debug, Serialize)]
struct Name<'a> {
    #[serde(rename = "fn", skip_serializing_if = "Option::is_none")]
    family: Option<&'a str>,
    #[serde(rename = "fnt", skip_serializing_if = "Option::is_none")]
    family_icao: Option<String>,
    #[serde(rename = "gn", skip_serializing_if = "Option::is_none")]
    given: Option<&'a str>,
    #[serde(rename = "gnt", skip_serializing_if = "Option::is_none")]
    given_icao: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
struct Vaccination<'a> {
    ci: &'a str,
    co: &'static str,
    dn: u8,
    dt: Day,
    is: &'a str,
    ma: &'static str,
    mp: &'static str,
    sd: u8,
    tg: &'static str,
    vp: &'static str,
}

/// A date written as `YYYY-MM-DD` text.
#[derive(Clone, Copy, Debug)]
struct Day(chrono::NaiveDate);

impl Serialize for Day {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0.format("%Y-%m-%d"))
    }
}

/// Issues the `HC1:` text: the payload in a CWT (`iss` "JP"), signed ES256 by `key` with the key id
/// of `signer` (its certificate) in the protected header, zlib-compressed and Base45-encoded.
pub fn issue(
    holder: &Holder,
    doses: &[DoseRecord],
    issuance: &Issuance,
    key: &SigningKey,
    signer: &Certificate,
) -> Result<String, DccError> {
    let payload = vaccination_payload(holder, doses, &issuance.issuer_name, &issuance.uvci)?;
    let claims = cose::cwt("JP", issuance.issued_at, issuance.expires_at, &payload);
    let message = CoseSign1::sign_with(Algorithm::Es256, &kid(signer.der()), claims, |tbs| {
        Ok(key.sign(tbs)?)
    })?;
    let compressed = super::deflate(&message.to_bytes());
    Ok(format!("{PREFIX}{}", base45::encode(&compressed)))
}

/// The QR code of an `HC1:` text: alphanumeric mode throughout (Base45 and the prefix are all in
/// the QR alphanumeric set) at error correction Q, as the EU guidelines recommend; the smallest
/// version that fits.
pub fn qr_code(hc1: &str) -> Result<qrcode::QrCode, DccError> {
    use qrcode::bits::Bits;
    use qrcode::{EcLevel, Version};
    if !hc1.bytes().all(|b| base45::ALPHABET.contains(&b)) {
        return Err(DccError::Qr);
    }
    for v in 1..=40 {
        let mut bits = Bits::new(Version::Normal(v));
        let fits = bits.push_alphanumeric_data(hc1.as_bytes()).is_ok()
            && bits.push_terminator(EcLevel::Q).is_ok();
        if fits {
            return qrcode::QrCode::with_bits(bits, EcLevel::Q).map_err(|_| DccError::Qr);
        }
    }
    Err(DccError::Qr)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::{json, Value};

    use super::*;

    /// The payload as the `serde_json::Value` tree it was built as before it was a view of the
    /// records: the reference the view must match, in JSON and byte for byte in CBOR.
    fn payload_tree(holder: &Holder, doses: &[DoseRecord], issuer: &str, uvci: &Uvci) -> Value {
        let latest = &doses
            .iter()
            .max_by_key(|d| d.dose.dose_number)
            .unwrap()
            .dose;
        let product = latest.product;
        let mut nam = serde_json::Map::new();
        for (key, value) in [
            ("fn", holder.family.trim().to_owned()),
            ("fnt", transliterate(&holder.family)),
            ("gn", holder.given.trim().to_owned()),
            ("gnt", transliterate(&holder.given)),
        ] {
            if !value.is_empty() {
                nam.insert(key.to_owned(), Value::String(value));
            }
        }
        json!({
            "ver": SCHEMA_VERSION,
            "nam": nam,
            "dob": holder.birth_date.format("%Y-%m-%d").to_string(),
            "v": [{
                "tg": COVID_19,
                "vp": product.dcc_vp,
                "mp": product.dcc_mp,
                "ma": product.dcc_ma,
                "dn": latest.dose_number,
                "sd": latest.dose_number.get().max(primary_series(product.code)),
                "dt": latest.administered_on.format("%Y-%m-%d").to_string(),
                "co": "JP",
                "is": issuer,
                "ci": uvci.as_str(),
            }]
        })
    }

    #[test]
    fn the_payload_view_writes_what_its_value_tree_wrote() {
        use vrs_domain::{Dose, DoseSource, LotNumber, MunicipalityCode, VaccineProduct};
        let area = MunicipalityCode::parse("382060").unwrap();
        let p = vrs_interop::Synthetic::new(area, 1, 5).next().unwrap();
        let uvci = Uvci::for_certificate(&CertificateId::new(area, [7; 12]));
        for (family, given, product, n) in [
            ("SAIJO", "HANAKO", "comirnaty", 3),
            ("Müller \"Ōno\"", "", "jcovden", 1),
            ("", "Taro", "spikevax", 2),
        ] {
            let holder = Holder {
                family: family.into(),
                given: given.into(),
                birth_date: chrono::NaiveDate::from_ymd_opt(1985, 4, 12).unwrap(),
            };
            let doses: Vec<DoseRecord> = (1..=n)
                .map(|i| {
                    DoseRecord::now(
                        Dose {
                            municipality: area,
                            atena: p.atena.clone(),
                            dose_number: vrs_domain::DoseNumber::new(i).unwrap(),
                            administered_on: chrono::NaiveDate::from_ymd_opt(2021, 6, u32::from(i))
                                .unwrap(),
                            product: VaccineProduct::by_code(product).unwrap(),
                            lot_number: LotNumber::parse("FA4597").unwrap(),
                            site_municipality: area,
                            coupon: p.coupon,
                        },
                        DoseSource::Tablet,
                    )
                })
                .collect();
            let issuer = "Saijo City, Ehime, Japan";
            let view = vaccination_payload(&holder, &doses, issuer, &uvci).unwrap();
            let tree = payload_tree(&holder, &doses, issuer, &uvci);
            assert_eq!(serde_json::to_value(&view).unwrap(), tree);
            assert_eq!(
                cose::cwt("JP", 1, 2, &view),
                cose::Claims {
                    iss: Some("JP".into()),
                    iat: Some(1),
                    exp: Some(2),
                    dcc_cbor: cose::json_to_cbor(&tree),
                }
                .encode()
            );
        }
    }

    #[test]
    fn the_uvci_check_character_matches_the_eu_example() {
        assert!(Uvci::has_valid_check("URN:UVCI:01:NL:187/37512422923#Z"));
        assert!(!Uvci::has_valid_check("URN:UVCI:01:NL:187/37512422932#Z"));
        assert!(!Uvci::has_valid_check("URN:UVCI:01:NL:187/37512422923"));
        assert_eq!(Uvci::check_character("urn:uvci"), None);
        let id = CertificateId::parse(&{
            let body = "131016-7K3M9Q2XWZ4H";
            let check = vrs_domain::luhn_mod_n(
                &body.replace('-', ""),
                b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            )
            .unwrap();
            format!("{body}{check}")
        })
        .unwrap();
        let uvci = Uvci::for_certificate(&id);
        assert!(uvci
            .as_str()
            .starts_with("URN:UVCI:01:JP:1310167K3M9Q2XWZ4H"));
        assert!(Uvci::has_valid_check(uvci.as_str()), "{}", uvci.as_str());
    }

    #[test]
    fn names_are_transliterated_as_icao_9303() {
        assert_eq!(LATIN_EXTENDED_A.len(), 128);
        assert_eq!(
            transliterate("Müller-Lüdenscheidt"),
            "MUELLER<LUEDENSCHEIDT"
        );
        assert_eq!(
            transliterate("Musterfrau-Gößinger"),
            "MUSTERFRAU<GOESSINGER"
        );
        assert_eq!(
            transliterate("d'Červenková Panklová"),
            "DCERVENKOVA<PANKLOVA"
        );
        assert_eq!(transliterate("Yamada"), "YAMADA");
        assert_eq!(transliterate("Taro"), "TARO");
        assert_eq!(transliterate("Ōno  Yūko"), "ONO<YUKO");
        assert_eq!(transliterate("ＳＡＩＪＯ"), "SAIJO");
        assert_eq!(transliterate("Ærøskøbing Łódź"), "AEROESKOEBING<LODZ");
        assert_eq!(transliterate("山田"), "");
        assert_eq!(transliterate(&"A".repeat(100)).len(), 80);
    }

    #[test]
    fn a_kid_is_the_first_eight_bytes_of_the_sha256_of_the_der() {
        assert_eq!(
            kid(b"abc"),
            [0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea]
        );
    }

    #[test]
    fn text_outside_the_qr_alphanumeric_set_is_refused() {
        assert!(qr_code("HC1:abc").is_err());
        assert!(qr_code(&format!("HC1:{}", "A".repeat(5000))).is_err());
        let code = qr_code("HC1:NCFOXN%TS3DH").unwrap();
        assert_eq!(code.error_correction_level(), qrcode::EcLevel::Q);
    }
}
