//! Conformance cases for inquiries between municipalities (provision records on both sides) and the
//! municipality a received dose came from.

use chrono::{DateTime, NaiveDate, Utc};
use vrs_domain::{ConsentBasis, CouponNumber, DoseSource, LotNumber};
use vrs_store::testkit::TestDb;
use vrs_store::Areas;
use vrs_store::{
    AuditScope, ProvidedDose, ProvisionFilter, ProvisionRecord, ProvisionSide, StoreError,
};

use super::{audit, code, dose, resident, CHIYODA, SAIJO};

const SAPPORO: &str = "011002";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn provided_dose(n: u8) -> ProvidedDose {
    ProvidedDose {
        dose_number: vrs_domain::DoseNumber::from_int(n).unwrap(),
        administered_on: NaiveDate::from_ymd_opt(2021, 6, 1).unwrap()
            + chrono::Days::new(u64::from(n) * 21),
        product_code: "comirnaty".into(),
        lot_number: format!("FA{n:04}"),
        coupon: CouponNumber::parse("0000000031").unwrap(),
        site_municipality: code(SAIJO),
    }
}

/// One side's record of inquiry `id` kept by `owner`, naming `counterpart`, at `when`.
fn record(
    owner: &str,
    side: ProvisionSide,
    id: &str,
    counterpart: &str,
    when: &str,
) -> ProvisionRecord {
    ProvisionRecord {
        municipality: code(owner),
        inquiry_id: id.into(),
        side,
        counterpart: code(counterpart),
        at: at(when),
        actor: "staff-9".into(),
        terminal: "lgwan".into(),
        consent: ConsentBasis::Consent,
        atena: None,
        found: true,
        doses: Vec::new(),
    }
}

/// Both sides of inquiry `id`: `asker` asks `provider`, who provides two doses of person 31.
fn pair(asker: &str, provider: &str, id: &str, when: &str) -> (ProvisionRecord, ProvisionRecord) {
    let mut inquired = record(asker, ProvisionSide::Inquired, id, provider, when);
    inquired.doses = vec![provided_dose(1), provided_dose(2)];
    let mut provided = record(provider, ProvisionSide::Provided, id, asker, when);
    provided.atena = Some(vrs_domain::AtenaNumber::parse("31").unwrap());
    provided.doses = inquired.doses.clone();
    (inquired, provided)
}

async fn ask(
    db: &TestDb,
    inquired: &ProvisionRecord,
    provided: Option<&ProvisionRecord>,
) -> Result<(), StoreError> {
    let asked = audit("inquiry.ask", &inquired.inquiry_id);
    let answered = audit("inquiry.provide", &inquired.inquiry_id);
    db.store
        .record_inquiry(inquired, &asked, provided.map(|p| (p, &answered)))
        .await
}

async fn chain(db: &TestDb, scope: AuditScope) -> Vec<vrs_store::AuditRecord> {
    db.store.audit_log(scope, 1, 1000).await.unwrap()
}

