//! The catalogue of COVID-19 vaccine products approved in Japan, one row per product that a
//! dose record can name.
//!
//! Sources and confidence, so a reviewer knows what to re-check:
//! * Approval dates: MHLW press releases and the makers' own releases as reported in the
//!   Japanese trade press (ミクスOnline, 日本医事新報, ケアネット, 薬剤師オンライン). Dates marked
//!   `(unverified)` are the best recollection, not checked against a primary source.
//! * CVX: CDC's vaccine code set (the CDSi supporting data lists 207/208/210–213/217–219/
//!   221/227–230/300–302/308–313). BA.1 bivalents were never US-authorised and have no code;
//!   non-US products (Daichirona, Kostaive) have none either: both use 213 (unspecified).
//!   For the 2024/25 (JN.1) formulas CDC kept the 2023/24 codes (309, 312, 313) — believed, not
//!   verified against the current code set.
//! * EU DCC: value sets vaccine-prophylaxis (1119349007 mRNA, 1119305005 antigen/protein,
//!   J07BX03 other/vector), medicinal product (EU numbers) and marketing-authorisation holder
//!   (EMA ORG ids). Daichirona and Kostaive carry free-text names (not EU-authorised during
//!   the VRS period; the DCC allows that).
//! * Minimum intervals: the 添付文書 gives the usual interval ("通常、3週間の間隔"); Japan set
//!   no formal grace period, so for week-based primary intervals this uses the CDC CDSi
//!   "absolute minimum interval" (standard interval − 4 days): 3 weeks → 17, 4 weeks → 24.
//!   Booster-only products use 89 days, the shortest span of "3 months" (MHLW, from
//!   2022-10-21; 2 months → 59 for Jcovden's booster). Values are deliberately permissive:
//!   they catch impossible records, not merely early ones.
//! * Lot formats: Pfizer's Japanese lots are two letters + four digits (FA4597, FJ5929,
//!   FK0108, FN5988 …, from municipal expiry-date notices). Moderna's 2021 Japanese lots were
//!   seven digits (3004667, 3004734, 3004956 — the lots withdrawn in August 2021); the pattern
//!   allows seven characters led by a digit so later lots (remembered as e.g. 000091A, not
//!   verified) still fit. Every other maker: unknown, so no pattern.

use super::{Manufacturer, VaccineProduct};
use crate::date::ymd;

const MRNA: &str = "1119349007";
const ANTIGEN: &str = "1119305005";
const COVID_VACCINES: &str = "J07BX03";

const PFIZER_LOT: Option<&str> = Some(r"^[A-Z]{2}[0-9]{4}$");
const MODERNA_LOT: Option<&str> = Some(r"^[0-9][0-9A-Z]{6}$");

/// Primary series 3 weeks apart (添付文書) → 17 days (CDSi absolute minimum).
const THREE_WEEKS: u16 = 17;
/// Primary series 4 weeks apart (添付文書) → 24 days (CDSi absolute minimum).
const FOUR_WEEKS: u16 = 24;
/// Booster only, "at least 3 months after the previous dose" → 89 days (Feb 1 → May 1).
const THREE_MONTHS: u16 = 89;
/// "At least 2 months" → 59 days (Jan 1 → Mar 1).
const TWO_MONTHS: u16 = 59;

const COMIRNATY: VaccineProduct = VaccineProduct {
    code: "comirnaty",
    name: "Comirnaty",
    name_ja: "コミナティ筋注",
    manufacturer: Manufacturer::Pfizer,
    cvx: "208",
    dcc_vp: MRNA,
    dcc_mp: "EU/1/20/1528",
    dcc_ma: "ORG-100030215",
    approved_in_japan: ymd(2021, 2, 14),
    min_interval_days: THREE_WEEKS,
    lot_pattern: PFIZER_LOT,
};

