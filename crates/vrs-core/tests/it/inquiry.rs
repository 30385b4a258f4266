//! Inquiry between municipalities, terms and the emergency stop on both backends: a wrong code finds
//! nobody and writes nothing in any other area; the consent rule in all four agreement
//! combinations; provision records on both sides; registering received doses; the bulk job with
//! mixed rows. Terms gating of app issuance with its fixed message, and stops that refuse at once
//! (`inquiry/governance.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "inquiry/governance.rs"]
mod governance;

use governance::{
    a_stopped_function_refuses_at_once_and_resumes, terms_gate_app_issuance_with_the_exact_message,
};
use vrs_store::Areas;

use chrono::NaiveDate;
use vrs_core::governance::{agree, publish_terms};
use vrs_core::inquiry::bulk::{inquire_bulk, BulkError, BulkOutcome};
use vrs_core::inquiry::{
    inquire, register_received, InquiryError, InquiryRequest, RegisterInquiredError,
};
use vrs_core::Actor;
use vrs_domain::{
    AtenaNumber, AuditAction, ConsentBasis, CouponNumber, Dose, DoseRecord, DoseSource, LotNumber,
    MunicipalityCode, QualityRule, Resident, TermsKind, VaccineProduct,
};
use vrs_interop::{EncodingChoice, Synthetic};
use vrs_store::testkit::code;
use vrs_store::testkit::TestDb;
use vrs_store::{AuditFilter, AuditScope, ProvisionFilter, ProvisionSide, Store};

use vrs_store::on_both_backends;

on_both_backends!(
    a_wrong_code_finds_nobody_and_discloses_nothing,
    an_inquiry_about_someone_not_our_resident_reads_nothing_there,
    consent_is_required_unless_both_agreed_to_the_no_consent_terms,
    both_sides_keep_provision_records_and_received_doses_register_once,
    a_bulk_inquiry_answers_good_rows_and_names_bad_ones,
    terms_gate_app_issuance_with_the_exact_message,
    a_stopped_function_refuses_at_once_and_resumes,
);

fn saijo() -> MunicipalityCode {
    code("382060")
}
fn chiyoda() -> MunicipalityCode {
    code("131016")
}
fn sapporo() -> MunicipalityCode {
    code("011002")
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2022, 3, 1).unwrap()
}

fn staff(of: &str) -> Actor {
    Actor {
        user: format!("{of}-staff"),
        role: "municipal_staff".into(),
        terminal: "lgwan".into(),
    }
}

fn operator() -> Actor {
    Actor {
        user: "op-national".into(),
        role: "national_operator".into(),
        terminal: "internet".into(),
    }
}

fn dose(r: &Resident, n: u8, day: (i32, u32, u32)) -> DoseRecord {
    DoseRecord::now(
        Dose {
            municipality: r.municipality,
            atena: r.atena.clone(),
            dose_number: vrs_domain::DoseNumber::from_int(n).unwrap(),
            administered_on: NaiveDate::from_ymd_opt(day.0, day.1, day.2).unwrap(),
            product: VaccineProduct::by_code("comirnaty").unwrap(),
            lot_number: LotNumber::parse("FA4597").unwrap(),
            site_municipality: r.municipality,
            coupon: r.coupon,
        },
        DoseSource::Tablet,
    )
}

/// A 千代田区 person with two doses who moved to 西条市 (imported there with a new 宛名番号), and
/// a second 千代田区 person who did not. Every area is open, 札幌市's too.
async fn moved_person(db: &TestDb) -> (Resident, Resident, Resident) {
    let store = db.store.as_ref();
    let mut people = Synthetic::new(chiyoda(), 2, 11);
    let old = people.next().unwrap();
    let other = people.next().unwrap();
    let audit = staff("chiyoda").audit(AuditAction::TargetsImport, "test");
    for p in [&old, &other] {
        store.area(chiyoda()).put_resident(p, &audit).await.unwrap();
    }
    store
        .area(chiyoda())
        .add_doses(
            &[dose(&old, 1, (2021, 6, 1)), dose(&old, 2, (2021, 6, 22))],
            "chiyoda-tablet",
            &audit,
        )
        .await
        .unwrap();
    let mut new = old.clone();
    new.municipality = saijo();
    new.atena = AtenaNumber::parse("880000000001").unwrap();
    new.coupon = CouponNumber::parse("8800000001").unwrap();
    store
        .area(saijo())
        .put_resident(&new, &audit)
        .await
        .unwrap();
    store.activate_municipality(sapporo()).await.unwrap();
    (old, new, other)
}

fn ask(r: &Resident, former: MunicipalityCode, consent: bool) -> InquiryRequest {
    InquiryRequest {
        my_number: r.my_number.clone(),
        former,
        consent,
    }
}