async fn list(db: &TestDb, scope: &str, filter: ProvisionFilter) -> Vec<String> {
    db.store
        .area(code(scope))
        .provision_records(&filter)
        .await
        .unwrap()
        .into_iter()
        .map(|r| format!("{}:{}", r.side.as_str(), r.inquiry_id))
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

pub async fn an_inquiry_records_both_sides_with_audit_in_both_chains_and_no_my_number(db: &TestDb) {
    let person = resident(SAIJO, 31);
    db.store
        .area(code(SAIJO))
        .put_resident(&person, &audit("resident.put", "31"))
        .await
        .unwrap();
    let (inquired, provided) = pair(CHIYODA, SAIJO, "inq-1", "2024-04-01T10:00:00.123456Z");
    ask(db, &inquired, Some(&provided)).await.unwrap();
    let s = &db.store;
    assert_eq!(
        s.area(code(CHIYODA))
            .provision_record("inq-1", ProvisionSide::Inquired)
            .await
            .unwrap(),
        inquired
    );
    assert_eq!(
        s.area(code(SAIJO))
            .provision_record("inq-1", ProvisionSide::Provided)
            .await
            .unwrap(),
        provided
    );
    assert!(matches!(
        s.area(code(CHIYODA))
            .provision_record("inq-1", ProvisionSide::Provided)
            .await,
        Err(StoreError::NotFound)
    ));
    let asker = chain(db, code(CHIYODA).into()).await;
    let provider = chain(db, code(SAIJO).into()).await;
    assert_eq!(asker.len(), 1);
    assert_eq!(asker[0].entry.action, "inquiry.ask");
    assert_eq!(provider.len(), 2);
    assert_eq!(provider[1].entry.action, "inquiry.provide");
    assert_eq!(provider[1].seq, 2);
    // Neither side's record nor any audit entry holds the person's My Number.
    let dump = db.dump().await;
    assert!(
        contains(&dump, b"inq-1"),
        "the dump holds the provision records"
    );
    assert!(!contains(&dump, person.my_number.expose().as_bytes()));
}

pub async fn an_inquiry_that_finds_nobody_writes_only_the_asking_side(db: &TestDb) {
    let mut inquired = record(
        CHIYODA,
        ProvisionSide::Inquired,
        "inq-2",
        SAIJO,
        "2024-04-02T10:00:00Z",
    );
    inquired.found = false;
    ask(db, &inquired, None).await.unwrap();
    assert_eq!(
        db.store
            .area(code(CHIYODA))
            .provision_records(&ProvisionFilter::default())
            .await
            .unwrap(),
        vec![inquired]
    );
    assert!(db
        .store
        .area(code(SAIJO))
        .provision_records(&ProvisionFilter::default())
        .await
        .unwrap()
        .is_empty());
    assert_eq!(chain(db, code(CHIYODA).into()).await.len(), 1);
    assert!(chain(db, code(SAIJO).into()).await.is_empty());
    assert_eq!(db.store.audit_head(code(SAIJO).into()).await.unwrap(), None);
}

pub async fn a_duplicate_inquiry_id_is_a_conflict_and_writes_nothing(db: &TestDb) {
    let (inquired, provided) = pair(CHIYODA, SAIJO, "inq-3", "2024-04-03T10:00:00Z");
    ask(db, &inquired, Some(&provided)).await.unwrap();
    let tables = [
        "provision_records",
        "provision_doses",
        "audit_log",
        "audit_heads",
    ];
    let mut before = Vec::new();
    for t in tables {
        before.push(db.snapshot(t).await);
    }
    let heads = |db: &TestDb| {
        let s = db.store.clone();
        async move {
            let mut out = Vec::new();
            for c in [CHIYODA, SAIJO, SAPPORO] {
                out.push(s.audit_head(code(c).into()).await.unwrap());
            }
            out
        }
    };
    let heads_before = heads(db).await;
    // The same inquiry again.
    let err = ask(db, &inquired, Some(&provided)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    // A new asker whose inquiry ID collides only on the provider's side: its own (new) record and
    // audit entry are not written either.
    let (fresh, colliding) = pair(SAPPORO, SAIJO, "inq-3", "2024-04-03T11:00:00Z");
    let err = ask(db, &fresh, Some(&colliding)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    for (t, rows) in tables.iter().zip(&before) {
        assert_eq!(&db.snapshot(t).await, rows, "{t} changed");
    }
    assert_eq!(heads(db).await, heads_before);
    assert!(db
        .store
        .area(code(SAPPORO))
        .provision_records(&ProvisionFilter::default())
        .await
        .unwrap()
        .is_empty());
}

pub async fn a_municipality_reads_only_its_own_provision_records(db: &TestDb) {
    let (inquired, provided) = pair(CHIYODA, SAIJO, "inq-4", "2024-04-04T10:00:00Z");
    ask(db, &inquired, Some(&provided)).await.unwrap();
    let all = ProvisionFilter::default();
    assert_eq!(list(db, CHIYODA, all.clone()).await, ["inquired:inq-4"]);
    assert_eq!(list(db, SAIJO, all.clone()).await, ["provided:inq-4"]);
    assert!(list(db, SAPPORO, all).await.is_empty());
    for side in [ProvisionSide::Inquired, ProvisionSide::Provided] {
        assert!(matches!(
            db.store
                .area(code(SAPPORO))
                .provision_record("inq-4", side)
                .await,
            Err(StoreError::NotFound)
        ));
    }
    assert!(matches!(
        db.store
            .area(code(SAIJO))
            .provision_record("inq-4", ProvisionSide::Inquired)
            .await,
        Err(StoreError::NotFound)
    ));
}

pub async fn provision_records_filter_by_side_prefix_and_time(db: &TestDb) {
    let times = [
        "2024-05-01T09:00:00.000001Z",
        "2024-05-01T09:00:00.000002Z",
        "2024-05-02T09:00:00Z",
        "2024-05-03T09:00:00Z",
        "2024-05-04T09:00:00Z",
    ];
    for (id, when) in [
        ("b1-1", times[0]),
        ("b1-2", times[1]),
        ("a_1", times[2]),
        ("ab1", times[3]),
    ] {
        let (inquired, provided) = pair(CHIYODA, SAIJO, id, when);
        ask(db, &inquired, Some(&provided)).await.unwrap();
    }
    // Saijo asks Chiyoda once: Chiyoda keeps the provided side.
    let (inquired, provided) = pair(SAIJO, CHIYODA, "p-1", times[4]);
    ask(db, &inquired, Some(&provided)).await.unwrap();
    let f =
        |side, from: Option<&str>, to: Option<&str>, prefix: Option<&str>, limit| ProvisionFilter {
            side,
            from: from.map(at),
            to: to.map(at),
            inquiry_prefix: prefix.map(str::to_owned),
            limit,
        };
    let all = list(db, CHIYODA, f(None, None, None, None, 0)).await;
    assert_eq!(
        all,
        [
            "provided:p-1",
            "inquired:ab1",
            "inquired:a_1",
            "inquired:b1-2",
            "inquired:b1-1"
        ]
    );
    let inquired_only = list(
        db,
        CHIYODA,
        f(Some(ProvisionSide::Inquired), None, None, None, 0),
    )
    .await;
    assert_eq!(inquired_only, all[1..]);
    let provided_only = list(
        db,
        CHIYODA,
        f(Some(ProvisionSide::Provided), None, None, None, 0),
    )
    .await;
    assert_eq!(provided_only, ["provided:p-1"]);
    let batch = list(db, CHIYODA, f(None, None, None, Some("b1-"), 0)).await;
    assert_eq!(batch, ["inquired:b1-2", "inquired:b1-1"]);
    // `_` and `%` in a prefix are characters, not patterns.
    assert_eq!(
        list(db, CHIYODA, f(None, None, None, Some("a_"), 0)).await,
        ["inquired:a_1"]
    );
    assert!(list(db, CHIYODA, f(None, None, None, Some("%"), 0))
        .await
        .is_empty());
    // From inclusive, to exclusive, to the microsecond.
    let range = list(
        db,
        CHIYODA,
        f(None, Some(times[1]), Some(times[3]), None, 0),
    )
    .await;
    assert_eq!(range, ["inquired:a_1", "inquired:b1-2"]);
    assert_eq!(
        list(db, CHIYODA, f(None, None, None, None, 2)).await,
        all[..2]
    );
    // Every record comes back with its doses, exactly as written.
    let records = db
        .store
        .area(code(CHIYODA))
        .provision_records(&ProvisionFilter::default())
        .await
        .unwrap();
    assert!(records
        .iter()
        .all(|r| r.doses == [provided_dose(1), provided_dose(2)]));
    assert_eq!(records[4].at, at(times[0]));
}

pub async fn provision_records_refuse_update_and_delete(db: &TestDb) {
    let (inquired, provided) = pair(CHIYODA, SAIJO, "inq-6", "2024-04-06T10:00:00Z");
    ask(db, &inquired, Some(&provided)).await.unwrap();
    for sql in [
        "UPDATE provision_records SET actor = 'someone-else'",
        "DELETE FROM provision_records",
        "UPDATE provision_doses SET lot_number = 'XX0000'",
        "DELETE FROM provision_doses",
    ] {
        let refused = db.exec(sql).await;
        assert!(
            refused.as_ref().is_err_and(|e| e.contains("append-only")),
            "{sql}: {refused:?}"
        );
    }
    assert_eq!(
        db.store
            .area(code(SAIJO))
            .provision_record("inq-6", ProvisionSide::Provided)
            .await
            .unwrap(),
        provided
    );
}

pub async fn a_received_dose_keeps_its_provider_through_add_read_and_correction(db: &TestDb) {
    let person = resident(SAIJO, 41);
    db.store
        .area(code(SAIJO))
        .put_resident(&person, &audit("resident.put", "41"))
        .await
        .unwrap();
    let mut received = dose(&person, 1);
    received.source = DoseSource::Inquiry;
    received.received_from = Some(code(CHIYODA));
    let own = dose(&person, 2);
    db.store
        .area(code(SAIJO))
        .add_doses(
            &[received.clone(), own.clone()],
            "staff-1",
            &audit("dose.import", "41"),
        )
        .await
        .unwrap();
    let stored = db
        .store
        .area(code(SAIJO))
        .doses_of(&person.atena)
        .await
        .unwrap();
    assert_eq!(stored, vec![received.clone(), own]);
    let page = db
        .store
        .area(code(SAIJO))
        .area_doses(None, 10)
        .await
        .unwrap();
    assert_eq!(page[0].doses, stored);
    // A correction states the dose anew; where it came from stays as stored.
    let mut corrected = received.clone();
    corrected.dose.lot_number = LotNumber::parse("FB1234").unwrap();
    corrected.received_from = None;
    corrected.source = DoseSource::Staff;
    db.store
        .area(code(SAIJO))
        .correct_dose(&received, &corrected, &audit("dose.correct", "41"))
        .await
        .unwrap();
    let after = db
        .store
        .area(code(SAIJO))
        .doses_of(&person.atena)
        .await
        .unwrap();
    assert_eq!(after[0].dose.lot_number.as_str(), "FB1234");
    assert_eq!(after[0].received_from, Some(code(CHIYODA)));
    assert_eq!(after[0].source, DoseSource::Inquiry);
    assert_eq!(after[1].received_from, None);
}

pub async fn a_bulk_job_is_kept_once_and_read_only_by_its_municipality(db: &TestDb) {
    let job = |batch: &str, when: &str| vrs_store::InquiryJob {
        municipality: code(SAIJO),
        batch: batch.into(),
        created_by: "staff-9".into(),
        created_at: at(when),
        rows: 3,
        found: 1,
        not_found: 1,
        refused: 0,
        invalid: 1,
        results_csv: "行番号,結果\r\n2,該当あり\r\n".into(),
    };
    let s = &db.store;
    let first = job("B-20261101-00000001", "2026-11-01T09:00:00.000001Z");
    s.save_inquiry_job(&first, &audit("inquiry.send", &first.batch))
        .await
        .unwrap();
    let second = job("B-20261102-00000002", "2026-11-02T09:00:00Z");
    s.save_inquiry_job(&second, &audit("inquiry.send", &second.batch))
        .await
        .unwrap();
    let head = s.audit_head(AuditScope::Area(code(SAIJO))).await.unwrap();
    assert!(matches!(
        s.save_inquiry_job(&first, &audit("inquiry.send", "again"))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        s.audit_head(AuditScope::Area(code(SAIJO))).await.unwrap(),
        head
    );
    let listed = s.area(code(SAIJO)).inquiry_jobs(10).await.unwrap();
    let batches: Vec<&str> = listed.iter().map(|j| j.batch.as_str()).collect();
    assert_eq!(batches, [second.batch.as_str(), first.batch.as_str()]);
    assert!(listed.iter().all(|j| j.results_csv.is_empty()));
    assert_eq!(s.area(code(SAIJO)).inquiry_jobs(1).await.unwrap().len(), 1);
    assert_eq!(
        s.area(code(SAIJO)).inquiry_job(&first.batch).await.unwrap(),
        first
    );
    s.activate_municipality(code(CHIYODA)).await.unwrap();
    assert!(matches!(
        s.area(code(CHIYODA)).inquiry_job(&first.batch).await,
        Err(StoreError::NotFound)
    ));
    assert!(s
        .area(code(CHIYODA))
        .inquiry_jobs(10)
        .await
        .unwrap()
        .is_empty());
}