const SPIKEVAX: VaccineProduct = VaccineProduct {
    code: "spikevax",
    // Approved as 「COVID-19ワクチンモデルナ筋注」, renamed スパイクバックス筋注 on 2021-12-16.
    name: "Spikevax",
    name_ja: "スパイクバックス筋注",
    manufacturer: Manufacturer::Moderna,
    cvx: "207",
    dcc_vp: MRNA,
    dcc_mp: "EU/1/20/1507",
    dcc_ma: "ORG-100031184",
    approved_in_japan: ymd(2021, 5, 21), // (unverified) recollection, agrees with the brief
    min_interval_days: FOUR_WEEKS,
    lot_pattern: None,
};

const DAICHIRONA: VaccineProduct = VaccineProduct {
    code: "daichirona",
    name: "Daichirona",
    name_ja: "ダイチロナ筋注",
    manufacturer: Manufacturer::DaiichiSankyo,
    cvx: "213",
    dcc_vp: MRNA,
    dcc_mp: "Daichirona",
    dcc_ma: "Daiichi Sankyo Co., Ltd.",
    approved_in_japan: ymd(2023, 8, 2), // (unverified) recollection, agrees with the brief
    // Approved for boosters only; its own interval was 6 months at first (unverified), the
    // national booster rule 3 months: the shorter is used.
    min_interval_days: THREE_MONTHS,
    lot_pattern: None,
};

const KOSTAIVE: VaccineProduct = VaccineProduct {
    code: "kostaive",
    name: "Kostaive",
    name_ja: "コスタイベ筋注用",
    manufacturer: Manufacturer::MeijiSeika,
    cvx: "213",
    dcc_vp: MRNA, // self-amplifying mRNA
    dcc_mp: "Kostaive",
    dcc_ma: "Meiji Seika Pharma Co., Ltd.",
    approved_in_japan: ymd(2023, 11, 28),
    // Primary series two doses 4 weeks apart (as remembered from its 添付文書; unverified).
    min_interval_days: FOUR_WEEKS,
    lot_pattern: None,
};

const NUVAXOVID: VaccineProduct = VaccineProduct {
    code: "nuvaxovid",
    name: "Nuvaxovid",
    name_ja: "ヌバキソビッド筋注",
    manufacturer: Manufacturer::Novavax,
    cvx: "211",
    dcc_vp: ANTIGEN, // recombinant spike protein; some issuers used J07BX03
    dcc_mp: "EU/1/21/1618",
    dcc_ma: "ORG-100032020",
    approved_in_japan: ymd(2022, 4, 19), // normal (not 特例) approval
    min_interval_days: THREE_WEEKS,
    lot_pattern: None,
};

