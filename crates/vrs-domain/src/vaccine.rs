//! The COVID-19 vaccine products used in Japan and their makers: codes for certificates (CVX
//! for SMART Health Cards, the EU DCC value sets), the approval date in Japan, the shortest
//! permitted gap after a previous dose, and what a maker's lot numbers look like.
//!
//! The table itself lives in `vaccine/catalogue.rs`; lot numbers in `vaccine/lot.rs`.

mod catalogue;
mod lot;

use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

use regex::Regex;

pub use lot::{LotNumber, LotNumberError};

/// A vaccine product as the system records it. Only the catalogue makes these.
#[derive(Debug)]
pub struct VaccineProduct {
    /// Our stable id, lower-kebab: "comirnaty", "spikevax-bivalent-ba4-5", …
    pub code: &'static str,
    /// English name, e.g. "Spikevax Bivalent Original/Omicron BA.4-5".
    pub name: &'static str,
    /// Japanese 販売名, e.g. "コミナティ筋注".
    pub name_ja: &'static str,
    pub manufacturer: Manufacturer,
    /// CDC CVX code; "213" (SARS-COV-2 vaccine, unspecified) where no specific code exists.
    pub cvx: &'static str,
    /// EU DCC vaccine-prophylaxis value.
    pub dcc_vp: &'static str,
    /// EU DCC medicinal product: the EU number, or the product name where not EU-authorised.
    pub dcc_mp: &'static str,
    /// EU DCC marketing-authorisation holder: the EMA organisation id, or a readable name.
    pub dcc_ma: &'static str,
    /// 特例承認 / 承認 (or 一部変更承認 for a variant) date in Japan.
    pub approved_in_japan: chrono::NaiveDate,
    /// The shortest gap, in days, a dose of this product may follow the previous dose by.
    /// Why each value was chosen is written beside it in the catalogue.
    pub min_interval_days: u16,
    /// Anchored regex over the normalised lot number (see [`LotNumber`]); `None` when the
    /// maker's lot format is not known well enough to refuse anything.
    lot_pattern: Option<&'static str>,
}

impl VaccineProduct {
    pub fn by_code(code: &str) -> Option<&'static VaccineProduct> {
        Self::catalogue().iter().find(|p| p.code == code)
    }

    /// Every product, grouped by maker, oldest first within a brand.
    pub fn catalogue() -> &'static [VaccineProduct] {
        &catalogue::CATALOGUE
    }

    /// Whether a lot number (as typed: trimmed, full-width and lower case accepted) fits the
    /// maker's format. True when no pattern is known; false when the text is not a lot number.
    pub fn lot_number_fits(&self, lot: &str) -> bool {
        let Some(pattern) = self.lot_pattern else {
            return true;
        };
        match LotNumber::parse(lot) {
            Ok(lot) => match lot_regex(pattern) {
                Some(re) => re.is_match(lot.as_str()),
                None => true,
            },
            Err(_) => false,
        }
    }

    /// The regex lot numbers must match, if one is known (for help texts).
    pub fn lot_pattern(&self) -> Option<&'static str> {
        self.lot_pattern
    }

    /// The maker as the VRS ledger export writes it (ファイザー, 武田/モデルナ, …).
    pub fn ledger_maker_name(&self) -> &'static str {
        self.manufacturer.ledger_name()
    }
}

/// Products are the same product when their codes are.
impl PartialEq for VaccineProduct {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code
    }
}

impl Eq for VaccineProduct {}

impl Hash for VaccineProduct {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.code.hash(state);
    }
}

impl fmt::Display for VaccineProduct {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// The compiled lot patterns, built once from the catalogue. A pattern that failed to compile
/// is absent (and then refuses nothing); a unit test asserts they all compile.
fn lot_regex(pattern: &str) -> Option<&'static Regex> {
    static COMPILED: OnceLock<HashMap<&'static str, Regex>> = OnceLock::new();
    COMPILED
        .get_or_init(|| {
            VaccineProduct::catalogue()
                .iter()
                .filter_map(|p| p.lot_pattern)
                .filter_map(|p| Regex::new(p).ok().map(|re| (p, re)))
                .collect()
        })
        .get(pattern)
}

