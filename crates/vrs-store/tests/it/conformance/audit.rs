//! Conformance cases for the audit log: every entry linked into one chain the database will not
//! let anyone change, appends from many tasks kept in one chain, and the search within a chain.

use super::*;
use vrs_store::testkit::TestDb;

pub async fn audit_chain_links_every_entry_and_refuses_changes(db: &TestDb) {
    let s = &db.store;
    for i in 0..10 {
        s.append_audit(code(SAIJO).into(), &audit("resident.read", &i.to_string()))
            .await
            .unwrap();
    }
    let log = s.audit_log(code(SAIJO).into(), 1, 100).await.unwrap();
    assert_eq!(
        log.iter().map(|r| r.seq).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<_>>()
    );
    let mut prev = vrs_crypto::chain::GENESIS;
    for r in &log {
        assert_eq!(r.hash, r.expected_hash(&prev), "entry {}", r.seq);
        prev = r.hash;
    }
    assert_eq!(
        s.audit_log(code(SAIJO).into(), 4, 2).await.unwrap(),
        log[3..5].to_vec()
    );
    let update = db
        .exec("UPDATE audit_log SET outcome = 'denied' WHERE seq = 3")
        .await;
    assert!(update.unwrap_err().contains("append-only"));
    let delete = db.exec("DELETE FROM audit_log WHERE seq = 3").await;
    assert!(delete.unwrap_err().contains("append-only"));
    assert_eq!(s.audit_log(code(SAIJO).into(), 1, 100).await.unwrap(), log);
}

pub async fn concurrent_audit_appends_keep_one_chain(db: &TestDb) {
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = db.store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .append_audit(code(SAIJO).into(), &audit("login", &i.to_string()))
                .await
                .unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let log = db
        .store
        .audit_log(code(SAIJO).into(), 1, 1000)
        .await
        .unwrap();
    assert_eq!(log.len(), 40);
    let mut prev = vrs_crypto::chain::GENESIS;
    for r in &log {
        assert_eq!(r.hash, r.expected_hash(&prev));
        prev = r.hash;
    }
}

pub async fn audit_search_filters_by_time_actor_and_action_within_its_chain(db: &TestDb) {
    let s = &db.store;
    let day = |d: u32| {
        chrono::DateTime::parse_from_rfc3339(&format!("2026-11-{d:02}T09:00:00Z"))
            .unwrap()
            .to_utc()
    };
    for (d, actor, action) in [
        (1, "a", "login"),
        (2, "b", "login"),
        (3, "a", "targets.import"),
        (4, "b", "logout"),
    ] {
        let mut e = audit(action, "x");
        e.actor = actor.into();
        e.at = day(d);
        s.append_audit(code(SAIJO).into(), &e).await.unwrap();
    }
    s.append_audit(code(CHIYODA).into(), &audit("login", "y"))
        .await
        .unwrap();
    let search = |f: vrs_store::AuditFilter| async move {
        s.audit_search(code(SAIJO).into(), &f).await.unwrap()
    };
    let all = search(vrs_store::AuditFilter {
        limit: 100,
        ..Default::default()
    })
    .await;
    assert_eq!(
        all.iter().map(|r| r.seq).collect::<Vec<_>>(),
        [4, 3, 2, 1],
        "newest first, own chain only"
    );
    let by_actor = search(vrs_store::AuditFilter {
        actor: Some("a".into()),
        limit: 100,
        ..Default::default()
    })
    .await;
    assert_eq!(by_actor.iter().map(|r| r.seq).collect::<Vec<_>>(), [3, 1]);
    let by_action = search(vrs_store::AuditFilter {
        action: Some("login".into()),
        limit: 100,
        ..Default::default()
    })
    .await;
    assert_eq!(by_action.iter().map(|r| r.seq).collect::<Vec<_>>(), [2, 1]);
    let range = search(vrs_store::AuditFilter {
        from: Some(day(2)),
        to: Some(day(4)),
        limit: 100,
        ..Default::default()
    })
    .await;
    assert_eq!(range.iter().map(|r| r.seq).collect::<Vec<_>>(), [3, 2]);
    let limited = search(vrs_store::AuditFilter {
        limit: 1,
        ..Default::default()
    })
    .await;
    assert_eq!(limited.len(), 1);
    // Pages: the next page starts below the oldest entry shown, with the other filters kept.
    let older = search(vrs_store::AuditFilter {
        limit: 2,
        before_seq: Some(3),
        ..Default::default()
    })
    .await;
    assert_eq!(older.iter().map(|r| r.seq).collect::<Vec<_>>(), [2, 1]);
    let older_logins = search(vrs_store::AuditFilter {
        action: Some("login".into()),
        limit: 100,
        before_seq: Some(2),
        ..Default::default()
    })
    .await;
    assert_eq!(older_logins.iter().map(|r| r.seq).collect::<Vec<_>>(), [1]);
}
