//! A certificate's life on both backends: revoked SMART Health Cards and EU DCCs fail verification
//! as "revoked", online and with an offline verifier's cached bundle; a later dose supersedes, a
//! corrected dose revokes exactly the certificates that state it; re-issue names what it replaces;
//! a tablet's registration can be undone by its own site until the window closes, then only staff
//! correct it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use vrs_cert::verify::{verify, CodeKind, Trust, VerifierBundle, VerifyError};
use vrs_core::certificates::revocation;
use vrs_core::certificates::signing::{IssuerMode, IssuerSettings};
use vrs_core::certificates::{issue, CertificateRequest, IssuedCertificate};
use vrs_core::coupon::CouponRef;
use vrs_core::doses::{self, DoseRef, SiteAnswer};
use vrs_core::lifecycle::{self, UndoError, DEFAULT_UNDO_WINDOW};
use vrs_core::Actor;
use vrs_domain::{
    AuditAction, CertificateKind, DoseStatement, IssueChannel, LotNumber, MunicipalityCode,
    Resident, VaccineProduct,
};
use vrs_interop::Synthetic;
use vrs_store::testkit::TestDb;
use vrs_store::Areas;
use vrs_store::{AuditFilter, CertificateStatus, Store};

use vrs_store::on_both_backends;

on_both_backends!(
    revoked_codes_fail_verification_online_and_offline,
    a_later_dose_supersedes_and_a_correction_revokes_only_what_it_falsifies,
    the_undo_window_closes_on_time,
);

fn chiyoda() -> MunicipalityCode {
    MunicipalityCode::parse("131016").unwrap()
}

fn settings() -> IssuerSettings {
    IssuerSettings {
        mode: IssuerMode::Municipality,
        base_url: "https://vrs.example.jp".into(),
        trial: false,
        deployment_name: "VRS Test".into(),
    }
}

fn actor(user: &str, role: &str) -> Actor {
    Actor {
        user: user.into(),
        role: role.into(),
        terminal: "lgwan".into(),
    }
}

fn staff() -> Actor {
    actor("chiyoda-staff", "municipal_staff")
}

fn input(n: u8, day: (i32, u32, u32), lot: &str) -> DoseStatement {
    DoseStatement {
        dose_number: vrs_domain::DoseNumber::from_int(n).unwrap(),
        administered_on: NaiveDate::from_ymd_opt(day.0, day.1, day.2).unwrap(),
        product: VaccineProduct::by_code("comirnaty").unwrap(),
        lot_number: LotNumber::parse(lot).unwrap(),
        site: chiyoda(),
        venue: String::new(),
        doctor: String::new(),
    }
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2022, 3, 1).unwrap()
}

fn issued_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2022, 3, 1, 1, 0, 0).unwrap()
}

/// `count` people of Chiyoda, each with doses 1 and 2 recorded by staff.
async fn people(store: &dyn Store, count: u64) -> Vec<Resident> {
    let people: Vec<Resident> = Synthetic::new(chiyoda(), count, 7).collect();
    for p in &people {
        store
            .area(chiyoda())
            .put_resident(p, &staff().audit(AuditAction::TargetsImport, "t"))
            .await
            .unwrap();
        for (n, day, lot) in [(1, (2021, 6, 1), "FA4597"), (2, (2021, 6, 22), "FC5295")] {
            doses::add_dose(
                store,
                &staff(),
                chiyoda(),
                &p.atena,
                &input(n, day, lot),
                today(),
            )
            .await
            .unwrap();
        }
    }
    people
}

async fn certificate(store: &dyn Store, person: &Resident) -> IssuedCertificate {
    let doses = store.area(chiyoda()).doses_of(&person.atena).await.unwrap();
    let request = CertificateRequest {
        kind: CertificateKind::Domestic,
        passport: None,
        channel: IssueChannel::Counter,
        replaces: None,
    };
    issue(
        store,
        &settings(),
        &staff(),
        person,
        doses,
        &request,
        issued_at(),
    )
    .await
    .unwrap()
}

async fn status(
    store: &dyn Store,
    person: &Resident,
    cert: &IssuedCertificate,
) -> CertificateStatus {
    lifecycle::person_certificate(store, chiyoda(), &person.atena, &cert.id)
        .await
        .unwrap()
        .status
}

