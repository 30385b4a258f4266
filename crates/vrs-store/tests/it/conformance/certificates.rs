//! Conformance cases for certificates: issuers' signing keys (sealed by the master key, one active
//! per issuer and purpose, rotated keys kept) and the issuance history (sealed fields, own area only).

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use vrs_domain::{AtenaNumber, CertificateId, CertificateKind, DoseSource, IssueChannel};
use vrs_store::testkit::TestDb;
use vrs_store::Areas;
use vrs_store::{
    AuditFilter, AuditScope, CertificateIssue, CertificateStatus, KeyPurpose, Registration,
    SigningKeyInfo, StoreError,
};

use super::{audit, code, dose, reg, resident, CHIYODA, SAIJO};

fn key(kid: &str, secs: i64) -> SigningKeyInfo {
    SigningKeyInfo {
        issuer: CHIYODA.into(),
        purpose: KeyPurpose::Shc,
        kid: kid.into(),
        public_part: format!("{{\"kid\":\"{kid}\"}}").into_bytes(),
        created_at: Utc.timestamp_opt(1_767_225_600 + secs, 0).unwrap(),
        retired_at: None,
    }
}

pub async fn signing_keys_are_sealed_one_active_and_rotated_keys_are_kept(db: &TestDb) {
    let chain = AuditScope::Area(code(CHIYODA));
    let secret_a = b"PKCS8-PRIVATE-KEY-OF-ISSUER-A-0123456789".to_vec();
    let secret_b = b"PKCS8-PRIVATE-KEY-OF-ISSUER-B-0123456789".to_vec();
    let put = |k: SigningKeyInfo, secret: Vec<u8>, rotate: bool| async move {
        db.store
            .put_signing_key(&k, &secret, rotate, chain, &audit("key.create", "shc"))
            .await
            .unwrap()
    };
    assert!(db
        .store
        .signing_key(CHIYODA, KeyPurpose::Shc)
        .await
        .unwrap()
        .is_none());
    assert!(put(key("kid-a", 0), secret_a.clone(), false).await);
    // A second node creating a key at the same time loses and reads the first.
    assert!(!put(key("kid-b", 1), secret_b.clone(), false).await);
    let active = db
        .store
        .signing_key(CHIYODA, KeyPurpose::Shc)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(active.info.kid, "kid-a");
    assert_eq!(active.private_pkcs8.as_slice(), secret_a.as_slice());
    // Another purpose or issuer has its own key.
    assert!(db
        .store
        .signing_key(CHIYODA, KeyPurpose::DocumentSigner)
        .await
        .unwrap()
        .is_none());
    assert!(db
        .store
        .signing_key(SAIJO, KeyPurpose::Shc)
        .await
        .unwrap()
        .is_none());

    // Rotation retires the active key and keeps it for verification.
    assert!(put(key("kid-b", 60), secret_b.clone(), true).await);
    let active = db
        .store
        .signing_key(CHIYODA, KeyPurpose::Shc)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(active.info.kid, "kid-b");
    assert_eq!(active.private_pkcs8.as_slice(), secret_b.as_slice());
    let all = db.store.signing_keys(KeyPurpose::Shc).await.unwrap();
    assert_eq!(
        all.iter()
            .map(|k| (k.kid.as_str(), k.retired_at.is_some()))
            .collect::<Vec<_>>(),
        vec![("kid-a", true), ("kid-b", false)]
    );
    assert_eq!(all[1].public_part, b"{\"kid\":\"kid-b\"}".to_vec());
    assert!(db
        .store
        .signing_keys(KeyPurpose::Csca)
        .await
        .unwrap()
        .is_empty());

    // Each stored key left one audit entry; no private key is stored in the clear.
    let entries = db.store.audit_log(chain, 1, 100).await.unwrap();
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.entry.action == "key.create")
            .count(),
        2
    );
    let dump = db.dump().await;
    for secret in [&secret_a, &secret_b] {
        assert!(!dump.windows(secret.len()).any(|w| w == secret.as_slice()));
    }
}

