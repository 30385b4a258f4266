//! The public open data on both backends: the stored open counts equal a recount of the records;
//! no count from 1 to 9 can be read from a release, directly or by differencing its files against
//! each other and against the next release; nothing personal or of a municipality is published
//! unless the operator enables municipality-level files.

use super::*;
use vrs_core::statistics::view::{dashboard, Audience};
use vrs_domain::Cell;
use vrs_store::Areas;

/// Every number anywhere in a JSON value, with its path.
fn numbers(v: &serde_json::Value, path: String, out: &mut BTreeMap<String, f64>) {
    match v {
        serde_json::Value::Number(n) => {
            out.insert(path, n.as_f64().unwrap());
        }
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                // Arrays of areas or days are keyed by their code or date, so two releases line up.
                let key = x
                    .get("code")
                    .or_else(|| x.get("date"))
                    .or_else(|| x.get("age_band"))
                    .and_then(|k| k.as_str())
                    .map_or(i.to_string(), str::to_owned);
                numbers(x, format!("{path}/{key}"), out);
            }
        }
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                numbers(x, format!("{path}/{k}"), out);
            }
        }
        _ => {}
    }
}

/// The counts of a release: each daily record's count (a number, or none for `<10`) and every
/// count of the summary (coverage percentages and settings left out).
struct Release {
    daily: BTreeMap<String, Option<u64>>,
    summary: serde_json::Value,
    counts: BTreeMap<String, f64>,
    files: BTreeMap<String, Vec<u8>>,
}

async fn release(store: &dyn Store) -> Release {
    let mut files = BTreeMap::new();
    for f in store.open_release().await.unwrap() {
        let body = vrs_core::statistics::opendata::read_file(store, &f)
            .await
            .unwrap();
        assert_eq!(body.len() as u64, f.size, "{}", f.name);
        files.insert(f.name, body);
    }
    let daily = vrs_core::statistics::opendata::daily_counts(&files["daily.ndjson"])
        .into_iter()
        .map(|(k, v)| (k, v.as_u64()))
        .collect();
    let summary: serde_json::Value = serde_json::from_slice(&files["summary.json"]).unwrap();
    let mut all = BTreeMap::new();
    numbers(&summary, String::new(), &mut all);
    let counts = all
        .into_iter()
        .filter(|(k, _)| {
            !k.contains("coverage_percent")
                && !k.ends_with("suppressed_below")
                && !k.ends_with("rounded_to")
        })
        .collect();
    Release {
        daily,
        summary,
        counts,
        files,
    }
}

fn small(d: f64) -> bool {
    (1.0..10.0).contains(&d.abs())
}

/// The differences a reader could take within one release: each prefecture's total doses against
/// its daily records, the nation against its prefectures (doses, targets, people with n doses),
/// and each day of the nation against that day's records.
fn differences_within(r: &Release) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    let s = &r.summary;
    let mut by_prefecture: BTreeMap<String, f64> = BTreeMap::new();
    let mut by_day_dose: BTreeMap<(String, u64), f64> = BTreeMap::new();
    for (key, count) in &r.daily {
        let record: serde_json::Value = serde_json::from_str(key).unwrap();
        let n = count.unwrap_or(0) as f64;
        *by_prefecture
            .entry(record["prefecture"].as_str().unwrap().to_owned())
            .or_default() += n;
        *by_day_dose
            .entry((
                record["date"].as_str().unwrap().to_owned(),
                record["dose_number"].as_u64().unwrap(),
            ))
            .or_default() += n;
    }
    for p in s["prefectures"].as_array().unwrap() {
        if let Some(total) = p["doses"].as_f64() {
            let code = p["code"].as_str().unwrap();
            let sum = by_prefecture.get(code).copied().unwrap_or(0.0);
            out.push((
                format!("prefecture {code} doses − its records"),
                total - sum,
            ));
        }
    }
    let prefectures = s["prefectures"].as_array().unwrap();
    let mut fields = vec!["doses".to_owned(), "targets".to_owned()];
    fields.extend((1..=3).map(|n| format!("people_with_at_least/{n}")));
    for f in fields {
        let pointer = format!("/{f}");
        if let Some(nation) = s["nation"].pointer(&pointer).and_then(|v| v.as_f64()) {
            let sum: f64 = prefectures
                .iter()
                .filter_map(|p| p.pointer(&pointer).and_then(|v| v.as_f64()))
                .sum();
            out.push((format!("nation {f} − prefectures"), nation - sum));
        }
    }
    for d in s["daily"].as_array().unwrap() {
        let date = d["date"].as_str().unwrap();
        for (n, v) in d["doses"].as_object().unwrap() {
            if let Some(v) = v.as_f64() {
                let sum = by_day_dose
                    .get(&(date.to_owned(), n.parse().unwrap()))
                    .copied()
                    .unwrap_or(0.0);
                out.push((format!("nation on {date} dose {n} − records"), v - sum));
            }
        }
    }
    out
}

