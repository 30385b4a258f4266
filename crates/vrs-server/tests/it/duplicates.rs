//! Duplicate people over real HTTP, on SQLite and on PostgreSQL: a scan finds a planted pair, staff
//! merge it (the person page shows the doses on the kept person), undo the merge, and dismiss
//! another candidate; bad input is a 4xx naming the field; another municipality's staff find
//! nothing of ours (404) and a site tablet may not open the pages (403).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;
use vrs_store::on_both_backends;
use vrs_store::testkit::code;
use vrs_store::Areas;

use chrono::NaiveDate;
use support::{hidden, TestApp, LGWAN, PASSWORD};
use vrs_domain::{
    AtenaNumber, CouponNumber, Dose, DoseRecord, DoseSource, LotNumber, MyNumber, PersonName,
    Resident, VaccineProduct,
};
use vrs_store::{AuditEntry, Candidate, CandidateKind, CandidateStatus};

on_both_backends!(TestApp: staff_review_merge_unmerge_and_dismiss_duplicates_of_their_own_municipality);

const SAIJO: &str = "382060";

/// `r` registered again under 宛名番号 `atena` with a new coupon and My Number.
fn again(r: &Resident, atena: u64) -> Resident {
    let mut t = r.clone();
    t.atena = AtenaNumber::parse(&atena.to_string()).unwrap();
    t.coupon = CouponNumber::parse(&format!("{:010}", 8_000_000_000 + atena)).unwrap();
    let first11 = format!("{:011}", 66_000_000_000 + atena);
    let check = MyNumber::check_digit_of(&first11).unwrap();
    t.my_number = MyNumber::parse(&format!("{first11}{check}")).unwrap();
    t
}

fn dose(r: &Resident, n: u8, day: &str) -> DoseRecord {
    DoseRecord {
        dose: Dose {
            municipality: r.municipality,
            atena: r.atena.clone(),
            dose_number: vrs_domain::DoseNumber::from_int(n).unwrap(),
            administered_on: day.parse::<NaiveDate>().unwrap(),
            product: VaccineProduct::by_code("comirnaty").unwrap(),
            lot_number: LotNumber::parse("FA4597").unwrap(),
            site_municipality: r.municipality,
            coupon: r.coupon,
        },
        venue: String::new(),
        doctor: String::new(),
        recorded_at: chrono::Utc::now(),
        source: DoseSource::Tablet,
        received_from: None,
    }
}

/// A planted pair (kept, copy) with one dose each, and a second pair (c, d) to dismiss.
async fn plant(app: &TestApp) -> [Resident; 4] {
    let s = code(SAIJO);
    let mut base = vrs_interop::Synthetic::new(s, 2, 31);
    let (kept, c) = (base.next().unwrap(), base.next().unwrap());
    let copy = again(&kept, 700_001);
    let mut d = again(&c, 700_002);
    d.name = PersonName::parse(&format!("{}子", c.name.as_str())).unwrap();
    let audit = AuditEntry::now("test", "test", "local", "resident.put", "x");
    for p in [&kept, &copy, &c, &d] {
        app.db.store.area(s).put_resident(p, &audit).await.unwrap();
    }
    let doses = [dose(&kept, 2, "2021-06-30"), dose(&copy, 1, "2021-06-02")];
    app.db
        .store
        .area(s)
        .add_doses(&doses, "site", &audit)
        .await
        .unwrap();
    for (user, role, m) in [
        ("saijo-staff", "municipal_staff", SAIJO),
        ("chiyoda-staff", "municipal_staff", "131016"),
        ("saijo-tablet", "site_tablet", SAIJO),
    ] {
        app.account(user, role, Some(m), false).await;
    }
    [kept, copy, c, d]
}

fn pair_id(a: &Resident, b: &Resident) -> String {
    Candidate::pair(
        CandidateKind::KanaBirthSex,
        &a.atena,
        &b.atena,
        chrono::Utc::now(),
    )
    .candidate_id
}

