//! Conformance case for the duplicate scan's kanji signal: the pairs found in SQL through the kanji
//! and kana search indexes are exactly those a plain recount of the opened rows gives, within one
//! area; rows stored without the indexes are indexed on the first search, to the same bytes.

use std::collections::HashMap;
use vrs_store::Areas;

use chrono::NaiveDate;
use vrs_domain::{AtenaNumber, KanaName, MunicipalityCode, PersonName, Resident, Sex};
use vrs_store::testkit::TestDb;

use super::{audit, code, resident, CHIYODA, SAIJO};

type Pairs = Vec<(AtenaNumber, AtenaNumber)>;

async fn put(db: &TestDb, r: &Resident) {
    db.store
        .area(r.municipality)
        .put_resident(r, &audit("resident.put", r.atena.as_str()))
        .await
        .unwrap();
}

fn person(area: &str, atena: u64, kanji: &str, kana: &str, birth: NaiveDate, sex: Sex) -> Resident {
    let mut r = resident(area, atena);
    r.name = PersonName::parse(kanji).unwrap();
    r.name_kana = KanaName::parse(kana).unwrap();
    r.birth_date = birth;
    r.sex = sex;
    r
}

fn squeeze(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The kanji signal counted from the area's opened rows: same kanji name (spaces ignored), birth
/// date and sex, different kana (spaces ignored), lower 宛名番号 first.
async fn recount(db: &TestDb, scope: MunicipalityCode) -> Pairs {
    let mut groups: HashMap<(String, NaiveDate, u8), Vec<(AtenaNumber, String)>> = HashMap::new();
    let mut after: Option<AtenaNumber> = None;
    loop {
        let page = db
            .store
            .area(scope)
            .residents_page(after.as_ref(), 50)
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.atena.clone());
        for r in page {
            let key = (squeeze(r.name.as_str()), r.birth_date, r.sex.code());
            let kana = squeeze(r.name_kana.as_str());
            groups.entry(key).or_default().push((r.atena, kana));
        }
    }
    let mut pairs = Vec::new();
    for people in groups.values() {
        for (i, (a, kana_a)) in people.iter().enumerate() {
            for (b, kana_b) in &people[i + 1..] {
                if kana_a != kana_b {
                    pairs.push(if a < b {
                        (a.clone(), b.clone())
                    } else {
                        (b.clone(), a.clone())
                    });
                }
            }
        }
    }
    pairs.sort();
    pairs
}

async fn found(db: &TestDb, scope: MunicipalityCode) -> Pairs {
    db.store
        .area(scope)
        .duplicate_pairs_by_kanji_birth_sex()
        .await
        .unwrap()
}

/// A small deterministic generator (xorshift), so a failing set can be rebuilt.
struct Draw(u64);

impl Draw {
    fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        from[(self.0 % from.len() as u64) as usize]
    }
}

pub async fn kanji_birth_sex_pairs_equal_a_recount_of_the_opened_rows_also_before_the_index(
    db: &TestDb,
) {
    let day = |d| NaiveDate::from_ymd_opt(1961, 4, d).unwrap();
    // Planted: the same kanji (with and without its space), birth date and sex.
    let planted = |area, atena, kana, birth, sex| {
        let kanji = if atena % 2 == 0 {
            "西条　花子"
        } else {
            "西条花子"
        };
        person(area, atena, kanji, kana, birth, sex)
    };
    let first = planted(SAIJO, 7001, "サイジョウ　ハナコ", day(1), Sex::Female);
    let typo = planted(SAIJO, 7002, "サイジョウ　ハナ", day(1), Sex::Female);
    // The same kana as the first, written without its space: the kana signal's, not this one's.
    let same_kana = planted(SAIJO, 7003, "サイジョウハナコ", day(1), Sex::Female);
    let other_sex = planted(SAIJO, 7004, "サイジョウ　ハナ", day(1), Sex::Male);
    let other_birth = planted(SAIJO, 7005, "サイジョウ　ハナ", day(2), Sex::Female);
    let elsewhere = planted(CHIYODA, 7006, "サイジョウ　ハナ", day(1), Sex::Female);
    for r in [
        &first,
        &typo,
        &same_kana,
        &other_sex,
        &other_birth,
        &elsewhere,
    ] {
        put(db, r).await;
    }
    // A random crowd from small pools, in both areas, so groups hold several people each.
    let kanji = ["山田　太郎", "山田太郎", "佐藤　一郎", "佐藤　一朗"];
    let kana = [
        "ヤマダ　タロウ",
        "ヤマダタロウ",
        "ヤマダ　タロ",
        "サトウ　イチロウ",
    ];
    let births = [day(1), day(2), day(3)];
    let mut draw = Draw(0x9e37_79b9_7f4a_7c15);
    for (area, atenas) in [(SAIJO, 5000..5120), (CHIYODA, 6000..6040)] {
        for atena in atenas {
            let sex = draw.pick(&[Sex::Male, Sex::Female]);
            let r = person(
                area,
                atena,
                draw.pick(&kanji),
                draw.pick(&kana),
                draw.pick(&births),
                sex,
            );
            put(db, &r).await;
        }
    }

    let (saijo, chiyoda) = (code(SAIJO), code(CHIYODA));
    let pairs = found(db, saijo).await;
    assert_eq!(pairs, recount(db, saijo).await);
    assert!(pairs.len() > 20, "the crowd forms pairs: {}", pairs.len());
    let with_planted: Vec<(&str, &str)> = pairs
        .iter()
        .filter(|(a, _)| a.as_str().starts_with("700"))
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(
        with_planted,
        vec![("7001", "7002"), ("7002", "7003")],
        "different kana pairs; same kana, other sex or birth date, or another area do not"
    );
    let theirs = found(db, chiyoda).await;
    assert_eq!(theirs, recount(db, chiyoda).await);
    assert!(theirs
        .iter()
        .all(|(a, b)| a.as_str().starts_with('6') && b.as_str().starts_with('6')));

    // Rows stored before the kanji index (and any without the kana or the birth date's one) are
    // indexed on the first scan of their area, to the bytes a write gives, then found the same;
    // the kana signal's scan does the same.
    let kana_pairs = db
        .store
        .area(saijo)
        .duplicate_pairs_by_kana_birth_sex()
        .await
        .unwrap();
    assert!(
        !kana_pairs.is_empty(),
        "the drawn area holds kana pairs too"
    );
    let indexed = db.snapshot("residents").await;
    let forget = "UPDATE residents SET kanji_birth_index = NULL; \
         UPDATE residents SET kana_birth_index = NULL WHERE atena_number LIKE '%3'; \
         UPDATE residents SET birth_index = NULL WHERE atena_number LIKE '%5'";
    db.exec(forget).await.unwrap();
    assert_ne!(db.snapshot("residents").await, indexed);
    assert_eq!(found(db, saijo).await, pairs);
    assert_eq!(found(db, chiyoda).await, theirs);
    assert_eq!(db.snapshot("residents").await, indexed);
    db.exec(forget).await.unwrap();
    assert_eq!(
        db.store
            .area(saijo)
            .duplicate_pairs_by_kana_birth_sex()
            .await
            .unwrap(),
        kana_pairs
    );
    assert_eq!(found(db, saijo).await, pairs);
    assert_eq!(found(db, chiyoda).await, theirs);
    assert_eq!(db.snapshot("residents").await, indexed);
}
