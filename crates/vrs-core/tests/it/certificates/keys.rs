//! Signing keys on both backends: keys are made once, rotated, and cards signed under a retired key
//! still verify; one national issuer signs for every municipality; a CSCA held offline signs
//! document signers by request, and a signed request that does not fit is refused and stores
//! nothing.

use super::*;
use vrs_core::certificates::signing::{offline, SigningError};
use vrs_crypto::pki::Csca;
use vrs_crypto::x509::pem;
use vrs_crypto::MasterKey;
use vrs_store::Areas;
use vrs_store::KeyPurpose;

pub(super) async fn keys_are_made_once_rotated_and_old_cards_still_verify(db: &TestDb) {
    let store = db.store.as_ref();
    let settings = settings(IssuerMode::Municipality);
    let (person, _) = people(store, chiyoda()).await;
    let doses = store.area(chiyoda()).doses_of(&person.atena).await.unwrap();
    let request = counter(CertificateKind::Domestic, None);
    let first = issue(
        store,
        &settings,
        &staff(),
        &person,
        doses.clone(),
        &request,
        now(),
    )
    .await
    .unwrap();
    let second = issue(
        store,
        &settings,
        &staff(),
        &person,
        doses.clone(),
        &request,
        now(),
    )
    .await
    .unwrap();
    assert_ne!(first.id, second.id);
    let keys = store.signing_keys(KeyPurpose::Shc).await.unwrap();
    assert_eq!(keys.len(), 1, "one key, made once");
    assert_eq!(store.signing_keys(KeyPurpose::Csca).await.unwrap().len(), 1);

    let new_kid = signing::rotate(
        store,
        &settings,
        "131016",
        KeyPurpose::Shc,
        &operator(),
        now(),
    )
    .await
    .unwrap();
    signing::rotate(
        store,
        &settings,
        "131016",
        KeyPurpose::DocumentSigner,
        &operator(),
        now(),
    )
    .await
    .unwrap();
    let third = issue(store, &settings, &staff(), &person, doses, &request, now())
        .await
        .unwrap();
    let jwks = signing::jwks(store, Some("131016")).await.unwrap();
    assert_eq!(
        jwks["keys"].as_array().unwrap().len(),
        2,
        "the retired key stays published"
    );
    let (issuers, dccs, _) = trust(store, &settings).await;
    let old = shc::verify_qr(&first.shc_text, &issuers).unwrap();
    let new = shc::verify_qr(&third.shc_text, &issuers).unwrap();
    assert_ne!(old.kid, new.kid);
    assert_eq!(new.kid, new_kid);
    let at = now().timestamp() + 60;
    let old_dcc = dcc::verify(&first.dcc, &dccs, at).unwrap();
    let new_dcc = dcc::verify(&third.dcc, &dccs, at).unwrap();
    assert_ne!(old_dcc.kid, new_dcc.kid);

    // Nobody else's key set verifies 千代田区's card.
    let saijo_only = vec![issuers[1].clone()];
    assert!(shc::verify_qr(&first.shc_text, &saijo_only).is_err());

    // One national issuer signs for every municipality.
    let national = settings_national();
    let (other, _) = people(store, saijo()).await;
    let other_doses = store.area(saijo()).doses_of(&other.atena).await.unwrap();
    let a = issue(
        store,
        &national,
        &staff(),
        &other,
        other_doses,
        &request,
        now(),
    )
    .await
    .unwrap();
    let (issuers, _, _) = trust(store, &national).await;
    assert_eq!(
        shc::verify_qr(&a.shc_text, &issuers).unwrap().issuer,
        "https://vrs.example.jp/issuer"
    );
}

fn settings_national() -> IssuerSettings {
    settings(IssuerMode::National)
}

