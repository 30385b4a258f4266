//! Revocation on the verifier side, through the public API the issuing side publishes against:
//! a SMART Health Card by its `vc.rid` in its issuer's CRL for its key, an EU DCC by the UCI hash
//! of its UVCI, a VDS-NC seal by the hash of its `uvci`, each only under its own signer, only after
//! its signature verifies; and the verifier bundle that carries all of it to an offline verifier.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Value};
use vrs_cert::dcc::revocation::{uci_hash, HashType, RevocationList};
use vrs_cert::dcc::{self, Uvci};
use vrs_cert::shc::{self, Crl, ShcError};
use vrs_cert::vds_nc;
use vrs_cert::verify::{
    verify, BundleIssuer, BundleProblem, CodeKind, Trust, VerifierBundle, VerifyError,
};
use vrs_crypto::es256::SigningKey;
use vrs_crypto::x509::Certificate;
use vrs_domain::{
    AtenaNumber, CertificateId, CouponNumber, Dose, DoseRecord, DoseSource, LotNumber,
    MunicipalityCode, VaccineProduct,
};
use vrs_testkit::pki::NOW;

const ISSUER: &str = "https://vrs.example.jp/issuer/131016";

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap()
}

/// Verified an hour after issue.
fn later() -> DateTime<Utc> {
    at(NOW + 3600)
}

fn chiyoda() -> MunicipalityCode {
    MunicipalityCode::parse("131016").unwrap()
}

fn certificate_id(random: &[u8; 12]) -> CertificateId {
    CertificateId::new(chiyoda(), *random)
}

// ---- SMART Health Cards ----

struct ShcIssuer {
    key: SigningKey,
    jwks: Value,
}

/// An issuer key whose key set announces a CRL (`crlVersion` 1).
fn shc_issuer() -> ShcIssuer {
    let (key, _) = SigningKey::generate().unwrap();
    let (x, y) = key.public_jwk();
    let jwks = json!({"keys": [{
        "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256",
        "kid": key.kid(), "x": x, "y": y, "crlVersion": 1
    }]});
    ShcIssuer { key, jwks }
}

fn fhir_bundle() -> Value {
    json!({"resourceType": "Bundle", "type": "collection", "entry": [{
        "fullUrl": "resource:0",
        "resource": {"resourceType": "Patient",
                     "name": [{"family": "YAMADA", "given": ["TARO"]}],
                     "birthDate": "1980-04-01"}
    }]})
}

/// The `shc:/` text of a card of `iss` signed by `key`.
fn card(key: &SigningKey, iss: &str, nbf: i64, rid: Option<&str>) -> String {
    let payload = shc::card_payload(iss, nbf, rid, fhir_bundle());
    shc::encode_qr(&shc::sign(&payload, key).unwrap())
}

fn shc_trust(issuer: &ShcIssuer) -> Trust {
    let mut trust = Trust::new();
    trust.add_shc_issuer(ISSUER, &issuer.jwks);
    trust
}

fn crl(kid: &str, rids: &[&str]) -> Crl {
    Crl {
        kid: kid.to_owned(),
        method: "rid".into(),
        ctr: 1,
        rids: rids.iter().map(|r| (*r).to_owned()).collect(),
    }
}

fn assert_revoked(result: Result<vrs_cert::verify::Verified, VerifyError>, kind: CodeKind) {
    let err = result.unwrap_err();
    assert!(
        matches!(err, VerifyError::Revoked { kind: k } if k == kind),
        "{err:?}"
    );
    assert_eq!(err.kind(), Some(kind));
    assert!(err.to_string().contains("revoked"), "{err}");
    assert_eq!(
        err.to_string(),
        format!("{kind}: revoked (the issuer has revoked this certificate)")
    );
}

