//! Session expiry on both backends: idle and absolute limits end a session and remove it. An
//! unknown user ID typed at sign-in reaches the audit chain only as a keyed pseudonym and length.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration, Utc};
use vrs_core::accounts::{self, LoginPolicy, SessionError};
use vrs_domain::UserId;
use vrs_store::testkit::TestDb;
use vrs_store::{Account, AuditEntry, AuditFilter, AuditScope, SessionRecord};

/// After five failed logins in a row the next try must wait a minute, doubling with each further
/// failure up to the policy's limit; a try within the wait is refused unchecked and uncounted; a
/// right password after it gets in and the count starts again.
async fn failed_logins_make_the_next_try_wait_longer(db: &TestDb) {
    let policy = LoginPolicy::default();
    let waits: Vec<Option<i64>> = (3..=10)
        .map(|n| accounts::backoff(&policy, n).map(|d| d.num_minutes()))
        .collect();
    assert_eq!(
        waits,
        [
            None,
            None,
            Some(1),
            Some(2),
            Some(4),
            Some(8),
            Some(15),
            Some(15)
        ]
    );
    let right = "Right-Password-2026";
    let mut account = db.store.account(&user_id("saijo-0001")).await.unwrap();
    account.user_id = user_id("saijo-0002");
    account.password_hash = vrs_crypto::password::hash_password(right).unwrap();
    let audit = AuditEntry::now("test", "test", "local", "account.issue", "saijo-0002");
    db.store
        .create_account(&account, AuditScope::National, &audit)
        .await
        .unwrap();
    let login = |password: &'static str| {
        accounts::login(db.store.as_ref(), &policy, "saijo-0002", password, "lgwan")
    };
    for _ in 1..=4 {
        assert!(matches!(
            login("wrong-password-1").await,
            Err(accounts::LoginError::BadCredentials)
        ));
    }
    let Err(accounts::LoginError::Throttled { until }) = login("wrong-password-1").await else {
        panic!("the fifth failure starts a wait");
    };
    let wait = until - Utc::now();
    assert!(
        wait > Duration::seconds(50) && wait <= Duration::minutes(1),
        "{wait}"
    );
    assert!(matches!(
        login(right).await,
        Err(accounts::LoginError::Throttled { .. })
    ));
    assert_eq!(
        db.store
            .account(&user_id("saijo-0002"))
            .await
            .unwrap()
            .failed_logins,
        5
    );
    // The wait over, one more failure waits twice as long.
    let past = "UPDATE accounts SET locked_until = '2000-01-01T00:00:00.000000Z' \
                WHERE user_id = 'saijo-0002'";
    db.exec(past).await.unwrap();
    let Err(accounts::LoginError::Throttled { until }) = login("wrong-password-1").await else {
        panic!("a failure after the wait waits again");
    };
    let wait = until - Utc::now();
    assert!(
        wait > Duration::seconds(110) && wait <= Duration::minutes(2),
        "{wait}"
    );
    db.exec(past).await.unwrap();
    assert!(login(right).await.is_ok());
    assert_eq!(
        db.store
            .account(&user_id("saijo-0002"))
            .await
            .unwrap()
            .failed_logins,
        0
    );
}

/// What strangers type in the user ID field — a password in the wrong field, a long paste —
/// never enters the append-only chain: the entry holds `unknown:` + a keyed pseudonym + the
/// length, the same text giving the same pseudonym.
async fn unknown_user_ids_are_recorded_as_pseudonyms(db: &TestDb) {
    let policy = LoginPolicy::default();
    let typed = [
        "Initial-Pass-2026".to_owned(),
        "Initial-Pass-2026".to_owned(),
        "x".repeat(10_000),
        "パスワード".to_owned(),
    ];
    for text in &typed {
        let refused = accounts::login(db.store.as_ref(), &policy, text, "whatever", "internet")
            .await
            .unwrap_err();
        assert!(matches!(refused, accounts::LoginError::UnknownUser));
    }
    let entries = db
        .store
        .audit_search(
            AuditScope::National,
            &AuditFilter {
                action: Some("login".into()),
                limit: 100,
                ..AuditFilter::default()
            },
        )
        .await
        .unwrap();
    let strangers: Vec<&AuditEntry> = entries
        .iter()
        .map(|r| &r.entry)
        .filter(|e| e.outcome == "unknown_user")
        .collect();
    assert_eq!(strangers.len(), 4);
    for e in &strangers {
        for field in [&e.actor, &e.target, &e.detail] {
            assert!(!field.contains("Pass"), "{field}");
            assert!(!field.contains("xxxx"), "{field}");
            assert!(!field.contains("パスワード"), "{field}");
            assert!(field.len() <= 40, "{field}");
        }
        assert!(e.actor.starts_with("unknown:"), "{}", e.actor);
    }
    let mut recorded: Vec<&str> = strangers.iter().map(|e| e.actor.as_str()).collect();
    recorded.sort_unstable();
    let lengths: Vec<&str> = recorded
        .iter()
        .map(|a| &a[a.find("/len=").unwrap()..])
        .collect();
    assert!(lengths.contains(&"/len=17"), "{lengths:?}");
    assert!(lengths.contains(&"/len=10000"), "{lengths:?}");
    assert!(lengths.contains(&"/len=5"), "{lengths:?}");
    recorded.dedup();
    assert_eq!(
        recorded.len(),
        3,
        "the same text, the same pseudonym: {recorded:?}"
    );
    let expected = accounts::unknown_user_id(db.store.as_ref(), "Initial-Pass-2026");
    assert_eq!(strangers.iter().filter(|e| e.actor == expected).count(), 2);
}

