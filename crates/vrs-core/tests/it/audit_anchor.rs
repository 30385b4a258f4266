//! The audit anchor on both backends: a database administrator who rewrites an entry and then
//! recomputes every later hash and the recorded head leaves a chain that is consistent in itself —
//! the plain check passes — but the anchor made before catches it. An anchor altered by hand, or
//! made under another master key, does not verify.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use vrs_core::audit::{make_anchor, verify_chain, verify_chain_against, Anchor};
use vrs_domain::MunicipalityCode;
use vrs_store::testkit::{Raw, TestDb};
use vrs_store::{AuditEntry, AuditScope};

fn saijo() -> AuditScope {
    AuditScope::Area(MunicipalityCode::parse("382060").unwrap())
}

/// SQL for bytes: X'..' in SQLite, '\x..'::bytea in PostgreSQL.
fn bytes_sql(db: &TestDb, bytes: &[u8]) -> String {
    match db.raw {
        Raw::Sqlite(_) => format!("X'{}'", hex::encode(bytes)),
        Raw::Postgres { .. } => format!("'\\x{}'::bytea", hex::encode(bytes)),
    }
}

async fn a_rewritten_and_rehashed_chain_is_caught_by_the_anchor(db: &TestDb) {
    let store = db.store.as_ref();
    for n in 1..=5 {
        let entry = AuditEntry::now(
            "saijo-staff",
            "municipal_staff",
            "lgwan",
            "person.read",
            &format!("99000000000{n}"),
        );
        store.append_audit(saijo(), &entry).await.unwrap();
    }
    let anchor = make_anchor(store).await.unwrap();
    let text = serde_json::to_string(&anchor).unwrap();
    let anchor = Anchor::read(store, &text).unwrap();
    assert_eq!(anchor.head_of(saijo()).map(|(seq, _)| seq), Some(5));
    let check = verify_chain_against(store, saijo(), anchor.head_of(saijo()))
        .await
        .unwrap();
    assert_eq!(check.broken, None);

    // The administrator changes who read entry 2, then re-hashes 2..5 and the head by hand.
    let mut records = store.audit_log(saijo(), 1, 100).await.unwrap();
    records[1].entry.actor = "someone-else".into();
    let mut previous = records[0].hash;
    for record in records.iter_mut().skip(1) {
        record.hash = record.expected_hash(&previous);
        previous = record.hash;
    }
    let unguard = match db.raw {
        Raw::Sqlite(_) => "DROP TRIGGER audit_log_no_update;",
        Raw::Postgres { .. } => "DROP TRIGGER audit_log_no_update_or_delete ON audit_log;",
    };
    db.exec(unguard).await.unwrap();
    for record in records.iter().skip(1) {
        db.exec(&format!(
            "UPDATE audit_log SET actor = '{}', hash = {} WHERE municipality_code = '382060' AND seq = {}",
            record.entry.actor,
            bytes_sql(db, &record.hash),
            record.seq
        ))
        .await
        .unwrap();
    }
    db.exec(&format!(
        "UPDATE audit_heads SET hash = {} WHERE municipality_code = '382060'",
        bytes_sql(db, &previous)
    ))
    .await
    .unwrap();
    let rewritten = store.audit_log(saijo(), 2, 1).await.unwrap();
    assert_eq!(rewritten[0].entry.actor, "someone-else");

    // The chain alone looks intact; against the anchor it is not.
    assert_eq!(verify_chain(store, saijo()).await.unwrap().broken, None);
    let check = verify_chain_against(store, saijo(), anchor.head_of(saijo()))
        .await
        .unwrap();
    let broken = check.broken.expect("the anchor catches the rewrite");
    assert_eq!(broken.seq, 5);
    assert!(broken.reason.contains("rewritten"), "{}", broken.reason);

    // An anchor altered by hand does not verify; nor one of another master key.
    let forged = text.replace(&anchor.heads[0].hash, &hex::encode(previous));
    assert!(Anchor::read(store, &forged).is_err());
    let elsewhere = TestDb::sqlite().await;
    let err = Anchor::read(elsewhere.store.as_ref(), &text).unwrap_err();
    assert!(err.to_string().contains("master key"), "{err}");
    elsewhere.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewritten_and_rehashed_chain_is_caught_by_the_anchor_sqlite() {
    let db = TestDb::sqlite().await;
    a_rewritten_and_rehashed_chain_is_caught_by_the_anchor(&db).await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewritten_and_rehashed_chain_is_caught_by_the_anchor_postgres() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    a_rewritten_and_rehashed_chain_is_caught_by_the_anchor(&db).await;
    db.cleanup().await;
}
