//! The embedded master list of prefectures, municipalities and wards
//! (`data/municipalities.csv`), parsed once into rows that [`MunicipalityCode`] points at.
//!
//! The file is compiled into the binary so a code's validity never depends on a file at run
//! time. It is hand-parsed (no quotes in that file, plain comma split); rows that do not hold
//! together are left out, and a unit test asserts the expected counts so none is lost silently.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Serialize;

use super::{valid_six, MunicipalityCode, PrefectureCode};

const CSV: &str = include_str!("../../../../data/municipalities.csv");

/// What a master-list row is.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MunicipalityKind {
    /// 都道府県 (its code is `pp000c`).
    Prefecture,
    /// 市町村 and Tokyo's special wards (特別区).
    Municipality,
    /// A ward (区) of a designated city (政令指定都市); its parent is the city.
    Ward,
}

impl MunicipalityKind {
    /// The spelling used in the master list: `prefecture`, `municipality`, `ward`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Prefecture => "prefecture",
            Self::Municipality => "municipality",
            Self::Ward => "ward",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "prefecture" => Some(Self::Prefecture),
            "municipality" => Some(Self::Municipality),
            "ward" => Some(Self::Ward),
            _ => None,
        }
    }
}

/// One row of the master list.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize)]
pub struct Municipality {
    pub code: MunicipalityCode,
    pub kind: MunicipalityKind,
    pub prefecture: PrefectureCode,
    pub name: &'static str,
    /// Reading as given in the master list (hiragana).
    pub kana: &'static str,
    /// The designated city of a ward; `None` otherwise.
    pub parent: Option<MunicipalityCode>,
}

impl Municipality {
    /// "愛媛県西条市"; a prefecture is its own name; a ward: "北海道札幌市中央区".
    pub fn full_name(&self) -> String {
        let prefecture = self.prefecture.info().name;
        match (self.kind, self.parent) {
            (MunicipalityKind::Prefecture, _) => self.name.to_owned(),
            (MunicipalityKind::Ward, Some(city)) => {
                format!("{prefecture}{}{}", city.info().name, self.name)
            }
            _ => format!("{prefecture}{}", self.name),
        }
    }

    /// The English name documents read abroad carry, from the reading in passport Hepburn:
    /// "Chiyoda City, Tokyo", "Chuo Ward, Sapporo City, Hokkaido", "Tobetsu Town, Hokkaido".
    pub fn name_en(&self) -> String {
        let mut own = english_of(self.name, self.kana);
        let mut parts = Vec::new();
        if let (MunicipalityKind::Ward, Some(city)) = (self.kind, self.parent) {
            if let Some(stem) = own.strip_suffix(" City") {
                own = format!("{stem} Ward");
            }
            parts.push(own);
            parts.push(english_of(city.info().name, city.info().kana));
        } else {
            parts.push(own);
        }
        if self.kind != MunicipalityKind::Prefecture {
            let p = self.prefecture.info();
            parts.push(english_of(p.name, p.kana));
        }
        parts.join(", ")
    }
}

/// "千代田区"/"ちよだく" → "Chiyoda City" (Tokyo's special wards are cities in English); prefectures lose their suffix ("Tokyo", "Ehime").
fn english_of(name: &str, kana: &str) -> String {
    const SUFFIXES: [(&str, &[&str], &str); 8] = [
        ("都", &["と"], ""),
        ("道", &[], ""),
        ("府", &["ふ"], ""),
        ("県", &["けん"], ""),
        ("市", &["し"], " City"),
        ("区", &["く"], " City"),
        ("町", &["ちょう", "まち"], " Town"),
        ("村", &["そん", "むら"], " Village"),
    ];
    for (kanji, readings, english) in SUFFIXES {
        if !name.ends_with(kanji) {
            continue;
        }
        let stem = readings
            .iter()
            .find_map(|r| kana.strip_suffix(r))
            .unwrap_or(kana);
        let romaji = crate::romaji::hepburn(stem).unwrap_or_default();
        return format!("{}{english}", crate::romaji::title_case(&romaji));
    }
    crate::romaji::title_case(&crate::romaji::hepburn(kana).unwrap_or_default())
}

/// Every row of the master list in file order.
pub fn master_list() -> &'static [Municipality] {
    &master().rows
}

/// Municipalities (kind Municipality and Ward) of a prefecture.
pub fn municipalities_of(pref: PrefectureCode) -> impl Iterator<Item = &'static Municipality> {
    master_list()
        .iter()
        .filter(move |m| m.prefecture == pref && m.kind != MunicipalityKind::Prefecture)
}

