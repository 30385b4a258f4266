//! What governs an inquiry and app issuance on both backends: the app-issuance terms gate with its
//! fixed message, agreed again after each revision, and emergency stops of the inquiry, the bulk
//! inquiry and imports that refuse at once, also on a second store over the same database, and
//! resume audited.

use super::*;
use vrs_core::governance::{
    app_issuance_gate, switch_function, AppIssuanceRefusal, GovernanceError,
    APP_ISSUANCE_NOT_STARTED,
};
use vrs_domain::Function;
use vrs_store::Areas;

pub(super) async fn terms_gate_app_issuance_with_the_exact_message(db: &TestDb) {
    let store = db.store.as_ref();
    store.activate_municipality(saijo()).await.unwrap();
    let refusal = app_issuance_gate(store, saijo())
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(refusal, AppIssuanceRefusal::NotStarted);
    assert_eq!(
        refusal.to_string(),
        "この自治体では、まだアプリでの発行を開始していません。恐れ入りますが、自治体の発行方法を確認の上、手続きをお願いします。"
    );
    assert_eq!(refusal.to_string(), APP_ISSUANCE_NOT_STARTED);
    publish_terms(
        store,
        &operator(),
        TermsKind::AppIssuance,
        "アプリ発行",
        "本文",
    )
    .await
    .unwrap();
    assert!(matches!(
        agree(store, &staff("saijo"), saijo(), TermsKind::AppIssuance, 2).await,
        Err(GovernanceError::NotFound)
    ));
    assert!(
        agree(store, &staff("saijo"), saijo(), TermsKind::AppIssuance, 1)
            .await
            .unwrap()
    );
    assert!(
        !agree(store, &staff("saijo"), saijo(), TermsKind::AppIssuance, 1)
            .await
            .unwrap()
    );
    assert_eq!(app_issuance_gate(store, saijo()).await.unwrap(), Ok(()));
    // Another municipality's agreement is its own.
    assert!(app_issuance_gate(store, chiyoda()).await.unwrap().is_err());
    // A new version needs agreement again; agreeing to the old one is refused.
    publish_terms(
        store,
        &operator(),
        TermsKind::AppIssuance,
        "アプリ発行 改訂",
        "本文2",
    )
    .await
    .unwrap();
    assert_eq!(
        app_issuance_gate(store, saijo()).await.unwrap(),
        Err(AppIssuanceRefusal::NotStarted)
    );
    assert!(matches!(
        agree(store, &staff("saijo"), saijo(), TermsKind::AppIssuance, 1).await,
        Err(GovernanceError::Invalid(_))
    ));
    agree(store, &staff("saijo"), saijo(), TermsKind::AppIssuance, 2)
        .await
        .unwrap();
    assert_eq!(app_issuance_gate(store, saijo()).await.unwrap(), Ok(()));
    // Agreements are audited in the municipality's chain (two, not three).
    let filter = AuditFilter {
        action: Some("terms.agree".into()),
        limit: 10,
        ..AuditFilter::default()
    };
    let entries = store
        .audit_search(AuditScope::Area(saijo()), &filter)
        .await
        .unwrap();
    assert_eq!(entries.len(), 2);
    // An emergency stop of app issuance comes first.
    switch_function(store, &operator(), Function::AppIssuance, true, "鍵の点検")
        .await
        .unwrap();
    assert!(matches!(
        app_issuance_gate(store, saijo()).await.unwrap(),
        Err(AppIssuanceRefusal::Stopped(s)) if s.reason == "鍵の点検"
    ));
}

pub(super) async fn a_stopped_function_refuses_at_once_and_resumes(db: &TestDb) {
    let store = db.store.as_ref();
    let (_, new, _) = moved_person(db).await;
    // A reason is required.
    assert!(matches!(
        switch_function(store, &operator(), Function::Inquiry, true, "  ").await,
        Err(GovernanceError::Invalid(_))
    ));
    switch_function(
        store,
        &operator(),
        Function::Inquiry,
        true,
        "不正アクセスの調査",
    )
    .await
    .unwrap();
    // A second store on the same database (another node) sees it on its next call.
    let other_node = db.reopen(&db.key_hex, false).await.unwrap();
    let e = inquire(
        other_node.as_ref(),
        &staff("saijo"),
        saijo(),
        &ask(&new, chiyoda(), true),
    )
    .await
    .unwrap_err();
    match e {
        InquiryError::Stopped(s) => {
            assert_eq!(s.function, Function::Inquiry);
            assert!(s.message_ja().contains("不正アクセスの調査"));
        }
        other => panic!("{other:?}"),
    }
    let bulk = inquire_bulk(
        other_node.as_ref(),
        &staff("saijo"),
        saijo(),
        std::io::Cursor::new(format!("{},131016,1\n", new.my_number.expose()).into_bytes()),
        EncodingChoice::Auto,
    )
    .await;
    assert!(matches!(bulk, Err(BulkError::Stopped(_))), "{bulk:?}");
    assert!(store
        .area(saijo())
        .provision_records(&ProvisionFilter::default())
        .await
        .unwrap()
        .is_empty());
    // Imports too.
    switch_function(store, &operator(), Function::Import, true, "メンテナンス")
        .await
        .unwrap();
    let request = vrs_core::doses::import::DoseImport {
        municipality: saijo(),
        encoding: EncodingChoice::Auto,
        partial: false,
        source_name: "x.csv".into(),
        today: today(),
    };
    struct Quiet;
    impl vrs_core::ImportObserver for Quiet {
        fn progress(&mut self, _: u64, _: u64) {}
        fn problem(&mut self, _: &vrs_core::Problem) {}
    }
    let imported = vrs_core::doses::import::import_doses(
        other_node.as_ref(),
        &staff("saijo"),
        std::io::Cursor::new(b"8800000001,3,2022-01-10,comirnaty,FA4597,382060\n".to_vec()),
        &request,
        &mut Quiet,
    )
    .await;
    assert!(matches!(imported, Err(vrs_core::ImportError::Stopped(_))));
    // Resuming is audited too, and the function works again at once.
    switch_function(store, &operator(), Function::Inquiry, false, "調査完了")
        .await
        .unwrap();
    let a = inquire(
        other_node.as_ref(),
        &staff("saijo"),
        saijo(),
        &ask(&new, chiyoda(), true),
    )
    .await
    .unwrap();
    assert!(a.found);
    let filter = AuditFilter {
        action: Some("function.stop".into()),
        limit: 10,
        ..AuditFilter::default()
    };
    let entries = store
        .audit_search(AuditScope::National, &filter)
        .await
        .unwrap();
    let details: Vec<&str> = entries.iter().map(|e| e.entry.detail.as_str()).collect();
    assert_eq!(entries.len(), 3, "{details:?}");
    assert!(details.iter().any(|d| d.starts_with("resume: 調査完了")));
}