#[test]
fn a_rid_is_twelve_base64url_characters_fixed_by_the_certificate_id() {
    let id = certificate_id(b"7K3M9Q2XWZ4H");
    let rid = shc::rid(&id);
    assert_eq!(rid.len(), 12);
    assert!(rid.len() <= shc::RID_MAX);
    assert!(rid
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    // base64url of the first 9 bytes of SHA-256("VRS-SHC-rid/1|" + id), recomputed here.
    let digest = vrs_crypto::sha256(format!("VRS-SHC-rid/1|{id}").as_bytes());
    assert_eq!(rid, URL_SAFE_NO_PAD.encode(&digest[..9]));
    assert_eq!(shc::rid(&id), rid, "the same ID always gives the same rid");
    assert_ne!(shc::rid(&certificate_id(b"AAAAAAAAAAAA")), rid);
}

#[test]
fn a_card_whose_rid_is_in_its_issuers_crl_for_its_key_is_refused_as_revoked() {
    let issuer = shc_issuer();
    let id = certificate_id(b"revoked-card");
    let rid = shc::rid(&id);
    let text = card(&issuer.key, ISSUER, NOW, Some(&rid));

    let trust = shc_trust(&issuer);
    let valid = verify(text.as_bytes(), &trust, later()).unwrap();
    assert_eq!(valid.kind, CodeKind::Shc);

    let mut revoking = shc_trust(&issuer);
    revoking
        .add_shc_crl(ISSUER, crl(&issuer.key.kid(), &["AAAAAAAAAAAA", &rid]))
        .unwrap();
    assert_revoked(verify(text.as_bytes(), &revoking, later()), CodeKind::Shc);
    // The compact JWS alone is refused alike.
    let jws = shc::decode_qr(&text).unwrap();
    assert_revoked(verify(jws.as_bytes(), &revoking, later()), CodeKind::Shc);
}

#[test]
fn a_crl_of_another_key_or_issuer_or_rid_does_not_revoke_a_card() {
    let issuer = shc_issuer();
    let rid = shc::rid(&certificate_id(b"kept-valid-1"));
    let text = card(&issuer.key, ISSUER, NOW, Some(&rid));
    let (other_key, _) = SigningKey::generate().unwrap();

    for (iss, crl) in [
        (ISSUER, crl(&other_key.kid(), &[&rid])),
        (
            "https://vrs.example.jp/issuer/382060",
            crl(&issuer.key.kid(), &[&rid]),
        ),
        (
            ISSUER,
            crl(
                &issuer.key.kid(),
                &[&shc::rid(&certificate_id(b"another-card"))],
            ),
        ),
    ] {
        let mut trust = shc_trust(&issuer);
        trust.add_shc_crl(iss, crl.clone()).unwrap();
        assert!(
            verify(text.as_bytes(), &trust, later()).is_ok(),
            "{iss} {crl:?}"
        );
    }
}

#[test]
fn a_timestamped_rid_revokes_the_cards_issued_before_the_timestamp_only() {
    let issuer = shc_issuer();
    let rid = shc::rid(&certificate_id(b"reissued-one"));
    let cutoff = NOW + 1000;
    let mut trust = shc_trust(&issuer);
    trust
        .add_shc_crl(
            ISSUER,
            crl(&issuer.key.kid(), &[&format!("{rid}.{cutoff}")]),
        )
        .unwrap();
    let before = card(&issuer.key, ISSUER, cutoff - 1, Some(&rid));
    assert_revoked(
        verify(before.as_bytes(), &trust, at(cutoff + 10)),
        CodeKind::Shc,
    );
    for nbf in [cutoff, cutoff + 1] {
        let after = card(&issuer.key, ISSUER, nbf, Some(&rid));
        assert!(
            verify(after.as_bytes(), &trust, at(cutoff + 10)).is_ok(),
            "nbf {nbf}"
        );
    }
}

#[test]
fn a_card_without_a_rid_cannot_be_revoked() {
    let issuer = shc_issuer();
    let text = card(&issuer.key, ISSUER, NOW, None);
    let mut trust = shc_trust(&issuer);
    let rid = shc::rid(&certificate_id(b"no-rid-card1"));
    trust
        .add_shc_crl(ISSUER, crl(&issuer.key.kid(), &[&rid]))
        .unwrap();
    assert!(verify(text.as_bytes(), &trust, later()).is_ok());
}

#[test]
fn a_tampered_or_unsigned_card_is_refused_for_its_signature_even_if_revoked() {
    let issuer = shc_issuer();
    let rid = shc::rid(&certificate_id(b"forged-card1"));
    let mut trust = shc_trust(&issuer);
    trust
        .add_shc_crl(ISSUER, crl(&issuer.key.kid(), &[&rid]))
        .unwrap();

    // Signed by someone else under the issuer's kid: the header and payload are genuine-looking,
    // the signature is not the issuer's.
    let jws = shc::decode_qr(&card(&issuer.key, ISSUER, NOW, Some(&rid))).unwrap();
    let (signing_input, _) = jws.rsplit_once('.').unwrap();
    let (forger, _) = SigningKey::generate().unwrap();
    let forged = format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(forger.sign(signing_input.as_bytes()).unwrap())
    );
    let err = verify(forged.as_bytes(), &trust, later()).unwrap_err();
    assert!(
        matches!(err, VerifyError::Shc(ShcError::Signature)),
        "{err:?}"
    );
    assert!(!err.to_string().contains("revoked"), "{err}");

    // Signed with a key nobody trusts.
    let unsigned = card(&forger, ISSUER, NOW, Some(&rid));
    let err = verify(unsigned.as_bytes(), &trust, later()).unwrap_err();
    assert!(
        matches!(err, VerifyError::Shc(ShcError::UnknownKey(_))),
        "{err:?}"
    );
}

