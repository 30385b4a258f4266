//! An area and a deployment rebuilt elsewhere: the terms an area agreed to come with it, a
//! certificate revoked before a shred stays revoked, and a deployment rebuilt from a backup and the
//! key escrow verifies its old certificates and signs with the same keys.

use super::*;
use vrs_store::Areas;

pub(super) fn issuer() -> IssuerSettings {
    IssuerSettings {
        mode: IssuerMode::Municipality,
        base_url: "https://vrs.example.jp".into(),
        trial: false,
        deployment_name: "VRS Test".into(),
    }
}

/// A domestic certificate issued at the counter to `person` of 西条市.
pub(super) async fn certificate(store: &dyn Store, person: &Resident) -> IssuedCertificate {
    let doses = store.area(saijo()).doses_of(&person.atena).await.unwrap();
    let request = CertificateRequest {
        kind: CertificateKind::Domestic,
        passport: None,
        channel: IssueChannel::Counter,
        replaces: None,
    };
    certificates::issue(
        store,
        &issuer(),
        &staff("saijo"),
        person,
        doses,
        &request,
        Utc::now(),
    )
    .await
    .unwrap()
}

/// What a verifier trusts after reading the deployment's published bundle.
pub(super) async fn published_trust(store: &dyn Store) -> Trust {
    let bundle = revocation::verifier_bundle(store, &issuer(), Utc::now())
        .await
        .unwrap()
        .to_string();
    Trust::from_bundle(&serde_json::from_str::<VerifierBundle>(&bundle).unwrap()).unwrap()
}

/// Regression: an area's backup restored into a fresh deployment failed on a foreign key (its
/// agreements point to terms versions the deployment keeps). A demo-like 西条市 — agreed to the
/// terms, made an inquiry, issued a certificate, merged two people — restores into a deployment of
/// the same backend holding no terms at all; the terms it agreed to come with it and are reported.
/// Into a deployment whose version 1 says something else it is refused, naming the version, and
/// nothing is written.
pub(super) async fn an_area_restores_into_a_fresh_deployment_with_the_terms_it_agreed_to(
    db: &TestDb,
) {
    let store = db.store.as_ref();
    let people = populate(store).await;
    let mine: Vec<&Resident> = people
        .iter()
        .filter(|p| p.municipality == saijo())
        .collect();
    certificate(store, mine[0]).await;
    store
        .area(saijo())
        .merge_people(
            &mine[10].atena,
            &mine[11].atena,
            "merge-1",
            "saijo-staff",
            Utc::now(),
            &staff("saijo").audit(AuditAction::PersonMerge, "merge-1"),
        )
        .await
        .unwrap();
    let taken = backup::backup(
        store,
        BackupScope::Municipality(saijo()),
        &operator(),
        Vec::new(),
    )
    .await
    .unwrap();
    assert_eq!(taken.manifest.format, format::FORMAT);
    assert_eq!(taken.manifest.areas[0].rows["terms_versions"], 1);

    let target = db.fresh_like(&testkit::key_pair().1).await;
    let to = target.store.as_ref();
    assert!(to.terms_versions(None).await.unwrap().is_empty());
    let report = backup::restore(KeySource::Vault(store), to, &taken.out, &operator())
        .await
        .unwrap();
    assert_eq!(report.terms_added, vec!["use 1".to_owned()]);
    assert_eq!(
        to.terms_versions(Some(TermsKind::Use)).await.unwrap(),
        store.terms_versions(Some(TermsKind::Use)).await.unwrap()
    );
    assert_eq!(
        to.area(saijo()).agreements().await.unwrap(),
        store.area(saijo()).agreements().await.unwrap()
    );
    assert_eq!(
        to.area(saijo()).certificate_issues(10).await.unwrap(),
        store.area(saijo()).certificate_issues(10).await.unwrap()
    );
    assert_eq!(
        to.area(saijo()).person_merges().await.unwrap(),
        store.area(saijo()).person_merges().await.unwrap()
    );
    let all = vrs_store::ProvisionFilter::default();
    assert_eq!(
        to.area(saijo())
            .provision_records(&all)
            .await
            .unwrap()
            .len(),
        1,
        "the inquiry's provision record"
    );
    // Only the version agreed to came across, not the no-consent terms nobody here agreed to.
    assert!(to
        .terms_versions(Some(TermsKind::NoConsentInquiry))
        .await
        .unwrap()
        .is_empty());

    // A deployment whose terms of use version 1 say something else.
    let other = db.fresh_like(&testkit::key_pair().1).await;
    publish_terms(
        other.store.as_ref(),
        &operator(),
        TermsKind::Use,
        "別の確認事項",
        "別の本文",
    )
    .await
    .unwrap();
    let err = backup::restore(
        KeySource::Vault(store),
        other.store.as_ref(),
        &taken.out,
        &operator(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, BackupError::Store(StoreError::Conflict(m)) if m.to_string().contains("terms use version 1")),
        "{err}"
    );
    assert!(other.store.municipalities().await.unwrap().is_empty());
    assert_eq!(other.store.terms_versions(None).await.unwrap().len(), 1);
    target.cleanup().await;
    other.cleanup().await;
}