pub(super) static CATALOGUE: [VaccineProduct; 24] = [
    // Pfizer/BioNTech, 12 years and over.
    COMIRNATY,
    VaccineProduct {
        code: "comirnaty-bivalent-ba1",
        name: "Comirnaty Original/Omicron BA.1",
        name_ja: "コミナティRTU筋注（2価：起源株/オミクロン株BA.1）",
        cvx: "213", // no CVX: never US-authorised
        approved_in_japan: ymd(2022, 9, 12),
        // Booster at approval; primary use added 2023-08-02, so the primary interval applies.
        ..COMIRNATY
    },
    VaccineProduct {
        code: "comirnaty-bivalent-ba4-5",
        name: "Comirnaty Original/Omicron BA.4-5",
        name_ja: "コミナティRTU筋注（2価：起源株/オミクロン株BA.4-5）",
        cvx: "300",
        approved_in_japan: ymd(2022, 10, 5),
        ..COMIRNATY
    },
    VaccineProduct {
        code: "comirnaty-xbb15",
        name: "Comirnaty Omicron XBB.1.5",
        name_ja: "コミナティRTU筋注（1価：オミクロン株XBB.1.5）",
        cvx: "309",
        approved_in_japan: ymd(2023, 9, 1), // usable for primary series too
        ..COMIRNATY
    },
    VaccineProduct {
        code: "comirnaty-jn1",
        name: "Comirnaty Omicron JN.1",
        name_ja: "コミナティ筋注シリンジ12歳以上用（1価：オミクロン株JN.1）",
        cvx: "309",
        approved_in_japan: ymd(2024, 8, 8),
        ..COMIRNATY
    },
    // Pfizer/BioNTech, 5 to 11 years (a separate 販売名).
    VaccineProduct {
        code: "comirnaty-pediatric",
        name: "Comirnaty (5-11 years)",
        name_ja: "コミナティ筋注5～11歳用",
        cvx: "218",
        approved_in_japan: ymd(2022, 1, 21),
        ..COMIRNATY
    },
    VaccineProduct {
        code: "comirnaty-pediatric-bivalent-ba4-5",
        name: "Comirnaty Original/Omicron BA.4-5 (5-11 years)",
        name_ja: "コミナティ筋注5～11歳用（2価：起源株/オミクロン株BA.4-5）",
        cvx: "301",
        approved_in_japan: ymd(2023, 2, 28),
        ..COMIRNATY
    },
    VaccineProduct {
        code: "comirnaty-pediatric-xbb15",
        name: "Comirnaty Omicron XBB.1.5 (5-11 years)",
        name_ja: "コミナティ筋注5～11歳用（1価：オミクロン株XBB.1.5）",
        cvx: "310",
        approved_in_japan: ymd(2023, 9, 1),
        ..COMIRNATY
    },
    // Pfizer/BioNTech, 6 months to 4 years: doses 1→2 three weeks, 2→3 at least 8 weeks.
    VaccineProduct {
        code: "comirnaty-infant",
        name: "Comirnaty (6 months-4 years)",
        name_ja: "コミナティ筋注6ヵ月～4歳用",
        cvx: "219",
        approved_in_japan: ymd(2022, 10, 5),
        ..COMIRNATY
    },
    VaccineProduct {
        code: "comirnaty-infant-xbb15",
        name: "Comirnaty Omicron XBB.1.5 (6 months-4 years)",
        name_ja: "コミナティ筋注6ヵ月～4歳用（1価：オミクロン株XBB.1.5）",
        cvx: "308",
        approved_in_japan: ymd(2023, 9, 1),
        ..COMIRNATY
    },
    // Moderna (distributed by Takeda in Japan). Variant lots: format not known, no pattern.
    VaccineProduct {
        lot_pattern: MODERNA_LOT,
        ..SPIKEVAX
    },
    VaccineProduct {
        code: "spikevax-bivalent-ba1",
        name: "Spikevax Bivalent Original/Omicron BA.1",
        name_ja: "スパイクバックス筋注（2価：起源株/オミクロン株BA.1）",
        cvx: "213", // no CVX: never US-authorised
        approved_in_japan: ymd(2022, 9, 12),
        min_interval_days: THREE_MONTHS, // booster only (5 months until 2022-10-21)
        ..SPIKEVAX
    },
    VaccineProduct {
        code: "spikevax-bivalent-ba4-5",
        name: "Spikevax Bivalent Original/Omicron BA.4-5",
        name_ja: "スパイクバックス筋注（2価：起源株/オミクロン株BA.4-5）",
        cvx: "229",
        approved_in_japan: ymd(2022, 11, 1),
        min_interval_days: THREE_MONTHS, // booster only, "少なくとも3カ月"
        ..SPIKEVAX
    },
    VaccineProduct {
        code: "spikevax-xbb15",
        name: "Spikevax Omicron XBB.1.5",
        name_ja: "スパイクバックス筋注（1価：オミクロン株XBB.1.5）",
        cvx: "312",
        approved_in_japan: ymd(2023, 9, 12),
        min_interval_days: THREE_MONTHS, // booster only in Japan
        ..SPIKEVAX
    },
    VaccineProduct {
        code: "spikevax-jn1",
        name: "Spikevax Omicron JN.1",
        name_ja: "スパイクバックス筋注（1価：オミクロン株JN.1）",
        cvx: "312",
        approved_in_japan: ymd(2024, 8, 23),
        // Whether primary use is approved is not known here: the primary interval (permissive).
        ..SPIKEVAX
    },
    // AstraZeneca: 添付文書 4–12 weeks between the two doses.
    VaccineProduct {
        code: "vaxzevria",
        name: "Vaxzevria",
        name_ja: "バキスゼブリア筋注",
        manufacturer: Manufacturer::AstraZeneca,
        cvx: "210",
        dcc_vp: COVID_VACCINES,
        dcc_mp: "EU/1/21/1529",
        dcc_ma: "ORG-100001699",
        approved_in_japan: ymd(2021, 5, 21), // (unverified) recollection, agrees with the brief
        min_interval_days: FOUR_WEEKS,
        lot_pattern: None,
    },
    // Novavax (manufactured and distributed by Takeda in Japan).
    NUVAXOVID,
    VaccineProduct {
        code: "nuvaxovid-jn1",
        name: "Nuvaxovid Omicron JN.1",
        name_ja: "ヌバキソビッド筋注1mL（1価：オミクロン株JN.1）",
        cvx: "313",
        approved_in_japan: ymd(2024, 9, 5),
        ..NUVAXOVID // 6–11 years: primary series 3 weeks apart
    },
    // Janssen: single-dose primary; a booster at least 2 months later. Not used in the public
    // programme, but approved and so recordable.
    VaccineProduct {
        code: "jcovden",
        name: "Jcovden",
        name_ja: "ジェコビデン筋注",
        manufacturer: Manufacturer::Janssen,
        cvx: "212",
        dcc_vp: COVID_VACCINES,
        dcc_mp: "EU/1/20/1525",
        dcc_ma: "ORG-100001417",
        approved_in_japan: ymd(2022, 6, 20),
        min_interval_days: TWO_MONTHS,
        lot_pattern: None,
    },
    // Daiichi Sankyo (boosters only).
    DAICHIRONA,
    VaccineProduct {
        code: "daichirona-xbb15",
        name: "Daichirona Omicron XBB.1.5",
        name_ja: "ダイチロナ筋注（1価：オミクロン株XBB.1.5）",
        approved_in_japan: ymd(2023, 11, 28),
        ..DAICHIRONA
    },
    VaccineProduct {
        code: "daichirona-jn1",
        name: "Daichirona Omicron JN.1",
        name_ja: "ダイチロナ筋注（1価：オミクロン株JN.1）",
        approved_in_japan: ymd(2024, 9, 2),
        ..DAICHIRONA
    },
    // Meiji Seika Pharma / Arcturus (self-amplifying mRNA, "replicon").
    KOSTAIVE,
    VaccineProduct {
        code: "kostaive-jn1",
        name: "Kostaive Omicron JN.1",
        name_ja: "コスタイベ筋注用（1価：オミクロン株JN.1）",
        // The maker's release is dated 2024-09-13; the approval may carry the day before.
        approved_in_japan: ymd(2024, 9, 13),
        ..KOSTAIVE
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_lower_kebab() {
        let mut codes: Vec<&str> = CATALOGUE.iter().map(|p| p.code).collect();
        for c in &codes {
            assert!(
                c.chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-'),
                "{c}"
            );
        }
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), CATALOGUE.len());
    }

    #[test]
    fn rows_are_well_formed_and_variants_follow_their_original() {
        for p in &CATALOGUE {
            let brand = p.code.split('-').next().unwrap();
            let original = CATALOGUE.iter().find(|o| o.code == brand).unwrap();
            assert!(
                p.approved_in_japan >= original.approved_in_japan,
                "{}",
                p.code
            );
            assert_eq!(p.manufacturer, original.manufacturer, "{}", p.code);
            assert!(p.approved_in_japan >= ymd(2021, 2, 14), "{}", p.code);
            assert!(p.min_interval_days >= 17, "{}", p.code);
            assert!(
                p.cvx.len() == 3 && p.cvx.bytes().all(|b| b.is_ascii_digit()),
                "{}",
                p.code
            );
            assert!(
                [MRNA, ANTIGEN, COVID_VACCINES].contains(&p.dcc_vp),
                "{}",
                p.code
            );
        }
    }
}
