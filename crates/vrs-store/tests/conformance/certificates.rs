//! Conformance cases for certificates: issuers' signing keys (sealed by the master key, one active
//! per issuer and purpose, rotated keys kept) and the issuance history (sealed fields, own area only).

use chrono::{NaiveDate, TimeZone, Utc};
use vrs_domain::{CertificateId, CertificateKind, IssueChannel};
use vrs_store::testkit::TestDb;
use vrs_store::{AuditScope, CertificateIssue, KeyPurpose, SigningKeyInfo, StoreError};

use super::{audit, code, CHIYODA, SAIJO};

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
    }
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
                &audit("certificate.issue_counter", i.certificate_id.as_str()),
            )
            .await
            .unwrap();
    }
    let again = db
        .store
        .record_certificate(&first, &audit("certificate.issue_counter", "again"))
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");

    let history = db
        .store
        .certificate_issues(code(CHIYODA), 10)
        .await
        .unwrap();
    assert_eq!(history, vec![second.clone(), first.clone()]);
    assert_eq!(
        db.store.certificate_issues(code(CHIYODA), 1).await.unwrap(),
        vec![second]
    );
    assert!(db
        .store
        .certificate_issues(code(SAIJO), 10)
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