async fn setup(db: &TestDb) {
    let account = Account {
        user_id: user_id("saijo-0001"),
        role: vrs_domain::Role::MunicipalStaff,
        municipality: Some(vrs_domain::MunicipalityCode::parse("382060").unwrap()),
        prefecture: None,
        display_name: "職員".into(),
        password_hash: "x".into(),
        must_change_password: false,
        failed_logins: 0,
        locked_until: None,
        disabled: false,
        issued_by: "test".into(),
        created_at: Utc::now(),
    };
    let audit = AuditEntry::now("test", "test", "local", "account.issue", "saijo-0001");
    db.store
        .create_account(&account, AuditScope::National, &audit)
        .await
        .unwrap();
}

async fn cases(db: &TestDb) {
    let policy = LoginPolicy::default();
    setup(db).await;
    let fresh = new_session(db, "saijo-0001", Duration::minutes(5), Duration::minutes(2)).await;
    let read = accounts::session(db.store.as_ref(), &policy, &fresh)
        .await
        .unwrap();
    assert_eq!(read.account.user_id, "saijo-0001");
    assert!(Utc::now() - read.session.last_seen_at < Duration::minutes(3));
    assert!(read.stopped.is_empty());
    // Marked used: the idle clock restarted.
    let hash = vrs_crypto::password::token_hash(&fresh);
    assert!(
        Utc::now() - db.store.session(&hash).await.unwrap().last_seen_at < Duration::seconds(30)
    );
    db.store.delete_session(&hash).await.unwrap();

    let idle = new_session(db, "saijo-0001", Duration::hours(1), Duration::minutes(31)).await;
    assert!(matches!(
        accounts::session(db.store.as_ref(), &policy, &idle).await,
        Err(SessionError::Expired)
    ));
    let old = new_session(db, "saijo-0001", Duration::hours(13), Duration::minutes(1)).await;
    assert!(matches!(
        accounts::session(db.store.as_ref(), &policy, &old).await,
        Err(SessionError::Expired)
    ));
    // An expired session is gone, not merely refused.
    assert!(matches!(
        accounts::session(db.store.as_ref(), &policy, &old).await,
        Err(SessionError::Missing)
    ));
    assert!(matches!(
        accounts::session(db.store.as_ref(), &policy, "no-such-token").await,
        Err(SessionError::Missing)
    ));
    // The housekeeping sweep deletes the expired sessions nobody came back to, and only those.
    let live = new_session(db, "saijo-0001", Duration::minutes(5), Duration::minutes(2)).await;
    let idle = new_session(db, "saijo-0001", Duration::hours(1), Duration::minutes(31)).await;
    let old = new_session(db, "saijo-0001", Duration::hours(13), Duration::minutes(1)).await;
    let swept = accounts::sweep_sessions(db.store.as_ref(), &policy, Utc::now())
        .await
        .unwrap();
    assert_eq!(swept, 2);
    for (token, kept) in [(&live, true), (&idle, false), (&old, false)] {
        let hash = vrs_crypto::password::token_hash(token);
        assert_eq!(db.store.session(&hash).await.is_ok(), kept);
    }
}

async fn new_session(db: &TestDb, user: &str, created_ago: Duration, seen_ago: Duration) -> String {
    let (token, hash) = vrs_crypto::password::new_token();
    let now = Utc::now();
    db.store
        .create_session(&SessionRecord {
            token_hash: hash.to_vec(),
            user_id: user_id(user),
            terminal: "internet".into(),
            csrf_token: "c".into(),
            created_at: now - created_ago,
            last_seen_at: now - seen_ago,
        })
        .await
        .unwrap();
    token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_expire_when_idle_or_too_old_sqlite() {
    let db = TestDb::sqlite().await;
    cases(&db).await;
    unknown_user_ids_are_recorded_as_pseudonyms(&db).await;
    failed_logins_make_the_next_try_wait_longer(&db).await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_expire_when_idle_or_too_old_postgres() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    cases(&db).await;
    unknown_user_ids_are_recorded_as_pseudonyms(&db).await;
    failed_logins_make_the_next_try_wait_longer(&db).await;
    db.cleanup().await;
}

fn user_id(text: &str) -> UserId {
    UserId::parse(text).unwrap()
}
