//! Synthetic targets for demos, tests and benchmarks: realistic Japanese names with kana, birth dates
//! across all ages, valid My Numbers and unique coupon numbers, deterministic for a seed. None of them
//! is a real person; My Numbers are random 11-digit stems with a correct check digit.

use std::io::Write;

use chrono::{Days, NaiveDate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use vrs_domain::{
    format_wareki, format_wareki_short, AtenaNumber, CouponNumber, KanaName, MunicipalityCode,
    MyNumber, PersonName, Resident, Sex,
};

use crate::targets::{Column, Encoding};

const FAMILY: &[(&str, &str)] = &[
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
    ("小林", "コバヤシ"),
    ("加藤", "カトウ"),
    ("吉田", "ヨシダ"),
    ("山田", "ヤマダ"),
    ("佐々木", "ササキ"),
    ("山口", "ヤマグチ"),
    ("松本", "マツモト"),
    ("井上", "イノウエ"),
    ("木村", "キムラ"),
    ("林", "ハヤシ"),
    ("斎藤", "サイトウ"),
    ("清水", "シミズ"),
    ("村上", "ムラカミ"),
    ("越智", "オチ"),
    ("真鍋", "マナベ"),
    ("髙橋", "タカハシ"),
];

const GIVEN_MALE: &[(&str, &str)] = &[
    ("蓮", "レン"),
    ("翔太", "ショウタ"),
    ("大輔", "ダイスケ"),
    ("健一", "ケンイチ"),
    ("誠", "マコト"),
    ("浩二", "コウジ"),
    ("隆", "タカシ"),
    ("悠真", "ユウマ"),
    ("湊", "ミナト"),
    ("一郎", "イチロウ"),
    ("正雄", "マサオ"),
    ("勇", "イサム"),
];

const GIVEN_FEMALE: &[(&str, &str)] = &[
    ("花子", "ハナコ"),
    ("美咲", "ミサキ"),
    ("さくら", "サクラ"),
    ("結衣", "ユイ"),
    ("陽菜", "ヒナ"),
    ("恵子", "ケイコ"),
    ("幸子", "サチコ"),
    ("和子", "カズコ"),
    ("由美", "ユミ"),
    ("愛", "アイ"),
    ("芽依", "メイ"),
    ("千代", "チヨ"),
];

/// Deterministic synthetic residents of one municipality.
pub struct Synthetic {
    municipality: MunicipalityCode,
    rng: StdRng,
    next: u64,
    count: u64,
    first_atena: u64,
    /// My Number stems are `(stride · i + offset) mod 10¹¹`: a bijection (stride is coprime to 10),
    /// so no two generated people share a number.
    stride: u128,
    offset: u128,
}

const STEMS: u128 = 100_000_000_000;

impl Synthetic {
    /// `count` residents of `municipality` from `seed`; the same seed gives the same people.
    pub fn new(municipality: MunicipalityCode, count: u64, seed: u64) -> Self {
        let code: u64 = municipality.as_str().parse().unwrap_or(0);
        let mut rng = StdRng::seed_from_u64(seed.wrapping_mul(1_000_003) ^ code);
        let mut stride = rng.gen_range(1_000_000_000..STEMS);
        while stride % 2 == 0 || stride % 5 == 0 {
            stride += 1;
        }
        let offset = rng.gen_range(0..STEMS);
        Self {
            municipality,
            rng,
            next: 0,
            count,
            first_atena: 100_000,
            stride,
            offset,
        }
    }

    fn person(&mut self, i: u64) -> Option<Resident> {
        let (family, family_kana) = FAMILY[self.rng.gen_range(0..FAMILY.len())];
        let sex = if self.rng.gen_bool(0.5) {
            Sex::Male
        } else {
            Sex::Female
        };
        let given_list = if sex == Sex::Male {
            GIVEN_MALE
        } else {
            GIVEN_FEMALE
        };
        let (given, given_kana) = given_list[self.rng.gen_range(0..given_list.len())];
        let first11 = format!(
            "{:011}",
            (self.stride * u128::from(i) + self.offset) % STEMS
        );
        let check = MyNumber::check_digit_of(&first11)?;
        // Ages 0 to 100 on 2021-04-01, the start of the programme.
        let base = NaiveDate::from_ymd_opt(1921, 4, 2)?;
        let birth_date = base.checked_add_days(Days::new(self.rng.gen_range(0..36_524)))?;
        Some(Resident {
            municipality: self.municipality,
            atena: AtenaNumber::parse(&(self.first_atena + i).to_string()).ok()?,
            my_number: MyNumber::parse(&format!("{first11}{check}")).ok()?,
            coupon: CouponNumber::parse(&format!("{:010}", i + 1)).ok()?,
            name: PersonName::parse(&format!("{family}\u{3000}{given}")).ok()?,
            name_kana: KanaName::parse(&format!("{family_kana}\u{3000}{given_kana}")).ok()?,
            birth_date,
            sex,
            moved_out_on: None,
            deceased_on: None,
            moved_in_from: None,
        })
    }
}

impl Iterator for Synthetic {
    type Item = Resident;

    fn next(&mut self) -> Option<Resident> {
        while self.next < self.count {
            let i = self.next;
            self.next += 1;
            if let Some(p) = self.person(i) {
                return Some(p);
            }
        }
        None
    }
}

/// Writes a targets CSV (header row, CRLF) in `encoding`. Birth dates alternate between the styles
/// registry systems export: ISO, `YYYYMMDD`, 和暦 in kanji and abbreviated 和暦.
pub fn write_targets(
    out: &mut impl Write,
    encoding: Encoding,
    residents: impl IntoIterator<Item = Resident>,
) -> std::io::Result<u64> {
    let header: Vec<&str> = Column::ALL.iter().map(|c| c.ja()).collect();
    write_line(out, encoding, &header.join(","))?;
    let mut n = 0u64;
    let mut line = String::with_capacity(160);
    for r in residents {
        let birth = match n % 4 {
            0 => r.birth_date.format("%Y-%m-%d").to_string(),
            1 => format_wareki(r.birth_date),
            2 => format_wareki_short(r.birth_date),
            _ => r.birth_date.format("%Y%m%d").to_string(),
        };
        line.clear();
        use std::fmt::Write as _;
        let _ = write!(
            line,
            "{},{},{},{},{},{},{},{},{}",
            r.my_number.expose(),
            r.atena,
            r.municipality,
            r.coupon,
            r.name.as_str(),
            r.name_kana.as_str(),
            birth,
            r.sex.code(),
            r.moved_in_from.map(|c| c.to_string()).unwrap_or_default()
        );
        write_line(out, encoding, &line)?;
        n += 1;
    }
    Ok(n)
}

fn write_line(out: &mut impl Write, encoding: Encoding, line: &str) -> std::io::Result<()> {
    match encoding {
        Encoding::Utf8 => out.write_all(line.as_bytes())?,
        Encoding::Cp932 => {
            let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(line);
            if unmappable {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "a character has no CP932 form",
                ));
            }
            out.write_all(&bytes)?;
        }
    }
    out.write_all(b"\r\n")
}
