//! Conformance cases for what the national operator governs: versioned terms, each municipality's
//! agreements, and function switches seen by every process at once.

use chrono::{DateTime, Utc};
use vrs_domain::{Function, TermsKind};
use vrs_store::testkit::TestDb;
use vrs_store::Areas;
use vrs_store::{AuditRecord, AuditScope, FunctionState, StoreError, TermsVersion};

use super::{audit, code, CHIYODA, SAIJO};

const SAPPORO: &str = "011002";

async fn chain(db: &TestDb, scope: AuditScope) -> Vec<AuditRecord> {
    db.store.audit_log(scope, 1, 1000).await.unwrap()
}

async fn publish(db: &TestDb, kind: TermsKind, title: &str) -> TermsVersion {
    db.store
        .publish_terms(
            kind,
            title,
            &format!("{title} の本文"),
            "operator-1",
            &audit("terms.publish", kind.as_str()),
        )
        .await
        .unwrap()
}

pub async fn terms_versions_count_up_per_kind(db: &TestDb) {
    let use1 = publish(db, TermsKind::Use, "利用の確認事項").await;
    let use2 = publish(db, TermsKind::Use, "利用の確認事項 改訂").await;
    let nc1 = publish(db, TermsKind::NoConsentInquiry, "本人同意不要").await;
    assert_eq!((use1.version, use2.version, nc1.version), (1, 2, 1));
    assert_eq!(use2.published_by, "operator-1");
    // By kind code ("no_consent_inquiry" < "use"), then version; exactly as returned on publishing.
    assert_eq!(
        db.store.terms_versions(None).await.unwrap(),
        vec![nc1, use1.clone(), use2.clone()]
    );
    assert_eq!(
        db.store.terms_versions(Some(TermsKind::Use)).await.unwrap(),
        vec![use1, use2]
    );
    assert!(db
        .store
        .terms_versions(Some(TermsKind::AppIssuance))
        .await
        .unwrap()
        .is_empty());
    let national = chain(db, AuditScope::National).await;
    assert_eq!(national.len(), 3);
    assert!(national.iter().all(|r| r.entry.action == "terms.publish"));
}

pub async fn agreeing_to_an_unpublished_version_is_not_found(db: &TestDb) {
    publish(db, TermsKind::Use, "利用の確認事項").await;
    let s = &db.store;
    for (kind, version) in [
        (TermsKind::Use, 2),
        (TermsKind::Use, 0),
        (TermsKind::AppIssuance, 1),
    ] {
        let err = s
            .area(code(SAIJO))
            .agree_to_terms(
                kind,
                version,
                "staff-1",
                &audit("terms.agree", kind.as_str()),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::NotFound),
            "{kind} {version}: {err}"
        );
    }
    assert!(s.area(code(SAIJO)).agreements().await.unwrap().is_empty());
    assert!(chain(db, code(SAIJO).into()).await.is_empty());
}

pub async fn agreeing_twice_changes_nothing_the_second_time(db: &TestDb) {
    publish(db, TermsKind::Use, "利用の確認事項").await;
    let s = &db.store;
    let first = audit("terms.agree", "use");
    assert!(s
        .area(code(SAIJO))
        .agree_to_terms(TermsKind::Use, 1, "staff-1", &first)
        .await
        .unwrap());
    let again = audit("terms.agree", "use");
    assert!(!s
        .area(code(SAIJO))
        .agree_to_terms(TermsKind::Use, 1, "staff-2", &again)
        .await
        .unwrap());
    let agreements = s.area(code(SAIJO)).agreements().await.unwrap();
    assert_eq!(agreements.len(), 1);
    assert_eq!(agreements[0].agreed_by, "staff-1");
    assert_eq!(agreements[0].agreed_at, first.at);
    let entries = chain(db, code(SAIJO).into()).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].entry, first);
}

pub async fn agreements_belong_to_one_municipality(db: &TestDb) {
    publish(db, TermsKind::Use, "利用の確認事項").await;
    publish(db, TermsKind::Use, "利用の確認事項 改訂").await;
    publish(db, TermsKind::NoConsentInquiry, "本人同意不要").await;
    let s = &db.store;
    let agree = |c: &'static str, kind: TermsKind, v: u32| {
        let s = s.clone();
        async move {
            assert!(s
                .area(code(c))
                .agree_to_terms(kind, v, "staff-1", &audit("terms.agree", kind.as_str()))
                .await
                .unwrap());
        }
    };
    agree(CHIYODA, TermsKind::Use, 2).await;
    agree(CHIYODA, TermsKind::NoConsentInquiry, 1).await;
    agree(CHIYODA, TermsKind::Use, 1).await;
    agree(SAIJO, TermsKind::Use, 1).await;
    let of = |c: &'static str| {
        let s = s.clone();
        async move {
            s.area(code(c))
                .agreements()
                .await
                .unwrap()
                .into_iter()
                .map(|a| {
                    assert_eq!(a.municipality, code(c));
                    (a.kind, a.version)
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        of(CHIYODA).await,
        [
            (TermsKind::NoConsentInquiry, 1),
            (TermsKind::Use, 1),
            (TermsKind::Use, 2)
        ]
    );
    assert_eq!(of(SAIJO).await, [(TermsKind::Use, 1)]);
    assert!(of(SAPPORO).await.is_empty());
}

fn switch(function: Function, stopped: bool, reason: &str) -> FunctionState {
    FunctionState {
        function,
        stopped,
        reason: reason.into(),
        changed_by: "operator-1".into(),
        // Stored to the microsecond, like every timestamp.
        changed_at: DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).unwrap(),
    }
}

pub async fn a_function_switch_is_seen_at_once_by_another_store_on_the_database(db: &TestDb) {
    let other = db.reopen(&db.key_hex, false).await.unwrap();
    assert!(other.function_states().await.unwrap().is_empty());
    let stop = switch(Function::Inquiry, true, "不正照会の疑い");
    db.store
        .set_function(&stop, &audit("function.stop", "inquiry"))
        .await
        .unwrap();
    assert_eq!(other.function_states().await.unwrap(), vec![stop.clone()]);
    // The other store resumes it and stops imports; the first sees both, by function code.
    let resume = switch(Function::Inquiry, false, "調査完了");
    other
        .set_function(&resume, &audit("function.resume", "inquiry"))
        .await
        .unwrap();
    let imports = switch(Function::Import, true, "障害対応");
    other
        .set_function(&imports, &audit("function.stop", "import"))
        .await
        .unwrap();
    assert_eq!(
        db.store.function_states().await.unwrap(),
        vec![imports, resume]
    );
    let national = chain(db, AuditScope::National).await;
    let actions: Vec<&str> = national.iter().map(|r| r.entry.action.as_str()).collect();
    assert_eq!(
        actions,
        ["function.stop", "function.resume", "function.stop"]
    );
}