async fn chain_len(store: &dyn Store, scope: MunicipalityCode) -> i64 {
    store
        .audit_head(AuditScope::Area(scope))
        .await
        .unwrap()
        .map_or(0, |(seq, _)| seq)
}

async fn a_wrong_code_finds_nobody_and_discloses_nothing(db: &TestDb) {
    let store = db.store.as_ref();
    let (_, new, _) = moved_person(db).await;
    let sapporo_before = chain_len(store, sapporo()).await;
    let chiyoda_before = chain_len(store, chiyoda()).await;
    // 札幌市 (open, but the person is not there) and 大阪市 (a valid code with no area here).
    let osaka = code("271004");
    let mut answers = Vec::new();
    for former in [sapporo(), osaka] {
        let a = inquire(store, &staff("saijo"), saijo(), &ask(&new, former, true))
            .await
            .unwrap();
        assert!(!a.found);
        assert!(a.doses.is_empty());
        answers.push((a.found, a.doses, a.own_atena, a.consent));
    }
    assert_eq!(answers[0], answers[1], "the two answers must not differ");
    // Nothing was written in any other area: no provision record, no audit entry.
    assert_eq!(chain_len(store, sapporo()).await, sapporo_before);
    assert_eq!(chain_len(store, chiyoda()).await, chiyoda_before);
    for m in [sapporo(), chiyoda()] {
        let records = store
            .area(m)
            .provision_records(&ProvisionFilter::default())
            .await
            .unwrap();
        assert!(records.is_empty(), "{m}: {records:?}");
    }
    // The asking side recorded both inquiries, as not found, without the number.
    let asked = store
        .area(saijo())
        .provision_records(&ProvisionFilter::default())
        .await
        .unwrap();
    assert_eq!(asked.len(), 2);
    assert!(asked
        .iter()
        .all(|r| !r.found && r.side == ProvisionSide::Inquired));
    let dump = db.dump().await;
    let digits = new.my_number.expose().as_bytes();
    assert!(
        !dump.windows(digits.len()).any(|w| w == digits),
        "a My Number is stored in the clear"
    );
}