pub(super) async fn open_data_never_lets_a_count_from_1_to_9_be_recovered(db: &TestDb) {
    use vrs_core::statistics::opendata::{publish, OpenDataSettings};
    let store = db.store.as_ref();
    let mut rng = Lcg(24);
    let people = populate_over(store, 400, &mut rng, 3).await;
    refresh(store, today()).await.unwrap();

    // The stored open counts equal a recount of the records.
    let mut recounted: BTreeMap<String, u64> = BTreeMap::new();
    for p in &people {
        let m = p.municipality;
        for d in store.area(m).doses_of(&p.atena).await.unwrap() {
            let d = &d.dose;
            let group = vrs_domain::OpenAgeGroup::of(AgeBand::on(p.birth_date, d.administered_on));
            let key = format!(
                "{m} {} {:?} {} {} {}",
                d.administered_on,
                p.sex,
                group.code(),
                d.dose_number,
                vrs_domain::opendata::product_group(d.product.code)
            );
            *recounted.entry(key).or_default() += 1;
        }
    }
    let stored: BTreeMap<String, u64> = store
        .open_counts(vrs_store::OpenGrain::Municipality)
        .await
        .unwrap()
        .all()
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            let c = r.count;
            (
                format!(
                    "{} {} {:?} {} {} {}",
                    r.area,
                    c.day,
                    c.sex,
                    c.age_group.code(),
                    c.dose_number,
                    c.product_group
                ),
                c.doses,
            )
        })
        .collect();
    assert_eq!(stored, recounted);

    let t1 = chrono::Utc::now();
    publish(store, &OpenDataSettings::default(), t1)
        .await
        .unwrap();
    let first = release(store).await;
    assert!(first.daily.len() > 50, "{} records", first.daily.len());

    // Directly: every count is <10 or a multiple of ten of at least ten; a record's count follows
    // the stored truth.
    let truth: BTreeMap<(String, String), u64> = store
        .open_counts(vrs_store::OpenGrain::Prefecture)
        .await
        .unwrap()
        .all()
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            let c = r.count;
            (
                (
                    r.area,
                    format!("{} {} {}", c.day, c.age_group.code(), c.dose_number),
                ),
                c.doses,
            )
        })
        .fold(BTreeMap::new(), |mut m, (k, v)| {
            *m.entry(k).or_default() += v;
            m
        });
    assert!(
        truth.values().any(|&n| n > 0 && n < 10),
        "no small count to hide"
    );
    let marks = vrs_core::statistics::opendata::daily_counts(&first.files["daily.ndjson"]);
    let mut shown = 0;
    for (key, count) in &first.daily {
        let record: serde_json::Value = serde_json::from_str(key).unwrap();
        assert!(record.get("municipality").is_none());
        match count {
            Some(n) => {
                assert!(*n >= 10 && n % 10 == 0, "{key}: {n}");
                shown += 1;
            }
            None => assert_eq!(marks[key], serde_json::json!("<10")),
        }
    }
    assert!(shown > 10, "too few shown counts to test ({shown})");
    for (path, v) in &first.counts {
        assert!(*v == 0.0 || (*v >= 10.0 && v % 10.0 == 0.0), "{path}: {v}");
    }

    // The totals are the staff statistics' suppressed totals, rounded to ten.
    let staff = |scope| dashboard(store, scope, Audience::Outside);
    let rounded =
        |c: Cell| vrs_core::statistics::opendata::cell_json(vrs_domain::opendata::publish_cell(c));
    let nation = staff(StatScope::Nation).await.unwrap();
    assert_eq!(
        first.summary["nation"]["doses"],
        rounded(nation.daily.total.unwrap())
    );
    assert_eq!(
        first.summary["nation"]["targets"],
        rounded(nation.coverage.column_totals[0])
    );
    for p in first.summary["prefectures"].as_array().unwrap() {
        let code = PrefectureCode::parse(p["code"].as_str().unwrap()).unwrap();
        let d = staff(StatScope::Prefecture(code)).await.unwrap();
        assert_eq!(p["doses"], rounded(d.daily.total.unwrap()), "{code}");
        for (k, cell) in d.coverage.column_totals.iter().enumerate().skip(1) {
            assert_eq!(
                p["people_with_at_least"][k.to_string()],
                rounded(*cell),
                "{code} ≥{k}"
            );
        }
    }
    assert_eq!(first.summary["prefectures"].as_array().unwrap().len(), 47);

    // Nothing personal and nothing of a municipality: no code or name of one, no person's name,
    // no date before the campaign (a birth date), no 宛名番号.
    for (name, body) in &first.files {
        let text = match name.ends_with(".sjis.csv") {
            true => encoding_rs::SHIFT_JIS.decode(body).0.into_owned(),
            false => String::from_utf8(body.clone()).unwrap(),
        };
        for a in AREAS {
            assert!(!text.contains(a), "{name} names municipality {a}");
            let m = code(a).info().full_name();
            assert!(!text.contains(&m), "{name} names {m}");
        }
        for p in people.iter().take(50) {
            assert!(!text.contains(p.name.as_str()), "{name} holds a name");
            assert!(!text.contains(p.name_kana.as_str()), "{name} holds a name");
            assert!(!text.contains(p.atena.as_str()), "{name} holds a 宛名番号");
        }
        // Every date is a day of the campaign, never a birth date.
        let dates = text.match_indices('-').filter_map(|(i, _)| {
            let start = i.checked_sub(4)?;
            text.get(start..i)
                .filter(|y| y.bytes().all(|b| b.is_ascii_digit()))
        });
        for year in dates {
            assert!(year >= "2021", "{name} holds a date of {year}");
        }
    }
    assert!(!first.files.contains_key("municipalities.ndjson"));

    // Within the release: no difference of its figures is 1–9.
    let within = differences_within(&first);
    assert!(within.len() > 20);
    for (what, d) in &within {
        assert!(!small(*d), "{what}: {d}");
    }

    // A day later, three late registrations for a past day in 西条市 (and nothing else).
    let saijo = code("382060");
    let true_total = || async {
        let s = store.scope_statistics(StatScope::Nation).await.unwrap();
        s.daily.iter().map(|d| d.doses).sum::<u64>()
    };
    let true_before = true_total().await;
    let mut added = 0;
    for p in people.iter().filter(|p| p.municipality == saijo) {
        if added == 3 {
            break;
        }
        if store
            .area(saijo)
            .doses_of(&p.atena)
            .await
            .unwrap()
            .is_empty()
        {
            let d = dose(
                p,
                1,
                NaiveDate::from_ymd_opt(2021, 6, 10).unwrap(),
                "comirnaty",
            );
            store
                .area(saijo)
                .add_doses(&[d], "late", &audit())
                .await
                .unwrap();
            added += 1;
        }
    }
    assert_eq!(added, 3);
    refresh(store, today()).await.unwrap();
    assert_eq!(true_total().await, true_before + 3);
    publish(
        store,
        &OpenDataSettings::default(),
        t1 + chrono::Duration::days(1),
    )
    .await
    .unwrap();
    let second = release(store).await;
    // The true national total moved by exactly 3; what is published moved by 0 or 10.
    let published = |r: &Release| r.summary["nation"]["doses"].as_f64().unwrap();
    let moved = published(&second) - published(&first);
    assert!(moved == 0.0 || moved == 10.0, "{moved}");
    for (key, a) in &first.daily {
        if let (Some(a), Some(Some(b))) = (a, second.daily.get(key)) {
            assert!(!small(*b as f64 - *a as f64), "{key}: {a} → {b}");
        }
    }
    let mut compared = 0;
    for (path, a) in &first.counts {
        if let Some(b) = second.counts.get(path) {
            assert!(!small(b - a), "{path}: {a} → {b}");
            compared += 1;
        }
    }
    assert!(compared > 100, "{compared}");
    for (what, d) in differences_within(&second) {
        assert!(!small(d), "{what}: {d}");
    }
}

