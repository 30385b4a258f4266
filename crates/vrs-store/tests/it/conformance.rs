//! The storage conformance suite: every case runs against SQLite and PostgreSQL and must behave the
//! same on both. It proves the Foundation's promises: one municipality's rows are invisible through
//! another's scope, sealed fields only open in their own row, lookup by My Number goes through the
//! blind index, a wrong master key is refused, and the audit log is append-only.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::NaiveDate;
use vrs_domain::{
    AtenaNumber, CouponNumber, Dose, DoseRecord, DoseSource, KanaName, LotNumber, MyNumber,
    PersonName, Resident, Sex, VaccineProduct,
};
pub use vrs_store::testkit::code;
use vrs_store::Areas;
use vrs_store::{AuditEntry, Registration, StoreError, Written};

mod accounts;
mod audit;
mod backup;
mod certificates;
mod doses;
mod governance;
mod import;
mod inquiry;
mod kanji;
mod merge;
mod statistics;

use cases::*;
use vrs_store::on_both_backends;

on_both_backends!(
    rows_of_one_municipality_are_invisible_through_another_scope,
    a_record_of_another_municipality_cannot_be_written_through_a_scope,
    ciphertext_copied_between_rows_does_not_decrypt,
    ciphertext_copied_between_municipalities_does_not_decrypt,
    lookup_by_my_number_goes_through_the_blind_index,
    no_personal_field_is_stored_in_the_clear,
    wrong_master_key_is_refused,
    init_is_idempotent_and_open_without_init_needs_a_database,
    resident_writes_report_added_updated_unchanged,
    my_number_and_coupon_are_unique_within_a_municipality_only,
    doses_are_recorded_once_per_dose_number,
    audit_chain_links_every_entry_and_refuses_changes,
    concurrent_audit_appends_keep_one_chain,
    accounts_lock_after_repeated_failures_and_unlock_on_success,
    an_application_is_decided_once_and_approval_issues_the_account,
    sessions_are_stored_hashed_and_end_with_a_password_change,
    a_session_is_read_with_its_account_and_the_stopped_functions_in_one_read,
    a_session_is_read_with_a_coupon_holder_and_their_doses_in_one_read,
    a_machine_clients_tokens_are_hashed_its_assertions_used_once_and_removal_ends_them,
    audit_search_filters_by_time_actor_and_action_within_its_chain,
    dose_records_keep_venue_doctor_time_and_source,
    an_idempotency_key_keeps_its_first_answer_and_writes_once,
    registrations_committed_together_each_stand_or_leave_nothing,
    the_same_dose_sent_twice_at_once_stores_the_one_that_stood,
    registrations_of_many_areas_at_once_all_stand_on_unbroken_chains,
    corrections_and_deletions_need_the_dose_as_stored,
    many_doses_are_added_all_or_none,
    flags_are_set_and_cleared_without_touching_doses,
    kana_name_and_birth_date_find_people_through_the_search_index,
    a_birth_date_finds_everyone_born_that_day_also_rows_stored_before_its_index,
    the_coupon_holder_is_read_without_opening_a_sealed_field,
    a_coupon_holder_is_read_with_their_doses_in_one_read,
    an_inquiry_records_both_sides_with_audit_in_both_chains_and_no_my_number,
    an_inquiry_that_finds_nobody_writes_only_the_asking_side,
    a_duplicate_inquiry_id_is_a_conflict_and_writes_nothing,
    a_municipality_reads_only_its_own_provision_records,
    provision_records_filter_by_side_prefix_and_time,
    provision_records_refuse_update_and_delete,
    terms_versions_count_up_per_kind,
    agreeing_to_an_unpublished_version_is_not_found,
    agreeing_twice_changes_nothing_the_second_time,
    agreements_belong_to_one_municipality,
    a_function_switch_is_seen_at_once_by_another_store_on_the_database,
    a_received_dose_keeps_its_provider_through_add_read_and_correction,
    a_bulk_job_is_kept_once_and_read_only_by_its_municipality,
    the_statistics_source_pages_through_every_resident_once_with_birth_date_sex_flags_and_doses,
    a_municipality_statistics_source_never_holds_another_municipality_people,
    replaced_statistics_read_back_exactly_and_an_older_or_equal_source_is_refused,
    statistics_stay_current_when_only_reads_were_audited_since,
    prefecture_and_nation_scopes_sum_over_their_municipalities,
    open_counts_sum_per_prefecture_or_municipality_and_a_release_is_replaced_whole,
    municipality_figures_give_targets_people_with_and_doses_by_code,
    the_nation_sums_ninety_thousand_daily_rows,
    a_consent_opens_nothing_and_a_shred_takes_only_its_area,
    a_restore_into_an_area_with_rows_writes_nothing,
    signing_keys_are_sealed_one_active_and_rotated_keys_are_kept,
    the_issuance_history_is_sealed_and_kept_in_its_own_area,
    certificates_are_superseded_and_revoked_by_dose_changes,
    a_tablet_dose_is_undone_only_by_its_site_within_the_window,
    a_registered_dose_supersedes_its_persons_certificates_in_its_own_write,
    kana_birth_sex_pairs_are_found_through_the_search_index,
    kanji_birth_sex_pairs_equal_a_recount_of_the_opened_rows_also_before_the_index,
    the_queue_keeps_a_known_candidate_status_and_decides_once,
    a_merge_moves_doses_to_the_kept_person_renumbered_by_date,
    merge_then_unmerge_restores_residents_and_doses_exactly,
    refused_merges_and_unmerges_write_nothing,
    another_municipality_merges_and_candidates_are_out_of_reach,
    movers_are_the_areas_people_who_moved_in_without_received_doses,
    an_import_merges_its_rows_refuses_repeats_and_leaves_other_areas_alone,
);