fn issue(id_seed: u8, at_secs: i64) -> CertificateIssue {
    CertificateIssue {
        municipality: code(CHIYODA),
        certificate_id: CertificateId::new(code(CHIYODA), [id_seed; 12]),
        issued_at: Utc.timestamp_opt(1_767_225_600 + at_secs, 0).unwrap(),
        channel: IssueChannel::Counter,
        kind: CertificateKind::Overseas,
        name: "YAMADA TAROKICHI".into(),
        birth_date: NaiveDate::from_ymd_opt(1985, 4, 1).unwrap(),
        nationality: Some("JPN".into()),
        passport_number: Some("TZ7654321".into()),
        shc_kid: "shc-kid".into(),
        dsc_kid: "0102030405060708".into(),
        stated: 0,
        replaces: None,
        status: CertificateStatus::Valid,
        status_at: None,
        status_reason: String::new(),
    }
}

fn holder() -> AtenaNumber {
    AtenaNumber::parse("1000000001").unwrap()
}

pub async fn the_issuance_history_is_sealed_and_kept_in_its_own_area(db: &TestDb) {
    let first = issue(1, 0);
    let mut second = issue(2, 60);
    second.kind = CertificateKind::Domestic;
    second.channel = IssueChannel::App;
    second.name = "山田　太郎吉".into();
    second.nationality = None;
    second.passport_number = None;
    for i in [&first, &second] {
        db.store
            .record_certificate(
                i,
                &holder(),
                &[],
                &audit("certificate.issue_counter", i.certificate_id.as_str()),
            )
            .await
            .unwrap();
    }
    let again = db
        .store
        .record_certificate(
            &first,
            &holder(),
            &[],
            &audit("certificate.issue_counter", "again"),
        )
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");

    let history = db
        .store
        .area(code(CHIYODA))
        .certificate_issues(10)
        .await
        .unwrap();
    assert_eq!(history, vec![second.clone(), first.clone()]);
    assert_eq!(
        db.store
            .area(code(CHIYODA))
            .certificate_issues(1)
            .await
            .unwrap(),
        vec![second]
    );
    assert!(db
        .store
        .area(code(SAIJO))
        .certificate_issues(10)
        .await
        .unwrap()
        .is_empty());

    let chain = db
        .store
        .audit_log(AuditScope::Area(code(CHIYODA)), 1, 100)
        .await
        .unwrap();
    assert_eq!(chain.len(), 2, "the refused duplicate left no entry");
    let dump = db.dump().await;
    for clear in ["YAMADA TAROKICHI", "TZ7654321", "山田　太郎吉"] {
        let clear = clear.as_bytes();
        assert!(
            !dump.windows(clear.len()).any(|w| w == clear),
            "stored in the clear"
        );
    }
}

/// The certificate `seed` of a Chiyoda person, as issued (domestic, status valid).
fn issued(seed: u8) -> CertificateIssue {
    let mut i = issue(seed, i64::from(seed));
    i.kind = CertificateKind::Domestic;
    i.nationality = None;
    i.passport_number = None;
    i
}

async fn status_of(db: &TestDb, atena: &AtenaNumber) -> Vec<(u8, CertificateStatus)> {
    let mut out: Vec<(u8, CertificateStatus)> = db
        .store
        .area(code(CHIYODA))
        .person_certificates(atena)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.certificate_id.as_str().as_bytes()[7] - b'0', c.status))
        .collect();
    out.sort_unstable_by_key(|(seed, _)| *seed);
    out
}

