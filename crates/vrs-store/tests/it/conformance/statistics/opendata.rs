//! Conformance cases for the open data: open counts summed per prefecture or per municipality and
//! replaced with the municipality's counts, read as a stream of batches, and a release of files
//! stored in parts and published as a whole.

use super::*;
use vrs_domain::OpenAgeGroup;
use vrs_store::Areas;
use vrs_store::{OpenCount, OpenFileInfo, OpenGrain};

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
    let by_prefecture = s
        .open_counts(OpenGrain::Prefecture)
        .await
        .unwrap()
        .all()
        .await
        .unwrap();
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
    let by_municipality = s
        .open_counts(OpenGrain::Municipality)
        .await
        .unwrap()
        .all()
        .await
        .unwrap();
    assert_eq!(by_municipality.len(), 4);
    assert!(by_municipality
        .iter()
        .any(|r| r.area == MATSUYAMA && r.count == a));
    // A newer computation replaces the municipality's open counts with the rest.
    s.area(code(MATSUYAMA))
        .replace_statistics(&with(2, vec![]))
        .await
        .unwrap();
    let after = s
        .open_counts(OpenGrain::Prefecture)
        .await
        .unwrap()
        .all()
        .await
        .unwrap();
    assert_eq!(after[0].count, a);

    // Releases: none at first, then the files as stored, then replaced as a whole.
    assert!(s.open_release().await.unwrap().is_empty());
    assert_eq!(s.open_file("summary.json").await.unwrap(), None);
    let r1 = [
        stored(s.as_ref(), "r1", "summary.json", &[b"{}"]).await,
        stored(s.as_ref(), "r1", "daily.csv", &[b"a,", b"b\n"]).await,
    ];
    s.publish_open_release(&r1).await.unwrap();
    assert_eq!(
        s.open_release().await.unwrap(),
        vec![r1[1].clone(), r1[0].clone()]
    );
    let csv = s.open_file("daily.csv").await.unwrap().unwrap();
    assert_eq!(csv, r1[1]);
    assert_eq!(s.open_part(&csv, 0).await.unwrap().unwrap(), b"a,");
    assert_eq!(s.open_part(&csv, 1).await.unwrap().unwrap(), b"b\n");
    assert_eq!(s.open_part(&csv, 2).await.unwrap(), None);

    // A release with a part missing, or naming two releases, is refused with nothing changed.
    let r2 = [file("r2", "summary.json", &[b"{\"n\":1}", b" "])];
    s.put_open_part("r2", "summary.json", 0, b"{\"n\":1}")
        .await
        .unwrap();
    s.publish_open_release(&r2).await.unwrap_err();
    s.publish_open_release(&[r2[0].clone(), r1[1].clone()])
        .await
        .unwrap_err();
    // As many parts as the index says, but not numbered from 0 without a gap: refused too.
    s.put_open_part("rg", "summary.json", 0, b"{")
        .await
        .unwrap();
    s.put_open_part("rg", "summary.json", 2, b"}")
        .await
        .unwrap();
    s.publish_open_release(&[file("rg", "summary.json", &[b"{", b"}"])])
        .await
        .unwrap_err();
    assert_eq!(s.open_release().await.unwrap().len(), 2);
    s.put_open_part("r2", "summary.json", 1, b" ")
        .await
        .unwrap();
    // A release never published (its parts stored, then abandoned).
    s.put_open_part("r0", "daily.csv", 0, b"old").await.unwrap();
    s.publish_open_release(&r2).await.unwrap();
    assert_eq!(s.open_file("daily.csv").await.unwrap(), None);
    let summary = s.open_file("summary.json").await.unwrap().unwrap();
    assert_eq!(summary, r2[0]);
    assert_eq!(s.open_part(&summary, 1).await.unwrap().unwrap(), b" ");
    // The replaced release's parts stay for downloads under way; the abandoned one's are gone.
    assert_eq!(s.open_part(&r1[1], 1).await.unwrap().unwrap(), b"b\n");
    let abandoned = file("r0", "daily.csv", &[b"old"]);
    assert_eq!(s.open_part(&abandoned, 0).await.unwrap(), None);
    // The next release deletes them.
    let r3 = [file("r3", "summary.json", &[])];
    s.publish_open_release(&r3).await.unwrap();
    assert_eq!(s.open_part(&r1[1], 0).await.unwrap(), None);
    assert_eq!(
        s.open_part(&summary, 0).await.unwrap().unwrap(),
        b"{\"n\":1}"
    );
    assert_eq!(s.open_release().await.unwrap(), vec![r3[0].clone()]);
}

/// The index entry of a file of `release` made of `parts`.
fn file(release: &str, name: &str, parts: &[&[u8]]) -> OpenFileInfo {
    OpenFileInfo {
        name: name.into(),
        content_type: "application/json".into(),
        size: parts.iter().map(|p| p.len() as u64).sum(),
        etag: format!("\"{release}-{name}\""),
        generated_at: at("2026-05-02T21:00:00.5Z"),
        release: release.into(),
        parts: u32::try_from(parts.len()).unwrap(),
    }
}

/// A file of `release` made of `parts`, its parts stored.
async fn stored(
    s: &dyn vrs_store::Store,
    release: &str,
    name: &str,
    parts: &[&[u8]],
) -> OpenFileInfo {
    for (seq, p) in parts.iter().enumerate() {
        s.put_open_part(release, name, u32::try_from(seq).unwrap(), p)
            .await
            .unwrap();
    }
    file(release, name, parts)
}