/// The companies whose names appear on records (the Japanese distributor where it differs).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Manufacturer {
    Pfizer,
    Moderna,
    AstraZeneca,
    Novavax,
    Janssen,
    DaiichiSankyo,
    /// Kostaive: Meiji Seika Pharma (marketing in Japan) / Arcturus (developer).
    MeijiSeika,
}

impl Manufacturer {
    pub const ALL: [Manufacturer; 7] = [
        Manufacturer::Pfizer,
        Manufacturer::Moderna,
        Manufacturer::AstraZeneca,
        Manufacturer::Novavax,
        Manufacturer::Janssen,
        Manufacturer::DaiichiSankyo,
        Manufacturer::MeijiSeika,
    ];

    /// The maker as VRS's 予防接種台帳向け出力 writes it (≤ 20 characters).
    pub fn ledger_name(self) -> &'static str {
        match self {
            Self::Pfizer => "ファイザー",
            Self::Moderna => "武田/モデルナ",
            Self::AstraZeneca => "アストラゼネカ",
            Self::Novavax => "武田/ノババックス",
            Self::Janssen => "ヤンセン",
            Self::DaiichiSankyo => "第一三共",
            Self::MeijiSeika => "Meiji Seika ファルマ",
        }
    }

    /// The maker for English certificates and FHIR.
    pub fn name_en(self) -> &'static str {
        match self {
            Self::Pfizer => "Pfizer/BioNTech",
            Self::Moderna => "Moderna",
            Self::AstraZeneca => "AstraZeneca",
            Self::Novavax => "Novavax",
            Self::Janssen => "Janssen",
            Self::DaiichiSankyo => "Daiichi Sankyo",
            Self::MeijiSeika => "Meiji Seika Pharma",
        }
    }

    /// The maker's code in the CDC's MVX list (HL7 table 0227, "Manufacturers of vaccines"), as
    /// HL7 v2 answers carry it in RXA-17; `None` for makers the list does not name (Daiichi Sankyo,
    /// Meiji Seika Pharma), which answers give as `OTH` (other manufacturer).
    pub fn mvx(self) -> Option<&'static str> {
        match self {
            Self::Pfizer => Some("PFR"),
            Self::Moderna => Some("MOD"),
            Self::AstraZeneca => Some("ASZ"),
            Self::Novavax => Some("NVX"),
            Self::Janssen => Some("JSN"),
            Self::DaiichiSankyo | Self::MeijiSeika => None,
        }
    }

    /// The maker read back from a ledger name (as [`Manufacturer::ledger_name`] writes it).
    pub fn from_ledger_name(name: &str) -> Option<Manufacturer> {
        let name = crate::text::trim(name);
        Self::ALL.into_iter().find(|m| m.ledger_name() == name)
    }
}