pub const SAIJO: &str = "382060";
pub const CHIYODA: &str = "131016";

/// A valid My Number built from an 11-digit stem.
pub fn my_number(stem: u64) -> MyNumber {
    let first11 = format!("{:011}", stem % 100_000_000_000);
    let check = MyNumber::check_digit_of(&first11).unwrap();
    MyNumber::parse(&format!("{first11}{check}")).unwrap()
}

pub fn resident(municipality: &str, atena: u64) -> Resident {
    Resident {
        municipality: code(municipality),
        atena: AtenaNumber::parse(&atena.to_string()).unwrap(),
        my_number: my_number(10_000_000_000 + atena),
        coupon: CouponNumber::parse(&format!("{:010}", atena)).unwrap(),
        name: PersonName::parse(&format!("西条　太郎{atena}")).unwrap(),
        name_kana: KanaName::parse("サイジョウ　タロウ").unwrap(),
        birth_date: NaiveDate::from_ymd_opt(1950, 1, 1).unwrap()
            + chrono::Days::new(atena % 20_000),
        sex: if atena.is_multiple_of(2) {
            Sex::Female
        } else {
            Sex::Male
        },
        moved_out_on: None,
        deceased_on: None,
        moved_in_from: None,
    }
}

/// A user ID of the accounts these cases make.
pub fn user_id_of(text: &str) -> vrs_domain::UserId {
    vrs_domain::UserId::parse(text).unwrap()
}

pub fn audit(action: &str, target: &str) -> AuditEntry {
    AuditEntry::now("staff-1", "municipal_staff", "lgwan", action, target)
}

pub fn dose(r: &Resident, n: u8) -> DoseRecord {
    DoseRecord {
        dose: dose_of(r, n),
        venue: "西条市総合文化会館".into(),
        doctor: "医師　一郎".into(),
        recorded_at: chrono::DateTime::parse_from_rfc3339("2021-06-01T09:00:00.123456Z")
            .unwrap()
            .with_timezone(&chrono::Utc),
        source: DoseSource::Tablet,
        received_from: None,
    }
}

/// A registration of `record` by staff-1, without an idempotency key.
pub fn reg(record: DoseRecord) -> Registration {
    Registration {
        record,
        recorded_by: "staff-1".into(),
        answer: None,
    }
}

pub fn dose_of(r: &Resident, n: u8) -> Dose {
    Dose {
        municipality: r.municipality,
        atena: r.atena.clone(),
        dose_number: vrs_domain::DoseNumber::from_int(n).unwrap(),
        administered_on: NaiveDate::from_ymd_opt(2021, 5, 1).unwrap()
            + chrono::Days::new(u64::from(n) * 30),
        product: VaccineProduct::by_code("comirnaty").unwrap(),
        lot_number: LotNumber::parse("FA4597").unwrap(),
        site_municipality: r.municipality,
        coupon: r.coupon,
    }
}