pub(super) async fn municipality_level_open_data_only_when_enabled(db: &TestDb) {
    use vrs_core::statistics::opendata::{publish, OpenDataSettings};
    let store = db.store.as_ref();
    let mut rng = Lcg(5);
    populate(store, 40, &mut rng).await;
    refresh(store, today()).await.unwrap();
    let on = OpenDataSettings {
        municipalities: true,
        ..OpenDataSettings::default()
    };
    publish(store, &on, chrono::Utc::now()).await.unwrap();
    let r = release(store).await;
    let municipal = String::from_utf8(r.files["municipalities.ndjson"].clone()).unwrap();
    assert!(municipal.contains("\"municipality\":\"382060\""));
    assert!(municipal.contains("西条市"));
    for line in municipal.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let c = &v["count"];
        assert!(
            c == "<10" || c.as_u64().is_some_and(|n| n >= 10 && n % 10 == 0),
            "{line}"
        );
    }
    let csv = encoding_rs::SHIFT_JIS
        .decode(&r.files["municipalities.sjis.csv"])
        .0
        .into_owned();
    assert!(csv.starts_with("date,prefecture,prefecture_name,municipality,municipality_name,sex"));
    assert!(csv.contains("愛媛県") && csv.contains("千代田区"));
    let listed: Vec<&str> = r.summary["municipalities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["code"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["131016", "382019", "382060"]);
    // Turned off again, the next release has none of it.
    publish(store, &OpenDataSettings::default(), chrono::Utc::now())
        .await
        .unwrap();
    let r = release(store).await;
    assert!(!r.files.contains_key("municipalities.ndjson"));
    assert!(r.summary.get("municipalities").is_none());
    // UTF-8 with a byte-order mark (so a spreadsheet reads it as UTF-8), lines ending CRLF.
    let daily = String::from_utf8(r.files["daily.csv"].clone()).unwrap();
    assert!(daily.starts_with(
        "\u{feff}date,prefecture,prefecture_name,sex,age_group,dose_number,product_group,count\r\n"
    ));
    assert!(!daily.contains("382060"));
}