/// The wards of a designated city (empty for any other code).
pub fn wards_of(city: MunicipalityCode) -> impl Iterator<Item = &'static Municipality> {
    master_list().iter().filter(move |m| m.parent == Some(city))
}

struct Master {
    rows: Vec<Municipality>,
    by_code: HashMap<&'static str, u16>,
    /// Row index of each prefecture's own row, by prefecture number; valid where `has_prefecture`.
    prefecture_rows: [u16; 48],
    has_prefecture: [bool; 48],
}

fn master() -> &'static Master {
    static MASTER: OnceLock<Master> = OnceLock::new();
    MASTER.get_or_init(|| load(CSV))
}

pub(super) fn lookup(digits: &str) -> Option<MunicipalityCode> {
    let m = master();
    m.by_code
        .get(digits)
        .map(|&row| m.rows[usize::from(row)].code)
}

/// The row a code points at. Codes are only made by [`load`] (with their own row number) and
/// by [`lookup`] (which copies a loaded row's code), so the index is always in bounds.
pub(super) fn row(row: u16) -> &'static Municipality {
    &master().rows[usize::from(row)]
}

pub(super) fn has_prefecture(number: u8) -> bool {
    master()
        .has_prefecture
        .get(usize::from(number))
        .copied()
        .unwrap_or(false)
}

/// A prefecture's own row. `PrefectureCode`s are only made for numbers that
/// [`has_prefecture`] accepts, so the entry is always set.
pub(super) fn prefecture_row(number: u8) -> &'static Municipality {
    let m = master();
    &m.rows[usize::from(m.prefecture_rows[usize::from(number)])]
}

/// A line of the file whose fields each make sense on their own.
struct RawRow {
    code: &'static str,
    kind: MunicipalityKind,
    prefecture: u8,
    name: &'static str,
    kana: &'static str,
    parent: Option<&'static str>,
}

fn raw_row(line: &'static str) -> Option<RawRow> {
    let mut fields = line.split(',');
    let (code, kind, pref, name, kana, parent) = (
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
    );
    if fields.next().is_some() || name.is_empty() {
        return None;
    }
    valid_six(code)?;
    let prefecture: u8 = pref.parse().ok().filter(|p| (1..=47).contains(p))?;
    if pref.len() != 2 || !code.starts_with(pref) {
        return None;
    }
    let parent = if parent.is_empty() {
        None
    } else {
        Some(valid_six(parent).map(|_| parent)?)
    };
    Some(RawRow {
        code,
        kind: MunicipalityKind::parse(kind)?,
        prefecture,
        name,
        kana,
        parent,
    })
}