#[test]
fn keys_that_announce_a_crl_not_held_are_reported() {
    let issuer = shc_issuer();
    let mut trust = shc_trust(&issuer);
    let kid = issuer.key.kid();
    assert_eq!(trust.shc_crls_missing(), vec![(ISSUER, kid.as_str(), 1)]);
    let mut old = crl(&kid, &[]);
    old.ctr = 0;
    trust.add_shc_crl(ISSUER, old).unwrap();
    assert_eq!(
        trust.shc_crls_missing().len(),
        1,
        "version 0 is older than 1"
    );
    trust.add_shc_crl(ISSUER, crl(&kid, &[])).unwrap();
    assert!(trust.shc_crls_missing().is_empty());
}

// ---- EU DCC and VDS-NC ----

/// The test issuer's certificates and the document signer's key, ready to sign.
struct Pki {
    csca: Certificate,
    dsc: Certificate,
    key: SigningKey,
}

fn pki() -> Pki {
    let issuer = vrs_testkit::pki::pki();
    Pki {
        dsc: issuer.dsc_certificate(),
        key: issuer.dsc_key(),
        csca: issuer.csca,
    }
}

fn doses() -> Vec<DoseRecord> {
    [(1u8, "2021-06-01", "FA4597"), (2, "2021-06-22", "FC3661")]
        .into_iter()
        .map(|(n, day, lot)| {
            DoseRecord::now(
                Dose {
                    municipality: chiyoda(),
                    atena: AtenaNumber::parse("123456789012345").unwrap(),
                    dose_number: vrs_domain::DoseNumber::from_int(n).unwrap(),
                    administered_on: day.parse().unwrap(),
                    product: VaccineProduct::by_code("comirnaty").unwrap(),
                    lot_number: LotNumber::parse(lot).unwrap(),
                    site_municipality: chiyoda(),
                    coupon: CouponNumber::parse("0123456789").unwrap(),
                },
                DoseSource::Tablet,
            )
        })
        .collect()
}