mod cases {
    pub use super::accounts::*;
    pub use super::audit::*;
    pub use super::backup::*;
    pub use super::certificates::*;
    pub use super::doses::*;
    pub use super::governance::*;
    pub use super::import::*;
    pub use super::inquiry::*;
    pub use super::kanji::*;
    pub use super::merge::*;
    pub use super::statistics::*;
    use super::*;
    use vrs_store::testkit::{key_pair, TestDb};

    async fn put(db: &TestDb, r: &Resident) -> Written {
        db.store
            .area(r.municipality)
            .put_resident(r, &audit("resident.put", r.atena.as_str()))
            .await
            .unwrap()
    }

    pub async fn rows_of_one_municipality_are_invisible_through_another_scope(db: &TestDb) {
        let saijo = resident(SAIJO, 100001);
        put(db, &saijo).await;
        db.store
            .area(code(SAIJO))
            .add_dose(&reg(dose(&saijo, 1)), &audit("dose.add", "100001"))
            .await
            .unwrap();
        db.store.activate_municipality(code(CHIYODA)).await.unwrap();
        let other = code(CHIYODA);
        let s = &db.store;
        assert!(matches!(
            s.area(other).resident(&saijo.atena).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            s.area(other).resident_by_my_number(&saijo.my_number).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            s.area(other).resident_by_coupon(&saijo.coupon).await,
            Err(StoreError::NotFound)
        ));
        assert_eq!(s.area(other).count_residents().await.unwrap(), 0);
        assert!(s
            .area(other)
            .doses_of(&saijo.atena)
            .await
            .unwrap()
            .is_empty());
        assert!(s.audit_log(other.into(), 1, 100).await.unwrap().is_empty());
        // A dose cannot be attached to a foreign person through another scope either.
        let mut foreign = dose(&saijo, 2);
        foreign.dose.municipality = other;
        assert!(matches!(
            s.area(other)
                .add_dose(&reg(foreign), &audit("dose.add", "100001"))
                .await,
            Err(StoreError::NotFound)
        ));
        // The same 宛名番号 in two municipalities are two different people.
        let chiyoda = resident(CHIYODA, 100001);
        put(db, &chiyoda).await;
        assert_eq!(
            s.area(other).resident(&chiyoda.atena).await.unwrap(),
            chiyoda
        );
        assert_eq!(
            s.area(code(SAIJO)).resident(&saijo.atena).await.unwrap(),
            saijo
        );
        assert_eq!(
            s.area(code(SAIJO))
                .doses_of(&saijo.atena)
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(s
            .area(other)
            .doses_of(&chiyoda.atena)
            .await
            .unwrap()
            .is_empty());
    }

    pub async fn a_record_of_another_municipality_cannot_be_written_through_a_scope(db: &TestDb) {
        let saijo = resident(SAIJO, 7);
        let err = db
            .store
            .area(code(CHIYODA))
            .put_resident(&saijo, &audit("resident.put", "7"))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");
        assert_eq!(
            db.store
                .area(code(CHIYODA))
                .count_residents()
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            db.store.area(code(SAIJO)).count_residents().await.unwrap(),
            0
        );
        let err = db
            .store
            .area(code(CHIYODA))
            .add_dose(&reg(dose(&saijo, 1)), &audit("dose.add", "7"))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    }

    pub async fn ciphertext_copied_between_rows_does_not_decrypt(db: &TestDb) {
        let a = resident(SAIJO, 1);
        let b = resident(SAIJO, 2);
        put(db, &a).await;
        put(db, &b).await;
        // Within one area (one shard on Citus).
        db.exec(&format!(
            "UPDATE residents SET name_enc = (SELECT name_enc FROM residents \
             WHERE municipality_code = '{SAIJO}' AND atena_number = '1') \
             WHERE municipality_code = '{SAIJO}' AND atena_number = '2'"
        ))
        .await
        .unwrap();
        let err = db
            .store
            .area(code(SAIJO))
            .resident(&b.atena)
            .await
            .unwrap_err();
        match &err {
            StoreError::Integrity { what, .. } => assert!(
                what.contains("residents.name") && what.contains('2'),
                "{what}"
            ),
            other => panic!("expected an integrity error, got {other:?}"),
        }
        // Moving a value to another column of the same row fails too.
        db.exec("UPDATE residents SET name_kana_enc = name_enc WHERE atena_number = '1'")
            .await
            .unwrap();
        assert!(matches!(
            db.store.area(code(SAIJO)).resident(&a.atena).await,
            Err(StoreError::Integrity { .. })
        ));
    }

    pub async fn ciphertext_copied_between_municipalities_does_not_decrypt(db: &TestDb) {
        let a = resident(SAIJO, 5);
        let b = resident(CHIYODA, 5);
        put(db, &a).await;
        put(db, &b).await;
        // The value is read first (a CTE: Citus reads one shard, then writes another).
        db.exec(&format!(
            "WITH v AS (SELECT birth_date_enc FROM residents WHERE municipality_code = '{SAIJO}') \
             UPDATE residents SET birth_date_enc = (SELECT birth_date_enc FROM v) \
             WHERE municipality_code = '{CHIYODA}'"
        ))
        .await
        .unwrap();
        assert!(matches!(
            db.store.area(code(CHIYODA)).resident(&b.atena).await,
            Err(StoreError::Integrity { .. })
        ));
        assert_eq!(
            db.store.area(code(SAIJO)).resident(&a.atena).await.unwrap(),
            a
        );
    }

    pub async fn lookup_by_my_number_goes_through_the_blind_index(db: &TestDb) {
        let people: Vec<Resident> = (1..=20).map(|i| resident(SAIJO, i)).collect();
        for p in &people {
            put(db, p).await;
        }
        for p in &people {
            let found = db
                .store
                .area(code(SAIJO))
                .resident_by_my_number(&p.my_number)
                .await
                .unwrap();
            assert_eq!(&found, p);
        }
        assert!(matches!(
            db.store
                .area(code(SAIJO))
                .resident_by_my_number(&my_number(99_999_999))
                .await,
            Err(StoreError::NotFound)
        ));
        // The index is the keyed hash, never the number: an index built without the key finds nothing.
        let digits = people[0].my_number.expose().to_owned();
        let dump = db.dump().await;
        assert!(!contains(&dump, digits.as_bytes()));
    }

    pub async fn no_personal_field_is_stored_in_the_clear(db: &TestDb) {
        let people: Vec<Resident> = (1..=5).map(|i| resident(SAIJO, 300 + i)).collect();
        for p in &people {
            put(db, p).await;
        }
        let dump = db.dump().await;
        for p in &people {
            assert!(
                !contains(&dump, p.my_number.expose().as_bytes()),
                "My Number in the clear"
            );
            assert!(
                !contains(&dump, p.name.as_str().as_bytes()),
                "name in the clear"
            );
            assert!(
                !contains(&dump, p.name_kana.as_str().as_bytes()),
                "kana in the clear"
            );
            assert!(
                !contains(&dump, p.birth_date.to_string().as_bytes()),
                "birth date in the clear"
            );
        }
        // The dump does hold the rows (the scan is not looking at an empty database).
        assert!(contains(&dump, people[0].coupon.as_str().as_bytes()));
    }

    pub async fn wrong_master_key_is_refused(db: &TestDb) {
        put(db, &resident(SAIJO, 1)).await;
        let (_, wrong) = key_pair();
        for init in [false, true] {
            match db.reopen(&wrong, init).await {
                Err(StoreError::WrongMasterKey) => {}
                Err(other) => panic!("expected WrongMasterKey, got {other}"),
                Ok(_) => panic!("a wrong master key was accepted (init = {init})"),
            }
        }
        let again = db.reopen(&db.key_hex, false).await.unwrap();
        assert_eq!(again.area(code(SAIJO)).count_residents().await.unwrap(), 1);
    }

    pub async fn init_is_idempotent_and_open_without_init_needs_a_database(db: &TestDb) {
        put(db, &resident(SAIJO, 1)).await;
        let again = db.reopen(&db.key_hex, true).await.unwrap();
        assert_eq!(again.area(code(SAIJO)).count_residents().await.unwrap(), 1);
        assert_eq!(again.municipalities().await.unwrap(), vec![code(SAIJO)]);
        if db.url.starts_with("sqlite://") {
            let missing = format!("{}-missing.db", db.url);
            let (key, _) = key_pair();
            assert!(matches!(
                vrs_store::open(&missing, key, false).await,
                Err(StoreError::NotInitialised)
            ));
        }
    }

    pub async fn resident_writes_report_added_updated_unchanged(db: &TestDb) {
        let mut r = resident(SAIJO, 42);
        assert_eq!(put(db, &r).await, Written::Added);
        assert_eq!(put(db, &r).await, Written::Unchanged);
        r.name = PersonName::parse("西条　花子").unwrap();
        r.coupon = CouponNumber::parse("0000009999").unwrap();
        r.deceased_on = NaiveDate::from_ymd_opt(2022, 3, 1);
        assert_eq!(put(db, &r).await, Written::Updated);
        assert_eq!(
            db.store.area(code(SAIJO)).resident(&r.atena).await.unwrap(),
            r
        );
        assert_eq!(
            db.store
                .area(code(SAIJO))
                .resident_by_coupon(&r.coupon)
                .await
                .unwrap(),
            r
        );
        let log = db
            .store
            .audit_log(code(SAIJO).into(), 1, 100)
            .await
            .unwrap();
        assert_eq!(log.len(), 2, "no audit entry for an unchanged write");
    }

    pub async fn my_number_and_coupon_are_unique_within_a_municipality_only(db: &TestDb) {
        let a = resident(SAIJO, 1);
        put(db, &a).await;
        let mut same_number = resident(SAIJO, 2);
        same_number.my_number = a.my_number.clone();
        let err = db
            .store
            .area(code(SAIJO))
            .put_resident(&same_number, &audit("p", "2"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict(m) if m.to_string().contains("My Number")),
            "{err}"
        );
        assert!(!err.to_string().contains(a.my_number.expose()));
        let mut same_coupon = resident(SAIJO, 3);
        same_coupon.coupon = a.coupon;
        let err = db
            .store
            .area(code(SAIJO))
            .put_resident(&same_coupon, &audit("p", "3"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict(m) if m.to_string().contains("coupon")),
            "{err}"
        );
        assert_eq!(
            db.store.area(code(SAIJO)).count_residents().await.unwrap(),
            1,
            "nothing half-stored"
        );
        assert_eq!(
            db.store
                .audit_log(code(SAIJO).into(), 1, 100)
                .await
                .unwrap()
                .len(),
            1
        );
        // Another municipality may hold the same My Number and coupon (a person who moved).
        let mut moved = a.clone();
        moved.municipality = code(CHIYODA);
        assert_eq!(put(db, &moved).await, Written::Added);
    }

    pub async fn doses_are_recorded_once_per_dose_number(db: &TestDb) {
        let r = resident(SAIJO, 9);
        put(db, &r).await;
        let s = &db.store;
        s.area(code(SAIJO))
            .add_dose(&reg(dose(&r, 1)), &audit("dose.add", "9"))
            .await
            .unwrap();
        s.area(code(SAIJO))
            .add_dose(&reg(dose(&r, 2)), &audit("dose.add", "9"))
            .await
            .unwrap();
        let err = s
            .area(code(SAIJO))
            .add_dose(&reg(dose(&r, 2)), &audit("dose.add", "9"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict(m) if m.to_string().contains("dose 2")),
            "{err}"
        );
        let doses = s.area(code(SAIJO)).doses_of(&r.atena).await.unwrap();
        assert_eq!(doses, vec![dose(&r, 1), dose(&r, 2)]);
        let unknown = resident(SAIJO, 10);
        assert!(matches!(
            s.area(code(SAIJO))
                .add_dose(&reg(dose(&unknown, 1)), &audit("dose.add", "10"))
                .await,
            Err(StoreError::NotFound)
        ));
        assert_eq!(
            s.audit_log(code(SAIJO).into(), 1, 100).await.unwrap().len(),
            3
        );
    }

    pub(super) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }
}
