//! Conformance cases for accounts and what signs in with them: lockout after repeated failures,
//! applications decided once, sessions stored hashed and read with their account, and machine
//! clients' tokens and assertions.

use super::cases::contains;
use super::*;
use vrs_store::testkit::TestDb;
use vrs_store::Areas;

fn account(user_id: &str, municipality: Option<&str>) -> vrs_store::Account {
    vrs_store::Account {
        user_id: user_id_of(user_id),
        role: vrs_domain::Role::MunicipalStaff,
        municipality: municipality.map(code),
        prefecture: None,
        display_name: "西条 職員".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into(),
        must_change_password: true,
        failed_logins: 0,
        locked_until: None,
        disabled: false,
        issued_by: "operator".into(),
        created_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
    }
}

/// A staff account of 西条市 with one session opened at a fixed time and last seen `seen_after`
/// later: the session's token, the hash the store keeps and the stored record.
async fn account_with_session(
    db: &TestDb,
    user_id: &str,
    terminal: &str,
    seen_after: chrono::Duration,
) -> (String, [u8; 32], vrs_store::SessionRecord) {
    let s = &db.store;
    s.create_account(
        &account(user_id, Some(SAIJO)),
        code(SAIJO).into(),
        &audit("account.issue", user_id),
    )
    .await
    .unwrap();
    let (token, hash) = vrs_crypto::password::new_token();
    let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
    let record = vrs_store::SessionRecord {
        token_hash: hash.to_vec(),
        user_id: user_id_of(user_id),
        terminal: terminal.into(),
        csrf_token: format!("csrf-{user_id}"),
        created_at: at,
        last_seen_at: at + seen_after,
    };
    s.create_session(&record).await.unwrap();
    (token, hash, record)
}

pub async fn accounts_lock_after_repeated_failures_and_unlock_on_success(db: &TestDb) {
    let s = &db.store;
    let a = account("saijo-0001", Some(SAIJO));
    s.create_account(
        &a,
        code(SAIJO).into(),
        &audit("account.issue", "saijo-0001"),
    )
    .await
    .unwrap();
    assert_eq!(s.account(&user_id_of("saijo-0001")).await.unwrap(), a);
    assert!(matches!(
        s.create_account(
            &a,
            code(SAIJO).into(),
            &audit("account.issue", "saijo-0001")
        )
        .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        s.account(&user_id_of("nobody")).await,
        Err(StoreError::NotFound)
    ));
    let until = chrono::Utc::now() + chrono::Duration::minutes(15);
    for n in 1..=4 {
        let now = s
            .login_failed(&user_id_of("saijo-0001"), 5, until)
            .await
            .unwrap();
        assert_eq!(now.failed_logins, n);
        assert!(now.locked_until.is_none(), "not locked after {n} failures");
    }
    let locked = s
        .login_failed(&user_id_of("saijo-0001"), 5, until)
        .await
        .unwrap();
    assert!(locked.is_locked(chrono::Utc::now()));
    assert!(!locked.is_locked(until + chrono::Duration::seconds(1)));
    s.login_succeeded(&user_id_of("saijo-0001")).await.unwrap();
    let cleared = s.account(&user_id_of("saijo-0001")).await.unwrap();
    assert_eq!((cleared.failed_logins, cleared.locked_until), (0, None));
    assert_eq!(s.accounts().await.unwrap().len(), 1);
    assert_eq!(
        s.audit_log(code(SAIJO).into(), 1, 10).await.unwrap().len(),
        1
    );
}