/// The `HC1:` text of certificate `id`, signed by the PKI's document signer.
fn dcc_text(pki: &Pki, id: &CertificateId) -> String {
    dcc::issue(
        &dcc::Holder {
            family: "Yamada".into(),
            given: "Taro".into(),
            birth_date: NaiveDate::from_ymd_opt(1980, 4, 1).unwrap(),
        },
        &doses(),
        &dcc::Issuance {
            issuer_name: "Chiyoda City, Tokyo, Japan".into(),
            uvci: Uvci::for_certificate(id),
            issued_at: NOW,
            expires_at: NOW + 365 * 86_400,
        },
        &pki.key,
        &pki.dsc,
    )
    .unwrap()
}

/// The seal of certificate `id` (its `uvci` is the ID's random part), as JSON.
fn seal_text(pki: &Pki, id: &CertificateId) -> String {
    let holder = vds_nc::Holder::new(
        "YAMADA  TARO",
        NaiveDate::from_ymd_opt(1980, 4, 1).unwrap(),
        "TK1234567",
        None,
    )
    .unwrap();
    vds_nc::VdsNc::issue(id.random_part(), &holder, &doses(), pki.dsc.der(), &pki.key)
        .unwrap()
        .to_json()
}

fn signer_trust(pki: &Pki) -> Trust {
    let mut trust = Trust::new();
    trust.add_document_signer(pki.dsc.clone());
    trust.add_csca(pki.csca.clone());
    trust
}

#[test]
fn a_dcc_is_revoked_by_the_uci_hash_of_its_uvci_under_its_signers_kid_only() {
    let ours = pki();
    let id = certificate_id(b"dcc-revoked1");
    let uvci = Uvci::for_certificate(&id);
    let text = dcc_text(&ours, &id);
    let kid = dcc::kid(ours.dsc.der());
    assert!(verify(text.as_bytes(), &signer_trust(&ours), later()).is_ok());

    let mut revoking = signer_trust(&ours);
    revoking
        .add_dcc_revocations(RevocationList::for_uvcis(
            kid,
            HashType::Uci,
            [uvci.as_str()],
        ))
        .unwrap();
    assert_revoked(verify(text.as_bytes(), &revoking, later()), CodeKind::EuDcc);

    // Written by hand as the gateway would: base64 of the kid and of the 16-byte hash.
    let by_hand = RevocationList {
        kid: STANDARD.encode(kid),
        hash_type: "UCI".into(),
        entries: vec![STANDARD.encode(uci_hash(uvci.as_str()))],
    };
    let mut trust = signer_trust(&ours);
    trust.add_dcc_revocations(by_hand).unwrap();
    assert_revoked(verify(text.as_bytes(), &trust, later()), CodeKind::EuDcc);

    let other_uvci = Uvci::for_certificate(&certificate_id(b"dcc-another1"));
    for list in [
        RevocationList::for_uvcis(kid, HashType::Uci, [other_uvci.as_str()]),
        RevocationList::for_uvcis([0; 8], HashType::Uci, [uvci.as_str()]),
        RevocationList::for_uvcis(kid, HashType::VdsNcUvci, [uvci.as_str()]),
    ] {
        let mut trust = signer_trust(&ours);
        trust.add_dcc_revocations(list.clone()).unwrap();
        assert!(verify(text.as_bytes(), &trust, later()).is_ok(), "{list:?}");
    }

    // Altered: refused for what is wrong with it, not as revoked.
    let mut altered: Vec<char> = text.chars().collect();
    let middle = altered.len() / 2;
    altered[middle] = if altered[middle] == 'A' { 'B' } else { 'A' };
    let altered: String = altered.into_iter().collect();
    let err = verify(altered.as_bytes(), &revoking, later()).unwrap_err();
    assert!(matches!(err, VerifyError::Dcc(_)), "{err:?}");
}

