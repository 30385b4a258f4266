//! Conformance cases for the bulk import at the storage level: rows are staged, checked against
//! each other and against the area, and merged in one transaction; a second import of the same rows
//! changes nothing; another area's people are untouched.

use vrs_store::testkit::TestDb;
use vrs_store::Areas;
use vrs_store::{ImportRow, ImportSummary, Rejection};

use super::{audit, code, resident, CHIYODA, SAIJO};

async fn import(db: &TestDb, rows: Vec<ImportRow>) -> (Vec<(u64, Rejection)>, ImportSummary) {
    let mut import = db.store.area(code(SAIJO)).begin_import().await.unwrap();
    let sealer = import.sealer();
    let (first, second) = rows.split_at(rows.len() / 2);
    for part in [first, second] {
        import
            .stage(sealer.seal(part.to_vec()).unwrap())
            .await
            .unwrap();
    }
    let refused = import.check().await.unwrap();
    let lines: Vec<u64> = refused.iter().map(|(l, _)| *l).collect();
    let summary = import
        .commit(&lines, audit("residents.import", "file.csv"))
        .await
        .unwrap();
    (refused, summary)
}

fn row(line: u64, atena: u64) -> ImportRow {
    ImportRow {
        line,
        resident: resident(SAIJO, atena),
    }
}

pub async fn an_import_merges_its_rows_refuses_repeats_and_leaves_other_areas_alone(db: &TestDb) {
    let other = resident(CHIYODA, 1);
    db.store
        .area(code(CHIYODA))
        .put_resident(&other, &audit("resident.put", "1"))
        .await
        .unwrap();
    // Line 4 repeats the person of line 2.
    let rows = vec![row(2, 1), row(3, 2), row(4, 1), row(5, 3)];
    let (refused, summary) = import(db, rows.clone()).await;
    assert_eq!(
        refused,
        vec![(4, Rejection::DuplicateAtena { first_line: 2 })]
    );
    assert_eq!((summary.added, summary.rejected), (3, 1));
    for atena in [1, 2, 3] {
        let r = resident(SAIJO, atena);
        assert_eq!(
            db.store.area(code(SAIJO)).resident(&r.atena).await.unwrap(),
            r
        );
    }
    // The same file again: nothing changes; a changed person is updated.
    let mut again = vec![row(2, 1), row(3, 2), row(5, 3)];
    let (_, summary) = import(db, again.clone()).await;
    assert_eq!(
        (summary.added, summary.updated, summary.unchanged),
        (0, 0, 3)
    );
    again[1].resident.sex = vrs_domain::Sex::Male;
    again[1].resident.coupon = vrs_domain::CouponNumber::parse("0000000099").unwrap();
    let (_, summary) = import(db, again.clone()).await;
    assert_eq!(
        (summary.added, summary.updated, summary.unchanged),
        (0, 1, 2)
    );
    assert_eq!(
        db.store
            .area(code(SAIJO))
            .resident(&again[1].resident.atena)
            .await
            .unwrap(),
        again[1].resident
    );
    // A coupon held by another person of the area is refused.
    let mut taken = row(6, 4);
    taken.resident.coupon = again[1].resident.coupon;
    let (refused, summary) = import(db, vec![taken, row(7, 5)]).await;
    assert_eq!(refused, vec![(6, Rejection::CouponTaken)]);
    assert_eq!((summary.added, summary.rejected), (1, 1));
    // Two new people of one file with one coupon: only the coupon repeats, and only the later
    // line is refused.
    let first = row(8, 6);
    let mut second = row(9, 7);
    second.resident.coupon = first.resident.coupon;
    let (refused, summary) = import(db, vec![first, second]).await;
    assert_eq!(
        refused,
        vec![(9, Rejection::DuplicateCoupon { first_line: 8 })]
    );
    assert_eq!((summary.added, summary.rejected), (1, 1));
    assert_eq!(
        db.store
            .area(code(CHIYODA))
            .resident(&other.atena)
            .await
            .unwrap(),
        other
    );
}