/// What an offline verifier keeps: the bundle as published, through JSON.
async fn cached_bundle(store: &dyn Store) -> Trust {
    let published = revocation::verifier_bundle(store, &settings(), Utc::now())
        .await
        .unwrap()
        .to_string();
    let bundle: VerifierBundle = serde_json::from_str(&published).unwrap();
    Trust::from_bundle(&bundle).unwrap()
}

fn assert_revoked(result: Result<vrs_cert::verify::Verified, VerifyError>, kind: CodeKind) {
    match result {
        Err(e @ VerifyError::Revoked { .. }) => {
            assert_eq!(e.kind(), Some(kind));
            assert!(e.to_string().contains("revoked"), "{e}");
        }
        other => panic!("expected {kind} revoked, got {other:?}"),
    }
}

async fn revoked_codes_fail_verification_online_and_offline(db: &TestDb) {
    let store = db.store.as_ref();
    let people = people(store, 2).await;
    let (revoked, kept) = (
        certificate(store, &people[0]).await,
        certificate(store, &people[1]).await,
    );
    let at = issued_at() + Duration::minutes(5);
    // Before: everything verifies with the cached bundle.
    let before = cached_bundle(store).await;
    for text in [&revoked.shc_text, &revoked.dcc, &kept.shc_text, &kept.dcc] {
        verify(text.as_bytes(), &before, at).unwrap();
    }
    // A reason is required; another municipality cannot revoke.
    assert!(
        lifecycle::revoke(store, &staff(), chiyoda(), &revoked.id, " ")
            .await
            .is_err()
    );
    let saijo = MunicipalityCode::parse("382060").unwrap();
    assert!(lifecycle::revoke(store, &staff(), saijo, &revoked.id, "x")
        .await
        .is_err());
    lifecycle::revoke(
        store,
        &staff(),
        chiyoda(),
        &revoked.id,
        "別人の接種記録で発行",
    )
    .await
    .unwrap();

    // The published lists: the key carries crlVersion 1 and its CRL names the card's rid.
    let shc_kid = store
        .area(chiyoda())
        .person_certificates(&people[0].atena)
        .await
        .unwrap()[0]
        .shc_kid
        .clone();
    let jwks = vrs_core::certificates::signing::jwks(store, Some("131016"))
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["crlVersion"], 1);
    let crl = revocation::shc_crl(store, "131016", &shc_kid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(crl.rids, vec![vrs_cert::shc::rid(&revoked.id)]);
    assert!(revocation::shc_crl(store, "382060", &shc_kid)
        .await
        .unwrap()
        .is_none());

    // The verifier's cached bundle, refreshed once while online, then used offline.
    let after = cached_bundle(store).await;
    assert_revoked(
        verify(revoked.shc_text.as_bytes(), &after, at),
        CodeKind::Shc,
    );
    assert_revoked(
        verify(revoked.shc_jws.as_bytes(), &after, at),
        CodeKind::Shc,
    );
    assert_revoked(verify(revoked.dcc.as_bytes(), &after, at), CodeKind::EuDcc);
    for text in [&kept.shc_text, &kept.dcc] {
        verify(text.as_bytes(), &after, at).unwrap();
    }
    // An old cache does not know yet: that is what refreshing is for.
    verify(revoked.dcc.as_bytes(), &before, at).unwrap();
    let audit = store
        .audit_search(
            chiyoda().into(),
            &AuditFilter {
                action: Some("certificate.revoke".into()),
                limit: 10,
                ..AuditFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert!(audit[0].entry.detail.contains("別人の接種記録で発行"));
}

async fn a_later_dose_supersedes_and_a_correction_revokes_only_what_it_falsifies(db: &TestDb) {
    let store = db.store.as_ref();
    let people = people(store, 2).await;
    let (p, other) = (&people[0], &people[1]);
    let first = certificate(store, p).await;
    let others = certificate(store, other).await;
    assert_eq!(status(store, p, &first).await, CertificateStatus::Valid);

    // A third dose: the first certificate is still true but superseded.
    doses::add_dose(
        store,
        &staff(),
        chiyoda(),
        &p.atena,
        &input(3, (2022, 1, 20), "FJ5929"),
        today(),
    )
    .await
    .unwrap();
    assert_eq!(
        status(store, p, &first).await,
        CertificateStatus::Superseded
    );
    // Re-issued in one action, naming what it replaces; the new one states three doses.
    let second = lifecycle::reissue(
        store,
        &settings(),
        &staff(),
        chiyoda(),
        &p.atena,
        &first.id,
        None,
        IssueChannel::Counter,
        issued_at(),
    )
    .await
    .unwrap();
    assert_eq!(second.doses.len(), 3);
    let record = lifecycle::person_certificate(store, chiyoda(), &p.atena, &second.id)
        .await
        .unwrap();
    assert_eq!(record.replaces.as_ref(), Some(&first.id));
    assert_eq!(record.status, CertificateStatus::Valid);
    // Someone else's certificate cannot be re-issued through this person.
    assert!(lifecycle::reissue(
        store,
        &settings(),
        &staff(),
        chiyoda(),
        &p.atena,
        &others.id,
        None,
        IssueChannel::Counter,
        issued_at(),
    )
    .await
    .is_err());

    // Correcting dose 3's lot falsifies the second certificate only (the first never stated it).
    doses::correct_dose(
        store,
        &staff(),
        chiyoda(),
        DoseRef {
            atena: &p.atena,
            dose_number: vrs_domain::DoseNumber::from_int(3).unwrap(),
        },
        &input(3, (2022, 1, 20), "FK0108"),
        "ロット番号の誤り",
        today(),
    )
    .await
    .unwrap();
    assert_eq!(status(store, p, &second).await, CertificateStatus::Revoked);
    assert_eq!(
        status(store, p, &first).await,
        CertificateStatus::Superseded
    );
    assert_eq!(
        status(store, other, &others).await,
        CertificateStatus::Valid
    );

    // Deleting dose 1 falsifies the first too; the other person's stays valid.
    doses::delete_dose(
        store,
        &staff(),
        chiyoda(),
        DoseRef {
            atena: &p.atena,
            dose_number: vrs_domain::DoseNumber::from_int(1).unwrap(),
        },
        "別人の接種券で登録",
    )
    .await
    .unwrap();
    assert_eq!(status(store, p, &first).await, CertificateStatus::Revoked);
    assert_eq!(
        status(store, other, &others).await,
        CertificateStatus::Valid
    );
    let revoked: Vec<_> = store
        .revoked_certificates()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.certificate_id)
        .collect();
    assert_eq!(revoked.len(), 2);
    assert!(revoked.contains(&first.id) && revoked.contains(&second.id));
    let trust = cached_bundle(store).await;
    assert_revoked(
        verify(first.dcc.as_bytes(), &trust, issued_at()),
        CodeKind::EuDcc,
    );
    verify(others.dcc.as_bytes(), &trust, issued_at()).unwrap();
}

async fn the_undo_window_closes_on_time(db: &TestDb) {
    let store = db.store.as_ref();
    let both: Vec<Resident> = Synthetic::new(chiyoda(), 2, 9).collect();
    let (p, by_staff) = (&both[0], &both[1]);
    for r in &both {
        store
            .area(chiyoda())
            .put_resident(r, &staff().audit(AuditAction::TargetsImport, "t"))
            .await
            .unwrap();
    }
    doses::add_dose(
        store,
        &staff(),
        chiyoda(),
        &by_staff.atena,
        &input(1, (2022, 2, 1), "FA4597"),
        today(),
    )
    .await
    .unwrap();
    let site = actor("chiyoda-site-1", "site_staff");
    let coupon = CouponRef {
        municipality: chiyoda(),
        coupon: p.coupon,
    };
    let register = |n: u8| {
        let site = site.clone();
        async move {
            let answer = doses::register_at_site(
                store,
                &site,
                coupon,
                &input(n, (2022, 2, 28), "FA4597"),
                None,
                today(),
            )
            .await
            .unwrap();
            assert!(
                matches!(answer, SiteAnswer::Registered { .. }),
                "{answer:?}"
            );
            store.area(chiyoda()).doses_of(&p.atena).await.unwrap()[usize::from(n) - 1].recorded_at
        }
    };
    let window = DEFAULT_UNDO_WINDOW;
    let undo = |who: &Actor, n: u8, reason: &str, now: DateTime<Utc>| {
        let who = who.clone();
        let reason = reason.to_owned();
        async move {
            lifecycle::undo_at_site(
                store,
                &who,
                coupon,
                vrs_domain::DoseNumber::new(n).unwrap(),
                &reason,
                window,
                now,
            )
            .await
        }
    };

    let recorded = register(1).await;
    // A reason is required; another site cannot; within the window the same site can.
    assert!(matches!(
        undo(&site, 1, "", recorded).await,
        Err(UndoError::NoReason)
    ));
    let other_site = actor("chiyoda-site-2", "site_staff");
    assert!(matches!(
        undo(&other_site, 1, "誤読", recorded).await,
        Err(UndoError::OtherSite)
    ));
    let just_before = recorded + window - Duration::seconds(1);
    undo(&site, 1, "別の方の接種券を読み取った", just_before)
        .await
        .unwrap();
    assert!(store
        .area(chiyoda())
        .doses_of(&p.atena)
        .await
        .unwrap()
        .is_empty());

    // Registered again: one second after the window the site is refused and the dose stays.
    let recorded = register(1).await;
    let just_after = recorded + window + Duration::seconds(1);
    let refused = undo(&site, 1, "誤読", just_after).await;
    assert!(
        matches!(refused, Err(UndoError::WindowClosed { minutes: 10 })),
        "{refused:?}"
    );
    assert!(refused.unwrap_err().to_string().contains("10分"));
    assert_eq!(
        store
            .area(chiyoda())
            .doses_of(&p.atena)
            .await
            .unwrap()
            .len(),
        1
    );
    // A dose entered by staff is never the site's to undo; a dose that does not exist is named.
    let staff_coupon = CouponRef {
        municipality: chiyoda(),
        coupon: by_staff.coupon,
    };
    let refused = lifecycle::undo_at_site(
        store,
        &site,
        staff_coupon,
        vrs_domain::DoseNumber::FIRST,
        "誤読",
        window,
        Utc::now(),
    )
    .await;
    assert!(
        matches!(refused, Err(UndoError::NotFromTablet)),
        "{refused:?}"
    );
    assert!(matches!(
        undo(&site, 5, "誤読", just_before).await,
        Err(UndoError::NotFound)
    ));
    let audit = store
        .audit_search(
            chiyoda().into(),
            &AuditFilter {
                action: Some("dose.undo".into()),
                limit: 10,
                ..AuditFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(audit.len(), 1, "one undo made, audited with its reason");
    assert!(audit[0].entry.detail.contains("別の方の接種券を読み取った"));

    // Regression: an undo went through while the operator had stopped registration from tablets.
    // It is a registration change: refused with the operator's reason, the dose stays; after the
    // resume the site can undo again within its window.
    let stop = |stopped: bool| vrs_store::FunctionState {
        function: vrs_domain::Function::TabletRegistration,
        stopped,
        reason: "システム障害対応中".into(),
        changed_by: "op-0001".into(),
        changed_at: Utc::now(),
    };
    let op = actor("op-0001", "national_operator");
    store
        .set_function(
            &stop(true),
            &op.audit(AuditAction::FunctionStop, "tablet_registration"),
        )
        .await
        .unwrap();
    let refused = undo(&site, 1, "誤読", recorded).await;
    match &refused {
        Err(e @ UndoError::Stopped(_)) => {
            assert!(e.to_string().contains("システム障害対応中"), "{e}")
        }
        other => panic!("expected the stop, got {other:?}"),
    }
    assert_eq!(
        store
            .area(chiyoda())
            .doses_of(&p.atena)
            .await
            .unwrap()
            .len(),
        1
    );
    store
        .set_function(
            &stop(false),
            &op.audit(AuditAction::FunctionStop, "tablet_registration"),
        )
        .await
        .unwrap();
    undo(&site, 1, "誤読", recorded).await.unwrap();
    assert!(store
        .area(chiyoda())
        .doses_of(&p.atena)
        .await
        .unwrap()
        .is_empty());
}