#[test]
fn a_vds_nc_seal_is_revoked_by_the_hash_of_its_uvci_under_its_signers_kid_only() {
    let ours = pki();
    let id = certificate_id(b"seal-revoked");
    let text = seal_text(&ours, &id);
    let kid = dcc::kid(ours.dsc.der());
    assert!(verify(text.as_bytes(), &signer_trust(&ours), later()).is_ok());

    let mut revoking = signer_trust(&ours);
    revoking
        .add_dcc_revocations(RevocationList::for_uvcis(
            kid,
            HashType::VdsNcUvci,
            [id.random_part()],
        ))
        .unwrap();
    assert_revoked(verify(text.as_bytes(), &revoking, later()), CodeKind::VdsNc);

    for list in [
        RevocationList::for_uvcis(kid, HashType::VdsNcUvci, ["AAAAAAAAAAAA"]),
        RevocationList::for_uvcis([0; 8], HashType::VdsNcUvci, [id.random_part()]),
        RevocationList::for_uvcis(kid, HashType::Uci, [id.random_part()]),
    ] {
        let mut trust = signer_trust(&ours);
        trust.add_dcc_revocations(list.clone()).unwrap();
        assert!(verify(text.as_bytes(), &trust, later()).is_ok(), "{list:?}");
    }

    // A seal from a CSCA not trusted is refused as untrusted, though its uvci is listed.
    let theirs = pki();
    let foreign = seal_text(&theirs, &id);
    let err = verify(foreign.as_bytes(), &revoking, later()).unwrap_err();
    assert!(matches!(err, VerifyError::VdsNc(_)), "{err:?}");
}

// ---- The verifier bundle ----

/// A bundle trusting one SHC issuer (with its CRL), one document signer and its CSCA.
fn bundle(
    issuer: &ShcIssuer,
    pki: &Pki,
    rids: &[&str],
    revocations: Vec<RevocationList>,
) -> VerifierBundle {
    let mut bundle = VerifierBundle::new(at(NOW + 1800));
    bundle.shc_issuers.push(BundleIssuer {
        iss: ISSUER.into(),
        jwks: issuer.jwks.clone(),
        crls: vec![crl(&issuer.key.kid(), rids)],
    });
    bundle.document_signers.push(STANDARD.encode(pki.dsc.der()));
    bundle.cscas.push(STANDARD.encode(pki.csca.der()));
    bundle.revocations = revocations;
    bundle
}

#[test]
fn a_cached_bundle_round_trips_as_a_file_and_verifies_and_revokes_offline() {
    let issuer = shc_issuer();
    let ours = pki();
    let id = certificate_id(b"bundled-cert");
    let rid = shc::rid(&id);
    let uvci = Uvci::for_certificate(&id);
    let kid = dcc::kid(ours.dsc.der());
    let codes = [
        (CodeKind::Shc, card(&issuer.key, ISSUER, NOW, Some(&rid))),
        (CodeKind::EuDcc, dcc_text(&ours, &id)),
        (CodeKind::VdsNc, seal_text(&ours, &id)),
    ];

    let clean = bundle(&issuer, &ours, &[], Vec::new());
    let path = std::env::temp_dir().join(format!("vrs-bundle-{}.json", std::process::id()));
    std::fs::write(&path, clean.to_json()).unwrap();
    let read = VerifierBundle::from_json(&std::fs::read_to_string(&path).unwrap()).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(read, clean);
    assert_eq!(read.generated_at, at(NOW + 1800));
    let json: Value = serde_json::from_str(&clean.to_json()).unwrap();
    assert_eq!(json["generated_at"], "2024-04-01T00:30:00Z");
    assert_eq!(json["shc_issuers"][0]["crls"][0]["method"], "rid");

    let trust = Trust::from_bundle(&read).unwrap();
    for (kind, code) in &codes {
        let verified = verify(code.as_bytes(), &trust, later()).unwrap();
        assert_eq!(verified.kind, *kind);
    }

    let revoked = bundle(
        &issuer,
        &ours,
        &[&rid],
        vec![
            RevocationList::for_uvcis(kid, HashType::Uci, [uvci.as_str()]),
            RevocationList::for_uvcis(kid, HashType::VdsNcUvci, [id.random_part()]),
        ],
    );
    let revoked = VerifierBundle::from_json(&revoked.to_json()).unwrap();
    let json: Value = serde_json::from_str(&revoked.to_json()).unwrap();
    assert_eq!(json["revocations"][1]["hashType"], "VDS-NC-UVCI");
    let trust = Trust::from_bundle(&revoked).unwrap();
    for (kind, code) in &codes {
        assert_revoked(verify(code.as_bytes(), &trust, later()), *kind);
    }

    // A bundle adds to trust given otherwise.
    let mut combined = Trust::new();
    combined.add_csca(ours.csca.clone());
    combined.add_bundle(&revoked).unwrap();
    assert_revoked(
        verify(codes[0].1.as_bytes(), &combined, later()),
        CodeKind::Shc,
    );
}