pub async fn certificates_are_superseded_and_revoked_by_dose_changes(db: &TestDb) {
    let scope = code(CHIYODA);
    let a = resident(CHIYODA, 200001);
    let b = resident(CHIYODA, 200002);
    for p in [&a, &b] {
        db.store
            .area(scope)
            .put_resident(p, &audit("resident.put", p.atena.as_str()))
            .await
            .unwrap();
    }
    let (a1, a2, b1) = (dose(&a, 1), dose(&a, 2), dose(&b, 1));
    db.store
        .area(scope)
        .add_doses(
            &[a1.clone(), a2.clone(), b1.clone()],
            "staff-1",
            &audit("doses.import", "x"),
        )
        .await
        .unwrap();
    // Certificate 1 states A's doses 1 and 2; certificate 2 only dose 1 (issued earlier);
    // certificate 3 is B's.
    let record = |i: CertificateIssue, who: AtenaNumber, doses: Vec<vrs_domain::DoseRecord>| async move {
        db.store
            .record_certificate(&i, &who, &doses, &audit("certificate.issue_counter", "c"))
            .await
    };
    record(issued(1), a.atena.clone(), vec![a1.clone(), a2.clone()])
        .await
        .unwrap();
    record(issued(2), a.atena.clone(), vec![a1.clone()])
        .await
        .unwrap();
    record(issued(3), b.atena.clone(), vec![b1.clone()])
        .await
        .unwrap();
    // A re-issue must name a certificate of the same person.
    let mut stolen = issued(4);
    stolen.replaces = Some(issued(3).certificate_id);
    assert!(matches!(
        record(stolen, a.atena.clone(), vec![a1.clone()]).await,
        Err(StoreError::Conflict(_))
    ));
    let history = db
        .store
        .area(scope)
        .person_certificates(&a.atena)
        .await
        .unwrap();
    assert_eq!(history.len(), 2);
    // Newest first: certificate 2 states dose 1, certificate 1 doses 1 and 2.
    assert_eq!(history[0].stated, 0b10);
    assert_eq!(history[1].stated, 0b110, "doses 1 and 2 stated");

    // Recording a later dose only marks what no longer states every dose as superseded.
    let changed = db
        .store
        .area(scope)
        .refresh_certificates(&[a.atena.clone(), b.atena.clone()], &audit("dose.add", "a"))
        .await
        .unwrap();
    assert_eq!(changed, 1, "certificate 2 does not state dose 2");
    assert_eq!(
        status_of(db, &a.atena).await,
        vec![
            (1, CertificateStatus::Valid),
            (2, CertificateStatus::Superseded)
        ]
    );

    // Correcting dose 2 revokes certificate 1 (it states dose 2) and not certificate 2 (it does
    // not), nor B's.
    let mut corrected = a2.clone();
    corrected.dose.lot_number = vrs_domain::LotNumber::parse("FC5295").unwrap();
    db.store
        .area(scope)
        .correct_dose(&a2, &corrected, &audit("dose.correct", a.atena.as_str()))
        .await
        .unwrap();
    assert_eq!(
        status_of(db, &a.atena).await,
        vec![
            (1, CertificateStatus::Revoked),
            (2, CertificateStatus::Superseded)
        ]
    );
    assert_eq!(
        status_of(db, &b.atena).await,
        vec![(3, CertificateStatus::Valid)]
    );
    let revoked = db.store.revoked_certificates().await.unwrap();
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].certificate_id, issued(1).certificate_id);
    assert_eq!(revoked[0].shc_kid, "shc-kid");
    let entries = db
        .store
        .audit_search(
            scope.into(),
            &AuditFilter {
                action: Some("certificate.revoked".into()),
                limit: 100,
                ..AuditFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(entries.len(), 1, "the revocation is audited");
    assert_eq!(entries[0].entry.target, issued(1).certificate_id.as_str());
    assert_eq!(
        entries[0].entry.actor, "staff-1",
        "by whoever corrected the dose"
    );

    // Deleting dose 1 revokes certificate 2.
    db.store
        .area(scope)
        .delete_dose(&a1, &audit("dose.delete", a.atena.as_str()))
        .await
        .unwrap();
    assert_eq!(
        status_of(db, &a.atena).await,
        vec![
            (1, CertificateStatus::Revoked),
            (2, CertificateStatus::Revoked)
        ]
    );

    // Staff revoke B's certificate with a reason; twice is refused; another area cannot.
    let id3 = issued(3).certificate_id;
    assert!(matches!(
        db.store
            .area(code(SAIJO))
            .revoke_certificate(&id3, "x", &audit("certificate.revoke", "3"))
            .await,
        Err(StoreError::NotFound)
    ));
    db.store
        .area(scope)
        .revoke_certificate(
            &id3,
            "別人に登録された接種",
            &audit("certificate.revoke", "3"),
        )
        .await
        .unwrap();
    let b_certs = db
        .store
        .area(scope)
        .person_certificates(&b.atena)
        .await
        .unwrap();
    assert_eq!(b_certs[0].status, CertificateStatus::Revoked);
    assert_eq!(b_certs[0].status_reason, "別人に登録された接種");
    assert!(matches!(
        db.store
            .area(scope)
            .revoke_certificate(&id3, "again", &audit("certificate.revoke", "3"))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(db.store.revoked_certificates().await.unwrap().len(), 3);
    assert!(db
        .store
        .area(code(SAIJO))
        .person_certificates(&b.atena)
        .await
        .unwrap()
        .is_empty());
}

pub async fn a_tablet_dose_is_undone_only_by_its_site_within_the_window(db: &TestDb) {
    let scope = code(CHIYODA);
    let p = resident(CHIYODA, 300001);
    db.store
        .area(scope)
        .put_resident(&p, &audit("resident.put", "p"))
        .await
        .unwrap();
    let tablet = dose(&p, 1);
    let at = tablet.recorded_at;
    db.store
        .area(scope)
        .add_dose(
            &Registration {
                record: tablet.clone(),
                recorded_by: "site-1".into(),
                answer: None,
            },
            &audit("dose.register", "p"),
        )
        .await
        .unwrap();
    let mut by_staff = dose(&p, 2);
    by_staff.source = DoseSource::Staff;
    db.store
        .area(scope)
        .add_dose(&reg(by_staff.clone()), &audit("dose.add", "p"))
        .await
        .unwrap();
    let undo = |d: vrs_domain::DoseRecord, by: &'static str, since| async move {
        db.store
            .area(scope)
            .undo_dose(&d, by, since, &audit("dose.undo", "p"))
            .await
    };
    let refused = |r: Result<(), StoreError>, why: &str| match r {
        Err(StoreError::Conflict(m)) => assert!(m.to_string().contains(why), "{m}"),
        other => panic!("expected a refusal ({why}), got {other:?}"),
    };
    refused(undo(tablet.clone(), "site-2", at).await, "another site");
    refused(
        undo(tablet.clone(), "site-1", at + Duration::microseconds(1)).await,
        "window",
    );
    refused(undo(by_staff.clone(), "staff-1", at).await, "tablet");
    assert_eq!(
        db.store.area(scope).doses_of(&p.atena).await.unwrap().len(),
        2
    );
    undo(tablet.clone(), "site-1", at).await.unwrap();
    let left = db.store.area(scope).doses_of(&p.atena).await.unwrap();
    assert_eq!(left, vec![by_staff]);
    assert!(matches!(
        undo(tablet, "site-1", at).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn a_registered_dose_supersedes_its_persons_certificates_in_its_own_write(db: &TestDb) {
    let scope = code(CHIYODA);
    // Seven people with a certificate stating their first dose; registrations of their second
    // doses arrive together (one group write on PostgreSQL).
    let people: Vec<_> = (0..7).map(|i| resident(CHIYODA, 210_001 + i)).collect();
    for p in &people {
        db.store
            .area(scope)
            .put_resident(p, &audit("resident.put", p.atena.as_str()))
            .await
            .unwrap();
    }
    let firsts: Vec<_> = people.iter().map(|p| dose(p, 1)).collect();
    db.store
        .area(scope)
        .add_doses(&firsts, "staff-1", &audit("doses.import", "x"))
        .await
        .unwrap();
    for (seed, (p, first)) in people.iter().zip(&firsts).take(6).enumerate() {
        db.store
            .record_certificate(
                &issued(seed as u8 + 1),
                &p.atena,
                std::slice::from_ref(first),
                &audit("certificate.issue_counter", "c"),
            )
            .await
            .unwrap();
    }
    let registered = futures_util::future::join_all(people.iter().skip(1).map(|p| async move {
        db.store
            .area(scope)
            .add_dose(&reg(dose(p, 2)), &audit("dose.register", p.atena.as_str()))
            .await
    }))
    .await;
    for r in registered {
        r.unwrap();
    }
    // The first person got no second dose: still valid. The others' are superseded; the seventh
    // had no certificate.
    assert_eq!(
        status_of(db, &people[0].atena).await,
        vec![(1, CertificateStatus::Valid)]
    );
    for (i, p) in people.iter().enumerate().take(6).skip(1) {
        assert_eq!(
            status_of(db, &p.atena).await,
            vec![(i as u8 + 1, CertificateStatus::Superseded)]
        );
    }
    assert!(status_of(db, &people[6].atena).await.is_empty());
    // Each change is audited after a registration, naming it as the cause.
    let log = db.store.audit_log(scope.into(), 1, 1000).await.unwrap();
    let first_registration = log
        .iter()
        .position(|r| r.entry.action == "dose.register")
        .expect("the registrations are audited");
    let changes: Vec<usize> = (0..log.len())
        .filter(|&i| log[i].entry.action == "certificate.superseded")
        .collect();
    assert_eq!(changes.len(), 5);
    for i in changes {
        assert!(i > first_registration);
        assert!(log[i].entry.detail.contains("because: dose.register"));
    }
}