pub(super) async fn a_csca_held_offline_signs_document_signers_by_request(db: &TestDb) {
    let store = db.store.as_ref();
    let settings = settings(IssuerMode::Municipality);
    let master = MasterKey::from_hex(&db.key_hex).unwrap();
    let request = counter(CertificateKind::Domestic, None);
    let (person, _) = people(store, chiyoda()).await;
    let doses = store.area(chiyoda()).doses_of(&person.atena).await.unwrap();
    // Before: the CSCA made here signs 千代田区's document signer.
    let before = issue(store, &settings, &staff(), &person, doses, &request, now())
        .await
        .unwrap();

    // The CSCA moves offline: only its certificate comes in.
    let csca = Csca::create("VRS Test", now().timestamp()).unwrap();
    let csca_pem = pem("CERTIFICATE", &csca.certificate_der);
    let csca_kid = offline::import_csca(store, csca_pem.as_bytes(), &operator(), now())
        .await
        .unwrap();
    let again = offline::import_csca(store, &csca.certificate_der, &operator(), now()).await;
    assert!(matches!(again, Err(SigningError::Refused(_))));
    let cscas = store.signing_keys(KeyPurpose::Csca).await.unwrap();
    assert_eq!(cscas.len(), 2, "the former CSCA stays published");
    assert_eq!(
        cscas.iter().filter(|k| k.retired_at.is_none()).count(),
        1,
        "one active CSCA"
    );

    // No signer is made here any more: rotation and a first DCC of 西条市 ask for a request.
    let rotated = signing::rotate(
        store,
        &settings,
        "131016",
        KeyPurpose::DocumentSigner,
        &operator(),
        now(),
    )
    .await;
    assert!(matches!(rotated, Err(SigningError::OfflineCsca(ref i)) if i == "131016"));
    let (other, _) = people(store, saijo()).await;
    let other_doses = store.area(saijo()).doses_of(&other.atena).await.unwrap();
    let Err(refused) = issue(
        store,
        &settings,
        &staff(),
        &other,
        other_doses.clone(),
        &request,
        now(),
    )
    .await
    else {
        panic!("a certificate was issued for 382060 without a document signer");
    };
    assert!(
        refused
            .to_string()
            .contains("vrs keys request --issuer 382060"),
        "{refused}"
    );

    // The request, signed on the offline machine, comes back.
    let (csr, pending) = offline::request_signer(&master, &settings, "382060", now()).unwrap();
    let signed = vrs_crypto::pki::request::sign_request(
        &csca.certificate_der,
        &csca.private_key_pkcs8,
        &csr,
        now().timestamp(),
    )
    .unwrap();
    let signed_pem = pem("CERTIFICATE", &signed);
    let refusal = |r: Result<String, SigningError>| match r {
        Err(SigningError::Refused(reason)) => reason,
        other => panic!("not refused: {other:?}"),
    };
    // Another deployment's master key does not open the sealed key.
    let stranger = MasterKey::generate().unwrap();
    assert!(
        refusal(import_dsc(store, &stranger, &pending, signed_pem.as_bytes()).await)
            .contains("master key")
    );
    // The certificate of one request does not go with another request's key.
    let (_, other_pending) = offline::request_signer(&master, &settings, "382060", now()).unwrap();
    assert!(
        refusal(import_dsc(store, &master, &other_pending, signed_pem.as_bytes()).await)
            .contains("another key")
    );
    // A certificate the former CSCA's signer holds is not from the offline CSCA.
    let former = store
        .signing_keys(KeyPurpose::DocumentSigner)
        .await
        .unwrap();
    assert!(
        refusal(import_dsc(store, &master, &pending, &former[0].public_part).await)
            .contains("not signed by the deployment's CSCA")
    );
    // A damaged key file.
    assert!(
        refusal(import_dsc(store, &master, b"{}", signed_pem.as_bytes()).await)
            .contains("cannot be read")
    );
    assert_eq!(
        store
            .signing_keys(KeyPurpose::DocumentSigner)
            .await
            .unwrap()
            .len(),
        1,
        "nothing stored by the refusals"
    );

    let kid = import_dsc(store, &master, &pending, signed_pem.as_bytes())
        .await
        .unwrap();
    assert!(refusal(import_dsc(store, &master, &pending, &signed).await).contains("already holds"));
    let card = issue(
        store,
        &settings,
        &staff(),
        &other,
        other_doses,
        &request,
        now(),
    )
    .await
    .unwrap();
    let (_, dccs, anchors) = trust(store, &settings).await;
    let at = now().timestamp() + 60;
    let verified = dcc::verify(&card.dcc, &dccs, at).unwrap();
    let imported = Certificate::from_der(&signed).unwrap();
    assert_eq!(hex::encode(verified.kid), kid);
    assert_eq!(kid, hex::encode(dcc::kid(&signed)));
    let anchor = anchors
        .iter()
        .find(|a| hex::encode(dcc::kid(a.der())) == csca_kid)
        .expect("the offline CSCA is published");
    assert!(imported.is_signed_by(anchor));
    // 千代田区's earlier card, signed under the former CSCA, still verifies.
    dcc::verify(&before.dcc, &dccs, at).unwrap();

    let targets = |records: Vec<vrs_store::AuditRecord>| -> Vec<String> {
        records
            .into_iter()
            .map(|r| format!("{} {}", r.entry.action, r.entry.target))
            .collect()
    };
    let national = targets(
        store
            .audit_log(AuditScope::National, 1, 1000)
            .await
            .unwrap(),
    );
    assert!(
        national.contains(&format!("key.rotate csca:{csca_kid}")),
        "{national:?}"
    );
    let area = targets(store.audit_log(saijo().into(), 1, 1000).await.unwrap());
    assert!(
        area.contains(&format!("key.create dsc:382060:{kid}")),
        "{area:?}"
    );
}

async fn import_dsc(
    store: &dyn Store,
    master: &MasterKey,
    pending: &[u8],
    certificate: &[u8],
) -> Result<String, SigningError> {
    offline::import_document_signer(store, master, pending, certificate, &operator(), now()).await
}