impl fmt::Display for Manufacturer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name_en())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(code: &str) -> &'static VaccineProduct {
        VaccineProduct::by_code(code).unwrap()
    }

    #[test]
    fn the_spec_codes_are_in_the_catalogue() {
        for code in [
            "comirnaty",
            "comirnaty-bivalent-ba4-5",
            "comirnaty-xbb15",
            "comirnaty-jn1",
            "comirnaty-pediatric",
            "comirnaty-infant",
            "spikevax",
            "spikevax-bivalent-ba1",
            "spikevax-bivalent-ba4-5",
            "spikevax-xbb15",
            "spikevax-jn1",
            "vaxzevria",
            "nuvaxovid",
            "jcovden",
            "daichirona",
            "daichirona-xbb15",
            "kostaive",
        ] {
            assert_eq!(product(code).code, code);
        }
        assert!(VaccineProduct::by_code("sputnik-v").is_none());
        assert!(VaccineProduct::by_code("Comirnaty").is_none());
    }

    #[test]
    fn known_facts_of_the_first_products() {
        let c = product("comirnaty");
        assert_eq!(c.approved_in_japan, crate::date::ymd(2021, 2, 14));
        assert_eq!(
            (c.cvx, c.dcc_mp, c.dcc_ma, c.dcc_vp),
            ("208", "EU/1/20/1528", "ORG-100030215", "1119349007")
        );
        assert_eq!(product("spikevax").cvx, "207");
        assert_eq!(product("vaxzevria").dcc_mp, "EU/1/21/1529");
        assert_eq!(
            product("nuvaxovid").approved_in_japan,
            crate::date::ymd(2022, 4, 19)
        );
        assert_eq!(product("jcovden").cvx, "212");
        assert_eq!(
            product("spikevax-bivalent-ba4-5").name,
            "Spikevax Bivalent Original/Omicron BA.4-5"
        );
    }

    #[test]
    fn makers_carry_their_mvx_code_or_none() {
        let codes: Vec<_> = Manufacturer::ALL.iter().map(|m| m.mvx()).collect();
        assert_eq!(
            codes,
            [
                Some("PFR"),
                Some("MOD"),
                Some("ASZ"),
                Some("NVX"),
                Some("JSN"),
                None,
                None
            ]
        );
        assert_eq!(product("comirnaty-jn1").manufacturer.mvx(), Some("PFR"));
        assert_eq!(product("daichirona").manufacturer.mvx(), None);
    }

    #[test]
    fn every_lot_pattern_compiles_and_is_anchored() {
        for p in VaccineProduct::catalogue() {
            if let Some(pattern) = p.lot_pattern() {
                assert!(
                    pattern.starts_with('^') && pattern.ends_with('$'),
                    "{}",
                    p.code
                );
                assert!(lot_regex(pattern).is_some(), "{} does not compile", p.code);
            }
        }
    }

    #[test]
    fn pfizer_lots_are_two_letters_and_four_digits() {
        let c = product("comirnaty");
        for lot in [
            "FA4597",
            "EY0573",
            "FJ5929",
            "GH9702",
            "fa4597",
            "ＦＡ４５９７",
        ] {
            assert!(c.lot_number_fits(lot), "{lot}");
        }
        for lot in ["3004667", "FA459", "FA45977", "F14597", "", "FA-4597"] {
            assert!(!c.lot_number_fits(lot), "{lot}");
        }
        assert!(product("comirnaty-pediatric").lot_number_fits("FN5988"));
    }

    #[test]
    fn moderna_lots_refuse_pfizer_lots() {
        let m = product("spikevax");
        assert!(m.lot_number_fits("3004667"));
        assert!(m.lot_number_fits("000091a"));
        assert!(!m.lot_number_fits("FA4597"));
        assert!(!m.lot_number_fits("30046671"));
    }

    #[test]
    fn products_without_a_known_format_accept_any_lot() {
        assert!(product("vaxzevria").lot_pattern().is_none());
        assert!(product("vaxzevria").lot_number_fits("anything at all"));
        assert!(product("spikevax-xbb15").lot_number_fits("FA4597"));
    }

    #[test]
    fn ledger_names_are_those_of_the_vrs_export() {
        assert_eq!(product("comirnaty").ledger_maker_name(), "ファイザー");
        assert_eq!(product("spikevax").ledger_maker_name(), "武田/モデルナ");
        assert_eq!(product("vaxzevria").ledger_maker_name(), "アストラゼネカ");
        assert_eq!(
            product("nuvaxovid").ledger_maker_name(),
            "武田/ノババックス"
        );
        for m in Manufacturer::ALL {
            assert!(m.ledger_name().chars().count() <= 20);
            assert_eq!(Manufacturer::from_ledger_name(m.ledger_name()), Some(m));
        }
        assert_eq!(Manufacturer::from_ledger_name("モデルナ"), None);
    }

    #[test]
    fn products_compare_by_code() {
        assert_eq!(product("comirnaty"), &VaccineProduct::catalogue()[0]);
        assert_ne!(product("comirnaty"), product("spikevax"));
        assert_eq!(product("kostaive").to_string(), "Kostaive");
    }
}