#[test]
fn a_bundle_with_a_bad_entry_is_refused_naming_it() {
    let issuer = shc_issuer();
    let ours = pki();
    let good = || {
        bundle(
            &issuer,
            &ours,
            &[],
            vec![
                RevocationList::for_uvcis([1; 8], HashType::Uci, ["A"]),
                RevocationList::for_uvcis([2; 8], HashType::Uci, ["B", "C"]),
            ],
        )
    };
    Trust::from_bundle(&good()).unwrap();
    let shc_entry = format!("shc_issuers[0] ({ISSUER})");

    let mut cases: Vec<(VerifierBundle, String, &str)> = Vec::new();
    let mut b = good();
    b.document_signers.push("not base64!".into());
    cases.push((b, "document_signers[1]".into(), "not a certificate"));
    let mut b = good();
    b.cscas[0] = STANDARD.encode(b"not DER at all");
    cases.push((b, "cscas[0]".into(), "not a certificate"));
    let mut b = good();
    b.revocations[1].hash_type = "SIGNATURE".into();
    cases.push((b, "revocations[1]".into(), "SIGNATURE"));
    let mut b = good();
    b.revocations[1].entries[1] = "####".into();
    cases.push((b, "revocations[1]".into(), "entries[1]"));
    let mut b = good();
    b.revocations[0].kid = STANDARD.encode([1; 9]);
    cases.push((b, "revocations[0]".into(), "kid"));
    let mut b = good();
    b.shc_issuers[0].crls[0].method = "hash-fhir".into();
    cases.push((b, format!("{shc_entry}.crls[0]"), "hash-fhir"));
    let mut b = good();
    b.shc_issuers[0].crls[0].rids = vec!["ok".into(), "bad rid!".into()];
    cases.push((b, format!("{shc_entry}.crls[0]"), "rids[1]"));
    let mut b = good();
    b.shc_issuers[0].crls.clear();
    cases.push((b, shc_entry.clone(), "no CRL"));
    let mut b = good();
    b.shc_issuers[0].crls[0].ctr = 0;
    cases.push((b, shc_entry.clone(), "only version 0"));
    let mut b = good();
    b.shc_issuers[0].jwks = json!({"kty": "EC"});
    cases.push((b, shc_entry.clone(), "keys"));

    for (bundle, entry, reason) in cases {
        let err = Trust::from_bundle(&bundle).unwrap_err();
        assert_eq!(err.entry, entry, "{err}");
        let message = err.to_string();
        assert!(message.starts_with(&entry), "{message}");
        assert!(message.contains(reason), "{message}");
        // The same bundle added to a trust changes nothing.
        let mut trust = Trust::new();
        assert!(trust.add_bundle(&bundle).is_err());
    }

    let err = VerifierBundle::from_json(r#"{"shc_issuers": []}"#).unwrap_err();
    assert!(matches!(err.problem, BundleProblem::Json(_)), "{err}");
    assert!(err.to_string().contains("generated_at"), "{err}");
}
