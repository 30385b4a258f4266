//! Conformance cases for the open data: open counts summed per prefecture or per municipality and
//! replaced with the municipality's counts, and a release of files replaced as a whole.

use super::*;
use vrs_domain::OpenAgeGroup;
use vrs_store::Areas;
use vrs_store::{OpenCount, OpenFile, OpenGrain};

fn open(d: &str, sex: Sex, group: OpenAgeGroup, n: u8, product: &str, doses: u64) -> OpenCount {
    OpenCount {
        day: day(d),
        sex,
        age_group: group,
        dose_number: n,
        product_group: product.into(),
        doses,
    }
}

pub async fn open_counts_sum_per_prefecture_or_municipality_and_a_release_is_replaced_whole(
    db: &TestDb,
) {
    let s = &db.store;
    let a = open(
        "2021-06-01",
        Sex::Female,
        OpenAgeGroup::A65Plus,
        1,
        "pfizer",
        12,
    );
    let b = open(
        "2021-06-02",
        Sex::Male,
        OpenAgeGroup::A12to64,
        2,
        "moderna",
        30,
    );
    let with = |seq, open: Vec<OpenCount>| AreaStatistics {
        source_seq: seq,
        computed_at: Some(at("2026-05-01T00:00:00Z")),
        open,
        ..Default::default()
    };
    // 西条市 and 松山市 are both in 愛媛県; 千代田区 in 東京都.
    s.area(code(SAIJO))
        .replace_statistics(&with(1, vec![b.clone(), a.clone()]))
        .await
        .unwrap();
    s.area(code(MATSUYAMA))
        .replace_statistics(&with(1, vec![a.clone()]))
        .await
        .unwrap();
    s.area(code(CHIYODA))
        .replace_statistics(&with(1, vec![b.clone()]))
        .await
        .unwrap();
    let by_prefecture = s.open_counts(OpenGrain::Prefecture).await.unwrap();
    let seen: Vec<(String, OpenCount)> = by_prefecture
        .into_iter()
        .map(|r| (r.area, r.count))
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                "38".into(),
                OpenCount {
                    doses: 24,
                    ..a.clone()
                }
            ),
            ("13".into(), b.clone()),
            ("38".into(), b.clone()),
        ]
    );
    let by_municipality = s.open_counts(OpenGrain::Municipality).await.unwrap();
    assert_eq!(by_municipality.len(), 4);
    assert!(by_municipality
        .iter()
        .any(|r| r.area == MATSUYAMA && r.count == a));
    // A newer computation replaces the municipality's open counts with the rest.
    s.area(code(MATSUYAMA))
        .replace_statistics(&with(2, vec![]))
        .await
        .unwrap();
    let after = s.open_counts(OpenGrain::Prefecture).await.unwrap();
    assert_eq!(after[0].count, a);

    // Releases: none at first, then the files as stored, then replaced as a whole.
    assert!(s.open_release().await.unwrap().is_empty());
    assert_eq!(s.open_file("summary.json").await.unwrap(), None);
    let file = |name: &str, body: &[u8]| OpenFile {
        name: name.into(),
        content_type: "application/json".into(),
        body: body.to_vec(),
        etag: format!("\"{name}\""),
        generated_at: at("2026-05-02T21:00:00.5Z"),
    };
    s.put_open_release(&[file("summary.json", b"{}"), file("daily.csv", b"a,b\n")])
        .await
        .unwrap();
    let index = s.open_release().await.unwrap();
    assert_eq!(
        index
            .iter()
            .map(|f| (f.name.as_str(), f.size))
            .collect::<Vec<_>>(),
        [("daily.csv", 4), ("summary.json", 2)]
    );
    assert_eq!(
        s.open_file("daily.csv").await.unwrap(),
        Some(file("daily.csv", b"a,b\n"))
    );
    s.put_open_release(&[file("summary.json", b"{\"n\":1}")])
        .await
        .unwrap();
    assert_eq!(s.open_file("daily.csv").await.unwrap(), None);
    assert_eq!(
        s.open_file("summary.json").await.unwrap().unwrap().body,
        b"{\"n\":1}"
    );
}