pub async fn an_application_is_decided_once_and_approval_issues_the_account(db: &TestDb) {
    let s = &db.store;
    let first = s
        .area(code(SAIJO))
        .apply_for_account(
            &user_id_of("saijo-admin"),
            "窓口 一郎",
            vrs_domain::Role::MunicipalStaff,
            &audit("account.apply", "1"),
        )
        .await
        .unwrap();
    let second = s
        .area(code(SAIJO))
        .apply_for_account(
            &user_id_of("saijo-admin"),
            "窓口 二郎",
            vrs_domain::Role::MunicipalStaff,
            &audit("account.apply", "2"),
        )
        .await
        .unwrap();
    let pending = s
        .applications(Some(vrs_store::ApplicationStatus::Pending))
        .await
        .unwrap();
    assert_eq!(
        pending.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![second, first]
    );
    let issued = account("saijo-0002", Some(SAIJO));
    s.decide_application(
        first,
        &user_id_of("operator"),
        Some(&issued),
        &audit("account.approve", "1"),
    )
    .await
    .unwrap();
    assert_eq!(
        s.account(&user_id_of("saijo-0002")).await.unwrap().user_id,
        "saijo-0002"
    );
    assert!(matches!(
        s.decide_application(
            first,
            &user_id_of("operator"),
            None,
            &audit("account.reject", "1")
        )
        .await,
        Err(StoreError::Conflict(_))
    ));
    s.decide_application(
        second,
        &user_id_of("operator"),
        None,
        &audit("account.reject", "2"),
    )
    .await
    .unwrap();
    let all = s.applications(None).await.unwrap();
    let by_id = |id| all.iter().find(|a| a.id == id).unwrap();
    assert_eq!(by_id(first).status, vrs_store::ApplicationStatus::Approved);
    assert_eq!(by_id(first).issued_user_id, Some(user_id_of("saijo-0002")));
    assert_eq!(by_id(second).status, vrs_store::ApplicationStatus::Rejected);
    assert!(by_id(second).issued_user_id.is_none());
    // A rejected decision creates no account; both sides' chains record every step.
    assert_eq!(s.accounts().await.unwrap().len(), 1);
    assert_eq!(
        s.audit_log(vrs_store::AuditScope::National, 1, 10)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        s.audit_log(code(SAIJO).into(), 1, 10).await.unwrap().len(),
        4
    );
}

pub async fn sessions_are_stored_hashed_and_end_with_a_password_change(db: &TestDb) {
    let s = &db.store;
    let (token, hash, record) =
        account_with_session(db, "saijo-0003", "lgwan", chrono::Duration::zero()).await;
    let at = record.created_at;
    assert_eq!(s.session(&hash).await.unwrap(), record);
    let later = at + chrono::Duration::minutes(5);
    s.touch_session(&hash, later).await.unwrap();
    assert_eq!(s.session(&hash).await.unwrap().last_seen_at, later);
    assert!(
        !contains(&db.dump().await, token.as_bytes()),
        "the token itself is never stored"
    );
    s.set_password(
        &user_id_of("saijo-0003"),
        "$argon2id$new",
        false,
        code(SAIJO).into(),
        &audit("password.change", "3"),
    )
    .await
    .unwrap();
    assert!(matches!(s.session(&hash).await, Err(StoreError::NotFound)));
    assert!(
        !s.account(&user_id_of("saijo-0003"))
            .await
            .unwrap()
            .must_change_password
    );
    s.create_session(&record).await.unwrap();
    s.delete_session(&hash).await.unwrap();
    assert!(matches!(s.session(&hash).await, Err(StoreError::NotFound)));
    // Stopping an account ends its sessions; letting it in again keeps it as it was.
    s.create_session(&record).await.unwrap();
    let before = s.audit_log(code(SAIJO).into(), 1, 100).await.unwrap().len();
    s.set_account_disabled(
        &user_id_of("saijo-0003"),
        true,
        code(SAIJO).into(),
        &audit("account.disable", "3"),
    )
    .await
    .unwrap();
    assert!(s.account(&user_id_of("saijo-0003")).await.unwrap().disabled);
    assert!(matches!(s.session(&hash).await, Err(StoreError::NotFound)));
    s.set_account_disabled(
        &user_id_of("saijo-0003"),
        false,
        code(SAIJO).into(),
        &audit("account.enable", "3"),
    )
    .await
    .unwrap();
    assert!(!s.account(&user_id_of("saijo-0003")).await.unwrap().disabled);
    let after = s.audit_log(code(SAIJO).into(), 1, 100).await.unwrap();
    assert_eq!(after.len(), before + 2);
    assert!(matches!(
        s.set_account_disabled(
            &user_id_of("nobody"),
            true,
            code(SAIJO).into(),
            &audit("account.disable", "x")
        )
        .await,
        Err(StoreError::NotFound)
    ));
}