/// Regression: shredding an area deleted its issuance history, so its revoked certificates fell out
/// of the revocation lists while its public keys stayed published, and verified again.
pub(super) async fn a_certificate_revoked_before_a_shred_stays_revoked_after(db: &TestDb) {
    let store = db.store.as_ref();
    let people = populate(store).await;
    let mine: Vec<&Resident> = people
        .iter()
        .filter(|p| p.municipality == saijo())
        .collect();
    let (revoked, kept) = (
        certificate(store, mine[0]).await,
        certificate(store, mine[1]).await,
    );
    lifecycle::revoke(
        store,
        &staff("saijo"),
        saijo(),
        &revoked.id,
        "別人の記録で発行",
    )
    .await
    .unwrap();
    let now = Utc::now();
    let before = published_trust(store).await;
    assert!(verify(revoked.shc_text.as_bytes(), &before, now).is_err());
    shred::consent(
        store,
        saijo(),
        &format!("admin-{}", saijo()),
        "西保第9号",
        &operator(),
    )
    .await
    .unwrap();
    let record = shred::shred(store, saijo(), &operator()).await.unwrap();
    assert!(
        record.deleted.contains("revoked_tombstones=1"),
        "{}",
        record.deleted
    );
    assert!(store
        .area(saijo())
        .certificate_issues(10)
        .await
        .unwrap()
        .is_empty());
    // After the shred: still refused as revoked, online lists and the offline bundle alike; the
    // certificate that was never revoked still verifies with the keys that stay published.
    let after = published_trust(store).await;
    for code in [&revoked.shc_text, &revoked.dcc] {
        match verify(code.as_bytes(), &after, now) {
            Err(VerifyError::Revoked { .. }) => {}
            other => panic!("expected revoked after the shred, got {other:?}"),
        }
    }
    verify(kept.shc_text.as_bytes(), &after, now).unwrap();
    let listed = store.revoked_certificates().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].certificate_id, revoked.id);
    // The tombstone travels in the deployment's backups.
    let whole = backup::backup(store, BackupScope::Deployment, &operator(), Vec::new())
        .await
        .unwrap();
    assert_eq!(whole.manifest.areas[0].rows["revoked_tombstones"], 1);
}

/// Regression: the key escrow held no certificate keys, so a deployment rebuilt from its backups
/// made new ones and every certificate issued before stopped verifying. Rebuilt on a fresh database
/// with the same master key from a whole backup and the escrow, the old certificate verifies against
/// what the new deployment publishes, and the next one is signed with the same issuer key.
pub(super) async fn a_deployment_rebuilt_from_backup_and_escrow_keeps_its_certificate_keys(
    db: &TestDb,
) {
    let store = db.store.as_ref();
    let people = populate(store).await;
    let person = people
        .iter()
        .find(|p| p.municipality == saijo())
        .unwrap()
        .clone();
    let old = certificate(store, &person).await;
    let whole = backup::backup(store, BackupScope::Deployment, &operator(), Vec::new())
        .await
        .unwrap();
    let escrow = backup::export_escrow(store, &operator()).await.unwrap();
    let parsed = backup::parse_escrow(&escrow).unwrap();
    assert!(parsed.signing_keys.len() >= 3, "shc, dsc and csca keys");

    let rebuilt = db.fresh_like(&db.key_hex).await;
    let to = rebuilt.store.as_ref();
    // As `vrs init && vrs restore FILE --keys ESCROW` does: the areas first (into an empty
    // deployment), then the escrow's keys beside them.
    let keys = KeySource::Escrow {
        escrow: &parsed,
        with: to,
    };
    backup::restore(keys, to, &whole.out, &operator())
        .await
        .unwrap();
    let imported = backup::import_escrow(to, &escrow, &operator())
        .await
        .unwrap();
    assert_eq!(imported.signing_keys_added, parsed.signing_keys.len());
    assert!(imported.signing_keys_retired.is_empty());
    let trust = published_trust(to).await;
    let now = Utc::now();
    for code in [&old.shc_text, &old.dcc] {
        verify(code.as_bytes(), &trust, now).unwrap();
    }
    let new = certificate(to, &person).await;
    let signed_by = |issues: Vec<vrs_store::CertificateIssue>, id: &vrs_domain::CertificateId| {
        let issue = issues
            .into_iter()
            .find(|i| &i.certificate_id == id)
            .unwrap();
        (issue.shc_kid, issue.dsc_kid)
    };
    assert_eq!(
        signed_by(
            to.area(saijo()).certificate_issues(10).await.unwrap(),
            &new.id
        ),
        signed_by(
            store.area(saijo()).certificate_issues(10).await.unwrap(),
            &old.id
        ),
        "the same SHC key and document signer"
    );
    // Importing again changes nothing.
    let again = backup::import_escrow(to, &escrow, &operator())
        .await
        .unwrap();
    assert_eq!(again.signing_keys_held, parsed.signing_keys.len());
    // Another deployment's master key opens none of it.
    let stranger = db.fresh_like(&testkit::key_pair().1).await;
    assert!(
        backup::import_escrow(stranger.store.as_ref(), &escrow, &operator())
            .await
            .is_err()
    );
    assert!(stranger
        .store
        .sealed_signing_keys()
        .await
        .unwrap()
        .is_empty());
    rebuilt.cleanup().await;
    stranger.cleanup().await;
}