/// A release larger than a part: at the country's size the daily files are hundreds of megabytes,
/// built a day at a time and stored in parts of at most a mebibyte. Read back part by part, each
/// file is whole: every record once, in published order across the days, its size and `ETag`
/// those of its bytes.
pub(super) async fn a_release_larger_than_a_part_is_stored_in_parts_and_reads_back_whole(
    db: &TestDb,
) {
    use vrs_core::statistics::opendata::{publish, read_file, OpenDataSettings};
    use vrs_domain::OpenAgeGroup;
    use vrs_store::{AreaStatistics, OpenCount};
    let store = db.store.as_ref();
    let start = NaiveDate::from_ymd_opt(2021, 2, 17).unwrap();
    let days = 400u64;
    let mut open = Vec::new();
    for d in 0..days {
        let day = start.checked_add_days(chrono::Days::new(d)).unwrap();
        for sex in [Sex::Male, Sex::Female] {
            for group in [OpenAgeGroup::A12to64, OpenAgeGroup::A65Plus] {
                for n in 1..=3u8 {
                    open.push(OpenCount {
                        day,
                        sex,
                        age_group: group,
                        dose_number: n,
                        product_group: "pfizer".into(),
                        doses: 10 + d,
                    });
                }
            }
        }
    }
    let rows_per_area = open.len();
    // 西条市 (愛媛県) and 千代田区 (東京都): two prefectures each day.
    for area in ["382060", "131016"] {
        let stats = AreaStatistics {
            source_seq: 1,
            computed_at: Some(chrono::Utc::now()),
            open: open.clone(),
            ..Default::default()
        };
        store
            .area(code(area))
            .replace_statistics(&stats)
            .await
            .unwrap();
    }
    let published = publish(store, &OpenDataSettings::default(), chrono::Utc::now())
        .await
        .unwrap();
    let ndjson = published.iter().find(|f| f.name == "daily.ndjson").unwrap();
    assert!(ndjson.parts > 1, "{} parts", ndjson.parts);
    for f in &published {
        let body = read_file(store, f).await.unwrap();
        assert_eq!(body.len() as u64, f.size, "{}", f.name);
        let digest = vrs_crypto::sha256(&body);
        assert_eq!(
            f.etag,
            format!("\"{}\"", hex::encode(&digest[..16])),
            "{}",
            f.name
        );
        assert_eq!(store.open_file(&f.name).await.unwrap().as_ref(), Some(f));
        if f.name == "daily.ndjson" {
            let lines: Vec<serde_json::Value> = body
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .map(|l| serde_json::from_slice(l).unwrap())
                .collect();
            assert_eq!(lines.len(), 2 * rows_per_area);
            let keys: Vec<(String, String)> = lines
                .iter()
                .map(|v| {
                    (
                        v["date"].as_str().unwrap().to_owned(),
                        v["prefecture"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            let mut sorted = keys.clone();
            sorted.sort();
            assert_eq!(keys, sorted, "records out of published order");
            assert_eq!(keys[0], ("2021-02-17".into(), "13".into()));
        }
        if f.name == "daily.csv" {
            let text = String::from_utf8(body).unwrap();
            assert_eq!(text.lines().count(), 2 * rows_per_area + 1);
        }
    }
}