/// Regression: staff who knew any My Number could pull that person's doses from any municipality.
/// An inquiry is made only about the asking municipality's own resident: for anyone else it is
/// refused before the named area is read — no provision record and no audit entry there — and the
/// refusal is audited on the asking side without the number.
async fn an_inquiry_about_someone_not_our_resident_reads_nothing_there(db: &TestDb) {
    let store = db.store.as_ref();
    let (old, _, other) = moved_person(db).await;
    let chiyoda_before = chain_len(store, chiyoda()).await;
    let saijo_before = chain_len(store, saijo()).await;
    // `other` lives in 千代田区 and never moved to 西条市; `old` is the 千代田区 record of the mover,
    // whose 西条市 record is another person's row with the same number — that one may be asked.
    let refused = inquire(
        store,
        &staff("saijo"),
        saijo(),
        &ask(&other, chiyoda(), true),
    )
    .await
    .unwrap_err();
    assert!(matches!(refused, InquiryError::NotOwnResident), "{refused}");
    assert!(refused
        .message_ja()
        .contains("住民として登録されていません"));
    assert_eq!(chain_len(store, chiyoda()).await, chiyoda_before);
    assert!(store
        .area(chiyoda())
        .provision_records(&ProvisionFilter::default())
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .area(saijo())
        .provision_records(&ProvisionFilter::default())
        .await
        .unwrap()
        .is_empty());
    assert_eq!(chain_len(store, saijo()).await, saijo_before + 1);
    let logged = store
        .audit_search(
            AuditScope::Area(saijo()),
            &AuditFilter {
                action: Some("inquiry.send".into()),
                limit: 5,
                ..AuditFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(logged[0].entry.outcome, "not_own_resident");
    assert!(!format!("{:?}", logged[0].entry).contains(other.my_number.expose()));
    // The mover's own number is still asked as before.
    assert!(
        inquire(store, &staff("saijo"), saijo(), &ask(&old, chiyoda(), true))
            .await
            .unwrap()
            .found
    );
}

async fn consent_is_required_unless_both_agreed_to_the_no_consent_terms(db: &TestDb) {
    let store = db.store.as_ref();
    let (_, new, _) = moved_person(db).await;
    // (西条市 agreed, 千代田区 agreed) in all four combinations, without and with consent.
    for (asker, holder) in [(false, false), (true, false), (false, true), (true, true)] {
        let who: Vec<MunicipalityCode> = [(asker, saijo()), (holder, chiyoda())]
            .into_iter()
            .filter_map(|(yes, m)| yes.then_some(m))
            .collect();
        // A fresh version each round: earlier agreements no longer count.
        publish_terms(
            store,
            &operator(),
            TermsKind::NoConsentInquiry,
            "別紙2",
            "本文",
        )
        .await
        .unwrap();
        let latest = store
            .terms_versions(Some(TermsKind::NoConsentInquiry))
            .await
            .unwrap()
            .last()
            .unwrap()
            .version;
        for m in who {
            agree(store, &staff("x"), m, TermsKind::NoConsentInquiry, latest)
                .await
                .unwrap();
        }
        let without = inquire(
            store,
            &staff("saijo"),
            saijo(),
            &ask(&new, chiyoda(), false),
        )
        .await;
        if asker && holder {
            let a = without.unwrap();
            assert_eq!(a.consent, ConsentBasis::NoConsentTerms);
            assert!(a.found);
        } else {
            let e = without.unwrap_err();
            assert!(
                matches!(e, InquiryError::ConsentRequired),
                "{asker} {holder}: {e:?}"
            );
            assert!(e.message_ja().contains("同意"), "{}", e.message_ja());
        }
        let with = inquire(store, &staff("saijo"), saijo(), &ask(&new, chiyoda(), true))
            .await
            .unwrap();
        assert_eq!(with.consent, ConsentBasis::Consent);
    }
    // A refused inquiry wrote nothing: 3 refused of 8, so 5 provided records at 千代田区.
    let provided = store
        .area(chiyoda())
        .provision_records(&ProvisionFilter::default())
        .await
        .unwrap();
    assert_eq!(provided.len(), 5);
}

async fn both_sides_keep_provision_records_and_received_doses_register_once(db: &TestDb) {
    let store = db.store.as_ref();
    let (old, new, _) = moved_person(db).await;
    let a = inquire(store, &staff("saijo"), saijo(), &ask(&new, chiyoda(), true))
        .await
        .unwrap();
    assert!(a.found);
    assert_eq!(a.own_atena.as_ref(), Some(&new.atena));
    let numbers: Vec<u8> = a.doses.iter().map(|d| d.dose_number.get()).collect();
    assert_eq!(numbers, [1, 2]);
    assert_eq!(a.doses[0].coupon, old.coupon);
    assert_eq!(a.doses[0].site_municipality, chiyoda());

    let asked = store
        .area(saijo())
        .provision_record(&a.inquiry_id, ProvisionSide::Inquired)
        .await
        .unwrap();
    assert_eq!(asked.counterpart, chiyoda());
    assert_eq!(asked.atena.as_ref(), Some(&new.atena));
    assert_eq!(asked.actor, "saijo-staff");
    let given = store
        .area(chiyoda())
        .provision_record(&a.inquiry_id, ProvisionSide::Provided)
        .await
        .unwrap();
    assert_eq!(given.counterpart, saijo());
    assert_eq!(given.atena.as_ref(), Some(&old.atena));
    assert_eq!(given.consent, ConsentBasis::Consent);
    assert_eq!(given.doses, asked.doses);
    // Each municipality sees only its own side.
    assert!(store
        .area(saijo())
        .provision_record(&a.inquiry_id, ProvisionSide::Provided)
        .await
        .is_err());
    // Both chains name the inquiry; neither holds the number.
    for (m, action) in [(saijo(), "inquiry.send"), (chiyoda(), "inquiry.answer")] {
        let filter = AuditFilter {
            action: Some(action.into()),
            limit: 10,
            ..AuditFilter::default()
        };
        let entries = store
            .audit_search(AuditScope::Area(m), &filter)
            .await
            .unwrap();
        assert_eq!(entries.len(), 1, "{m} {action}");
        let e = &entries[0].entry;
        assert!(
            format!("{} {}", e.target, e.detail).contains(&a.inquiry_id)
                || e.target == a.inquiry_id
        );
        assert!(!e.detail.contains(new.my_number.expose()));
    }

    // Registering the received doses: marked as received from 千代田区; a second time changes nothing.
    let r = register_received(store, &staff("saijo"), saijo(), &a.inquiry_id, today())
        .await
        .unwrap();
    assert_eq!(r.added, [1, 2]);
    let doses = store.area(saijo()).doses_of(&new.atena).await.unwrap();
    assert_eq!(doses.len(), 2);
    assert!(doses
        .iter()
        .all(|d| d.source == DoseSource::Inquiry && d.received_from == Some(chiyoda())));
    assert_eq!(doses[1].dose.administered_on, a.doses[1].administered_on);
    let again = register_received(store, &staff("saijo"), saijo(), &a.inquiry_id, today())
        .await
        .unwrap();
    assert!(again.added.is_empty());
    assert_eq!(again.unchanged, [1, 2]);
    // Another municipality cannot register 西条市's inquiry.
    assert!(matches!(
        register_received(store, &staff("sapporo"), sapporo(), &a.inquiry_id, today()).await,
        Err(RegisterInquiredError::NotFound)
    ));

    // A dose recorded differently under the same number is refused, and nothing is added.
    let mut new2 = old.clone();
    new2.municipality = sapporo();
    new2.atena = AtenaNumber::parse("770000000001").unwrap();
    new2.coupon = CouponNumber::parse("7700000001").unwrap();
    let audit = staff("sapporo").audit(AuditAction::TargetsImport, "test");
    store
        .area(sapporo())
        .put_resident(&new2, &audit)
        .await
        .unwrap();
    let mut own = dose(&new2, 1, (2021, 7, 1));
    own.dose.site_municipality = sapporo();
    store
        .area(sapporo())
        .add_doses(&[own], "sapporo-staff", &audit)
        .await
        .unwrap();
    let b = inquire(
        store,
        &staff("sapporo"),
        sapporo(),
        &ask(&new2, chiyoda(), true),
    )
    .await
    .unwrap();
    match register_received(store, &staff("sapporo"), sapporo(), &b.inquiry_id, today()).await {
        Err(RegisterInquiredError::Rules(problems)) => {
            assert!(
                problems.contains(&(
                    vrs_domain::DoseNumber::FIRST,
                    vec![QualityRule::DoseNumberTaken]
                )),
                "{problems:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        store
            .area(sapporo())
            .doses_of(&new2.atena)
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn a_bulk_inquiry_answers_good_rows_and_names_bad_ones(db: &TestDb) {
    let store = db.store.as_ref();
    let (_, new, other) = moved_person(db).await;
    let file = format!(
        "個人番号,転出元自治体コード,本人同意\n\
         {found},131016,1\n\
         {found},011002,1\n\
         123456789019,131016,1\n\
         {found},131017,1\n\
         {found},382060,1\n\
         {found},131016,\n\
         {other},131016,1\n",
        found = new.my_number.expose(),
        other = other.my_number.expose(),
    );
    let report = inquire_bulk(
        store,
        &staff("saijo"),
        saijo(),
        std::io::Cursor::new(file.into_bytes()),
        EncodingChoice::Auto,
    )
    .await
    .unwrap();
    let by_line = |line: u64| &report.rows.iter().find(|r| r.line == line).unwrap().outcome;
    assert!(matches!(by_line(2), BulkOutcome::Found { doses, .. } if doses.len() == 2));
    assert_eq!(by_line(3), &BulkOutcome::NotFound);
    assert!(matches!(by_line(4), BulkOutcome::Invalid(p) if p[0].ja.starts_with("個人番号")));
    assert!(
        matches!(by_line(5), BulkOutcome::Invalid(p) if p[0].ja.starts_with("転出元自治体コード"))
    );
    assert!(matches!(by_line(6), BulkOutcome::Refused(_)));
    assert!(matches!(by_line(7), BulkOutcome::Refused(m) if m.contains("同意")));
    // Someone who is not 西条市's resident: refused, nothing asked of 千代田区.
    assert!(
        matches!(by_line(8), BulkOutcome::Refused(m) if m.contains("住民として登録されていません"))
    );
    let job = store
        .area(saijo())
        .inquiry_job(&report.job.batch)
        .await
        .unwrap();
    assert_eq!(
        (job.rows, job.found, job.not_found, job.refused, job.invalid),
        (7, 1, 1, 3, 2)
    );
    assert!(!job.results_csv.contains(new.my_number.expose()));
    assert!(!job.results_csv.contains(other.my_number.expose()));
    assert!(job.results_csv.contains(new.atena.as_str()));
    assert_eq!(
        job.results_csv.lines().count(),
        1 + 2 + 6,
        "{}",
        job.results_csv
    );
    // The rows asked are provision records under the batch.
    let filter = ProvisionFilter {
        inquiry_prefix: Some(report.job.batch.clone()),
        ..ProvisionFilter::default()
    };
    assert_eq!(
        store
            .area(saijo())
            .provision_records(&filter)
            .await
            .unwrap()
            .len(),
        2
    );
    // Another municipality cannot read the job.
    assert!(store
        .area(chiyoda())
        .inquiry_job(&report.job.batch)
        .await
        .is_err());
    // A file without rows is refused as a whole.
    let empty = inquire_bulk(
        store,
        &staff("saijo"),
        saijo(),
        std::io::Cursor::new(b"".to_vec()),
        EncodingChoice::Auto,
    )
    .await;
    assert!(matches!(empty, Err(BulkError::Empty)), "{empty:?}");
}