async fn staff_review_merge_unmerge_and_dismiss_duplicates_of_their_own_municipality(
    app: &TestApp,
) {
    let [kept, copy, c, d] = plant(app).await;
    let s = code(SAIJO);
    let staff = app.browser(LGWAN);
    staff.login("saijo-staff", PASSWORD).await;
    let page = staff.get("/duplicates").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("重複者の確認"));
    let csrf = hidden(&page.body, "csrf").unwrap();
    // The scan sends inquiries about the municipality's movers: never from the internet.
    let outside = app.browser(support::INTERNET);
    outside.login("saijo-staff", PASSWORD).await;
    let outside_csrf = hidden(&outside.get("/duplicates").await.body, "csrf").unwrap_or_default();
    let refused = outside
        .post("/duplicates/scan", &[("csrf", &outside_csrf)])
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    let scanned = staff.post("/duplicates/scan", &[("csrf", &csrf)]).await;
    assert_eq!(scanned.status, 200, "{}", scanned.body);
    assert!(scanned.body.contains("照合しました"), "{}", scanned.body);
    let queue = staff.get("/duplicates").await;
    let (merge_pair, dismiss_pair) = (pair_id(&kept, &copy), pair_id(&c, &d));
    assert!(queue.body.contains(&merge_pair), "{}", queue.body);
    assert!(queue.body.contains(&dismiss_pair));
    assert!(queue.body.contains(kept.name.as_str()) && queue.body.contains("二重登録"));
    // Bad input: a 4xx naming the field.
    let (k, m) = (kept.atena.as_str(), copy.atena.as_str());
    let bad = [
        (
            vec![("kept", k), ("merged", k), ("reason", "同一")],
            422,
            "merged",
        ),
        (
            vec![("kept", k), ("merged", m), ("reason", " ")],
            422,
            "reason",
        ),
        (
            vec![("kept", "x1"), ("merged", m), ("reason", "r")],
            422,
            "kept",
        ),
    ];
    for (fields, status, field) in bad {
        let mut form = fields;
        form.push(("csrf", csrf.as_str()));
        let page = staff.post("/duplicates/merge", &form).await;
        assert_eq!(page.status, status, "{field}: {}", page.body);
        assert!(page.body.contains(field), "{field}: {}", page.body);
    }
    let unknown = staff
        .post(
            "/duplicates/Dnope/dismiss",
            &[("csrf", &csrf), ("reason", "r")],
        )
        .await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.body.contains("id: "));
    // Merge: the person page shows both doses on the kept person.
    let merged = staff
        .post(
            "/duplicates/merge",
            &[
                ("csrf", &csrf),
                ("kept", k),
                ("a", k),
                ("b", m),
                ("reason", "接種券再発行"),
            ],
        )
        .await;
    assert_eq!(merged.status, 303, "{}", merged.body);
    let person = staff.get(&format!("/records/{k}")).await;
    assert!(person.body.contains("2021-06-02") && person.body.contains("2021-06-30"));
    assert_eq!(staff.get(&format!("/records/{m}")).await.status, 404);
    let merge_id = app.db.store.area(s).person_merges().await.unwrap()[0]
        .merge_id
        .clone();
    // Another municipality's staff reach nothing of ours; a tablet may not open the pages.
    let other = app.browser(LGWAN);
    other.login("chiyoda-staff", PASSWORD).await;
    let theirs = other.get("/duplicates").await;
    assert_eq!(theirs.status, 200);
    assert!(!theirs.body.contains(kept.name.as_str()) && !theirs.body.contains(&merge_id));
    let ocsrf = hidden(&theirs.body, "csrf").unwrap();
    let reason = [("csrf", ocsrf.as_str()), ("reason", "r")];
    let undo = format!("/duplicates/merges/{merge_id}/unmerge");
    assert_eq!(other.post(&undo, &reason).await.status, 404);
    let dismiss = format!("/duplicates/{dismiss_pair}/dismiss");
    assert_eq!(other.post(&dismiss, &reason).await.status, 404);
    let tablet = app.browser(LGWAN);
    tablet.login("saijo-tablet", PASSWORD).await;
    assert_eq!(tablet.get("/duplicates").await.status, 403);
    // Unmerge: both people are back.
    let undone = staff
        .post(&undo, &[("csrf", &csrf), ("reason", "別人と判明")])
        .await;
    assert_eq!(undone.status, 303, "{}", undone.body);
    assert_eq!(staff.get(&format!("/records/{m}")).await.status, 200);
    assert_eq!(
        app.db
            .store
            .area(s)
            .doses_of(&kept.atena)
            .await
            .unwrap()
            .len(),
        1
    );
    let again = staff
        .post(&undo, &[("csrf", &csrf), ("reason", "again")])
        .await;
    assert_eq!(again.status, 409);
    // Dismiss: the candidate leaves the queue.
    let dismissed = staff
        .post(&dismiss, &[("csrf", &csrf), ("reason", "別人")])
        .await;
    assert_eq!(dismissed.status, 303, "{}", dismissed.body);
    let open = app
        .db
        .store
        .area(s)
        .duplicate_candidates(Some(CandidateStatus::Open))
        .await
        .unwrap();
    assert!(open.iter().all(|c| c.candidate_id != dismiss_pair));
    assert!(open.iter().any(|c| c.candidate_id == merge_pair));
}