pub async fn a_session_is_read_with_its_account_and_the_stopped_functions_in_one_read(db: &TestDb) {
    use vrs_domain::Function;
    use vrs_store::FunctionState;
    let s = &db.store;
    let (_, hash, record) =
        account_with_session(db, "saijo-0004", "internet", chrono::Duration::seconds(30)).await;
    let at = record.created_at;
    let read = s.signed_session(&hash).await.unwrap();
    assert_eq!(read.session, record);
    assert_eq!(
        read.account,
        s.account(&user_id_of("saijo-0004")).await.unwrap()
    );
    assert!(read.stopped.is_empty());
    assert!(matches!(
        s.signed_session(&[7u8; 32]).await,
        Err(StoreError::NotFound)
    ));
    // The switches come with it as another process on the database set them a moment before:
    // only the functions stopped, in the order of their codes.
    let other = db.reopen(&db.key_hex, false).await.unwrap();
    let state = |function, stopped| FunctionState {
        function,
        stopped,
        reason: "障害対応".into(),
        changed_by: "operator-1".into(),
        changed_at: at,
    };
    for (f, stopped) in [
        (Function::TabletRegistration, true),
        (Function::Inquiry, false),
        (Function::Import, true),
    ] {
        other
            .set_function(&state(f, stopped), &audit("function.switch", f.as_str()))
            .await
            .unwrap();
    }
    assert_eq!(
        s.signed_session(&hash).await.unwrap().stopped,
        [
            state(Function::Import, true),
            state(Function::TabletRegistration, true)
        ]
    );
    other
        .set_function(
            &state(Function::Import, false),
            &audit("function.switch", "import"),
        )
        .await
        .unwrap();
    assert_eq!(
        s.signed_session(&hash).await.unwrap().stopped,
        [state(Function::TabletRegistration, true)]
    );
    // Disabling the account ends the session: neither is found any more.
    s.set_account_disabled(
        &user_id_of("saijo-0004"),
        true,
        code(SAIJO).into(),
        &audit("account.disable", "4"),
    )
    .await
    .unwrap();
    assert!(matches!(
        s.signed_session(&hash).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn a_session_is_read_with_a_coupon_holder_and_their_doses_in_one_read(db: &TestDb) {
    use vrs_domain::Function;
    use vrs_store::FunctionState;
    let s = &db.store;
    let (_, hash, record) =
        account_with_session(db, "saijo-0005", "lgwan", chrono::Duration::zero()).await;
    let at = record.created_at;
    let (with, without, gone) = (
        resident(SAIJO, 52),
        resident(SAIJO, 53),
        resident(SAIJO, 54),
    );
    for r in [&with, &without, &gone] {
        s.area(code(SAIJO))
            .put_resident(r, &audit("resident.put", r.atena.as_str()))
            .await
            .unwrap();
    }
    for n in [3, 1, 2] {
        s.area(code(SAIJO))
            .add_dose(&reg(dose(&with, n)), &audit("dose.add", "52"))
            .await
            .unwrap();
    }
    let died = NaiveDate::from_ymd_opt(2021, 6, 1).unwrap();
    s.area(code(SAIJO))
        .set_flags(
            &gone.atena,
            None,
            Some(died),
            &audit("resident.flags", "54"),
        )
        .await
        .unwrap();
    // Each read gives what the two reads it stands for give.
    for r in [&with, &without, &gone] {
        let read = s
            .area(code(SAIJO))
            .session_and_holder(&r.coupon, &hash)
            .await
            .unwrap();
        assert_eq!(read.signed, s.signed_session(&hash).await.unwrap());
        assert_eq!(read.signed.session, record);
        assert_eq!(
            read.holder.unwrap(),
            s.area(code(SAIJO))
                .holder_and_doses(&r.coupon)
                .await
                .unwrap()
        );
    }
    let read = s
        .area(code(SAIJO))
        .session_and_holder(&with.coupon, &hash)
        .await
        .unwrap();
    let (holder, doses) = read.holder.unwrap();
    assert_eq!(holder, vrs_store::CouponHolder::from(&with));
    let numbers: Vec<u8> = doses.iter().map(|d| d.dose.dose_number.get()).collect();
    assert_eq!(numbers, [1, 2, 3], "by dose number");
    let read = s
        .area(code(SAIJO))
        .session_and_holder(&gone.coupon, &hash)
        .await
        .unwrap();
    assert_eq!(read.holder.unwrap().0.deceased_on, Some(died));
    // A coupon nobody of the area holds, or held in another area: the session, and no holder.
    s.activate_municipality(code(CHIYODA)).await.unwrap();
    let nobody = resident(SAIJO, 55).coupon;
    for (area, coupon) in [(SAIJO, &nobody), (CHIYODA, &with.coupon)] {
        let read = s
            .area(code(area))
            .session_and_holder(coupon, &hash)
            .await
            .unwrap();
        assert_eq!(read.signed.session, record);
        assert!(matches!(read.holder, Err(StoreError::NotFound)), "{area}");
    }
    // No such session: nothing, whatever the coupon.
    assert!(matches!(
        s.area(code(SAIJO))
            .session_and_holder(&with.coupon, &[9u8; 32])
            .await,
        Err(StoreError::NotFound)
    ));
    // A function stopped by another process on the database a moment before comes with it.
    let other = db.reopen(&db.key_hex, false).await.unwrap();
    let stop = FunctionState {
        function: Function::TabletRegistration,
        stopped: true,
        reason: "障害対応".into(),
        changed_by: "operator-1".into(),
        changed_at: at,
    };
    other
        .set_function(&stop, &audit("function.switch", "tablet_registration"))
        .await
        .unwrap();
    let read = s
        .area(code(SAIJO))
        .session_and_holder(&with.coupon, &hash)
        .await
        .unwrap();
    assert_eq!(read.signed.stopped, [stop]);
    assert_eq!(read.holder.unwrap().1.len(), 3);
}

pub async fn a_machine_clients_tokens_are_hashed_its_assertions_used_once_and_removal_ends_them(
    db: &TestDb,
) {
    let s = &db.store;
    let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
    let client = vrs_store::MachineClient {
        user_id: user_id_of("saijo-ehr"),
        jwks: r#"{"keys":[]}"#.into(),
        scopes: "doses.write".into(),
        created_at: at,
    };
    assert!(matches!(
        s.put_client(
            &client,
            code(SAIJO).into(),
            &audit("client.register", "ehr")
        )
        .await,
        Err(StoreError::NotFound)
    ));
    s.create_account(
        &account("saijo-ehr", Some(SAIJO)),
        code(SAIJO).into(),
        &audit("account.issue", "ehr"),
    )
    .await
    .unwrap();
    let chain = s.audit_log(code(SAIJO).into(), 1, 100).await.unwrap().len();
    s.put_client(
        &client,
        code(SAIJO).into(),
        &audit("client.register", "ehr"),
    )
    .await
    .unwrap();
    assert_eq!(s.client(&user_id_of("saijo-ehr")).await.unwrap(), client);
    assert_eq!(s.clients().await.unwrap(), vec![client.clone()]);

    let (token, hash) = vrs_crypto::password::new_token();
    let record = vrs_store::AccessToken {
        token_hash: hash.to_vec(),
        user_id: user_id_of("saijo-ehr"),
        scopes: "doses.write".into(),
        expires_at: at + chrono::Duration::minutes(5),
    };
    s.create_access_token(&record, code(SAIJO).into(), &audit("client.token", "ehr"))
        .await
        .unwrap();
    assert_eq!(s.access_token(&hash).await.unwrap(), record);
    assert!(
        !contains(&db.dump().await, token.as_bytes()),
        "the token itself is never stored"
    );

    s.use_assertion(&user_id_of("saijo-ehr"), "jti-1", at)
        .await
        .unwrap();
    assert!(matches!(
        s.use_assertion(&user_id_of("saijo-ehr"), "jti-1", at).await,
        Err(StoreError::Conflict(_))
    ));
    s.use_assertion(
        &user_id_of("saijo-ehr"),
        "jti-2",
        at + chrono::Duration::hours(1),
    )
    .await
    .unwrap();
    // The first assertion ID and the token expire; the second ID is still kept.
    let swept = s
        .delete_expired_client_records(at + chrono::Duration::minutes(10))
        .await
        .unwrap();
    assert_eq!(swept, 2);
    assert!(matches!(
        s.access_token(&hash).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.use_assertion(&user_id_of("saijo-ehr"), "jti-2", at).await,
        Err(StoreError::Conflict(_))
    ));

    // Replacing the registration, then removing it, ends the tokens held.
    s.create_access_token(&record, code(SAIJO).into(), &audit("client.token", "ehr"))
        .await
        .unwrap();
    s.put_client(
        &client,
        code(SAIJO).into(),
        &audit("client.register", "ehr"),
    )
    .await
    .unwrap();
    assert!(matches!(
        s.access_token(&hash).await,
        Err(StoreError::NotFound)
    ));
    s.create_access_token(&record, code(SAIJO).into(), &audit("client.token", "ehr"))
        .await
        .unwrap();
    s.delete_client(
        &user_id_of("saijo-ehr"),
        code(SAIJO).into(),
        &audit("client.remove", "ehr"),
    )
    .await
    .unwrap();
    assert!(matches!(
        s.access_token(&hash).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.client(&user_id_of("saijo-ehr")).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.delete_client(
            &user_id_of("saijo-ehr"),
            code(SAIJO).into(),
            &audit("client.remove", "ehr")
        )
        .await,
        Err(StoreError::NotFound)
    ));
    // Every registration, grant and removal is in the chain; refusals add nothing.
    assert_eq!(
        s.audit_log(code(SAIJO).into(), 1, 100).await.unwrap().len(),
        chain + 6
    );
}