fn load(csv: &'static str) -> Master {
    let csv = csv.strip_prefix('\u{FEFF}').unwrap_or(csv);
    let raw: Vec<RawRow> = csv
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with("code,"))
        .filter_map(raw_row)
        .collect();

    let mut has_prefecture = [false; 48];
    for r in raw
        .iter()
        .filter(|r| r.kind == MunicipalityKind::Prefecture)
    {
        if &r.code[2..5] == "000" {
            has_prefecture[usize::from(r.prefecture)] = true;
        }
    }
    let cities: HashMap<&str, ()> = raw
        .iter()
        .filter(|r| r.kind == MunicipalityKind::Municipality && r.parent.is_none())
        .map(|r| (r.code, ()))
        .collect();
    let holds_together = |r: &RawRow| {
        has_prefecture[usize::from(r.prefecture)]
            && match (r.kind, r.parent) {
                (MunicipalityKind::Ward, Some(p)) => cities.contains_key(p),
                (MunicipalityKind::Prefecture, None) => &r.code[2..5] == "000",
                (MunicipalityKind::Municipality, None) => true,
                _ => false,
            }
    };
    let kept: Vec<&RawRow> = raw
        .iter()
        .filter(|r| holds_together(r))
        .take(usize::from(u16::MAX))
        .collect();

    let by_code: HashMap<&'static str, u16> =
        kept.iter().zip(0u16..).map(|(r, i)| (r.code, i)).collect();
    let mut prefecture_rows = [0u16; 48];
    let mut rows = Vec::with_capacity(kept.len());
    for (r, i) in kept.iter().zip(0u16..) {
        if r.kind == MunicipalityKind::Prefecture {
            prefecture_rows[usize::from(r.prefecture)] = i;
        }
        rows.push(Municipality {
            code: MunicipalityCode::from_master(r.code, i),
            kind: r.kind,
            prefecture: PrefectureCode::from_master(r.prefecture),
            name: r.name,
            kana: r.kana,
            parent: r.parent.and_then(|p| {
                by_code
                    .get(p)
                    .map(|&row| MunicipalityCode::from_master(p, row))
            }),
        });
    }
    Master {
        rows,
        by_code,
        prefecture_rows,
        has_prefecture,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn master_list_has_every_row_of_the_file() {
        let lines = CSV.lines().filter(|l| !l.is_empty()).count();
        assert_eq!(
            master_list().len(),
            lines - 1,
            "a row of the master list was dropped"
        );
    }

    #[test]
    fn master_list_counts_prefectures_municipalities_and_wards() {
        let count = |k| master_list().iter().filter(|m| m.kind == k).count();
        assert_eq!(count(MunicipalityKind::Prefecture), 47);
        assert_eq!(count(MunicipalityKind::Municipality), 1747);
        assert_eq!(count(MunicipalityKind::Ward), 175);
    }

    #[test]
    fn every_code_in_the_master_list_has_a_valid_check_digit_and_parses_to_itself() {
        for m in master_list() {
            assert!(
                MunicipalityCode::has_valid_check_digit(m.code.as_str()),
                "{}",
                m.code
            );
            assert_eq!(MunicipalityCode::parse(m.code.as_str()), Ok(m.code));
            assert!(std::ptr::eq(m.code.info(), m));
        }
    }

    #[test]
    fn codes_are_unique_and_in_file_order() {
        let codes: Vec<&str> = master_list().iter().map(|m| m.code.as_str()).collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), codes.len());
        let first_line = CSV.lines().nth(1).unwrap();
        assert!(first_line.starts_with(codes[0]));
    }

    #[test]
    fn each_prefecture_row_is_its_own_info() {
        for number in 1..=47u8 {
            let pref = PrefectureCode::parse(&number.to_string()).unwrap();
            let row = pref.info();
            assert_eq!(row.kind, MunicipalityKind::Prefecture);
            assert_eq!(row.prefecture, pref);
            assert_eq!(row.code.prefecture(), pref);
        }
    }

    #[test]
    fn a_ward_names_its_city_and_prefecture() {
        let chuo = MunicipalityCode::parse("011011").unwrap().info();
        assert_eq!(chuo.kind, MunicipalityKind::Ward);
        assert_eq!(chuo.full_name(), "北海道札幌市中央区");
        let sapporo = chuo.parent.unwrap();
        assert_eq!(sapporo.as_str(), "011002");
        assert_eq!(wards_of(sapporo).count(), 10);
        assert_eq!(
            wards_of(MunicipalityCode::parse("382060").unwrap()).count(),
            0
        );
        assert_eq!(
            MunicipalityCode::parse("010006")
                .unwrap()
                .info()
                .full_name(),
            "北海道"
        );
        assert_eq!(
            MunicipalityCode::parse("131016")
                .unwrap()
                .info()
                .full_name(),
            "東京都千代田区"
        );
    }

    #[test]
    fn municipalities_of_a_prefecture_exclude_the_prefecture_row() {
        let ehime = PrefectureCode::parse("38").unwrap();
        let all: Vec<_> = municipalities_of(ehime).collect();
        assert!(all.iter().all(|m| m.prefecture == ehime));
        assert!(all.iter().all(|m| m.kind != MunicipalityKind::Prefecture));
        assert!(all.iter().any(|m| m.name == "西条市"));
        let in_file = CSV
            .lines()
            .filter(|l| l.contains(",municipality,38,"))
            .count();
        assert_eq!(all.len(), in_file);
    }
}

#[cfg(test)]
mod english_names {
    use crate::MunicipalityCode;

    #[test]
    fn english_names_from_the_reading() {
        for (code, english) in [
            ("131016", "Chiyoda City, Tokyo"),
            ("382060", "Saijo City, Ehime"),
            ("011011", "Chuo Ward, Sapporo City, Hokkaido"),
            ("011002", "Sapporo City, Hokkaido"),
        ] {
            assert_eq!(
                MunicipalityCode::parse(code).unwrap().info().name_en(),
                english
            );
        }
        // Every row has an English name made only of Latin letters.
        for m in crate::master_list() {
            let en = m.name_en();
            assert!(
                !en.is_empty()
                    && en
                        .chars()
                        .all(|c| c.is_ascii_alphabetic() || " ,".contains(c)),
                "{} → {en:?}",
                m.name
            );
        }
    }
}
