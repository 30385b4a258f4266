//! SMART Health Card conformance with the public vectors in `../shared/testdata/shc`: the card an
//! independent implementation signed with the spec's example issuer key verifies; every `bad-*`
//! variant (broken signature, unknown kid, no `zip: DEF`, tampered payload) is refused, each for its
//! own reason. Without the vectors (a plain clone) both tests skip with a message, except under CI.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use vrs_cert::shc::{verify_qr, Issuer, ShcError};
use vrs_testkit::shared_testdata;

const EXAMPLE_ISSUER: &str = "https://spec.smarthealth.cards/examples/issuer";

/// A file of the shared vectors' `shc/`; call only after `shared_testdata()` found them.
fn read(name: &str) -> String {
    vrs_testkit::shared_text(&format!("shc/{name}"))
}

fn trusted() -> Vec<Issuer> {
    let jwks: serde_json::Value = serde_json::from_str(&read("jwks.json")).unwrap();
    vec![Issuer::from_jwks(EXAMPLE_ISSUER, &jwks)]
}

#[test]
fn the_example_card_verifies_and_every_bad_variant_is_refused_for_its_reason() {
    if shared_testdata().is_none() {
        return;
    }
    let card = verify_qr(&read("examples/card.qr.txt"), &trusted()).unwrap();
    assert_eq!(card.issuer, EXAMPLE_ISSUER);
    let entries = card.bundle()["entry"].as_array().unwrap();
    assert!(entries
        .iter()
        .any(|e| e["resource"]["resourceType"] == "Immunization"));
    let expected = [
        ("examples/bad-signature.qr.txt", "signature"),
        ("examples/bad-kid.qr.txt", "kid"),
        ("examples/bad-nozip.qr.txt", "zip"),
        ("examples/bad-tampered.qr.txt", "tampered"),
    ];
    let mut refused = 0;
    for (file, why) in expected {
        let err = verify_qr(&read(file), &trusted()).unwrap_err();
        let right = match why {
            "signature" | "tampered" => err == ShcError::Signature,
            "kid" => matches!(err, ShcError::UnknownKey(_)),
            _ => err == ShcError::NotCompressed,
        };
        assert!(right, "{file}: refused, but for {err}");
        refused += 1;
    }
    // Not trusting the example issuer: the good card is refused too.
    let err = verify_qr(&read("examples/card.qr.txt"), &[]).unwrap_err();
    assert!(matches!(err, ShcError::UnknownKey(_)));
    eprintln!("SHC conformance: 1 card verified, {refused} of 4 bad variants refused");
}

/// A card we issue, signed with the spec's example issuer key, verifies with the spec's public key
/// set through the same verifier, fits one QR code, and a changed byte is refused.
#[test]
fn a_card_we_issue_with_the_example_key_verifies() {
    use vrs_cert::shc::{card_payload, decode_qr, encode_qr, minimal_bundle, sign, CardName};
    use vrs_crypto::es256::SigningKey;
    use vrs_domain::{Dose, DoseRecord, DoseSource, LotNumber, MunicipalityCode, VaccineProduct};

    if shared_testdata().is_none() {
        return;
    }

    let private: serde_json::Value =
        serde_json::from_str(&read("issuer.jwks.private.json")).unwrap();
    let k = &private["keys"][0];
    let key = SigningKey::from_jwk(
        k["d"].as_str().unwrap(),
        k["x"].as_str().unwrap(),
        k["y"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(key.kid(), k["kid"].as_str().unwrap());
    let p = vrs_interop::Synthetic::new(MunicipalityCode::parse("382060").unwrap(), 1, 5)
        .next()
        .unwrap();
    let doses: Vec<DoseRecord> = [(1u8, 1u32, "FA4597"), (2, 22, "FC3661"), (3, 28, "FN9605")]
        .into_iter()
        .map(|(n, day, lot)| {
            DoseRecord::now(
                Dose {
                    municipality: p.municipality,
                    atena: p.atena.clone(),
                    dose_number: vrs_domain::DoseNumber::from_int(n).unwrap(),
                    administered_on: chrono::NaiveDate::from_ymd_opt(2021, 5 + u32::from(n), day)
                        .unwrap(),
                    product: VaccineProduct::by_code("comirnaty").unwrap(),
                    lot_number: LotNumber::parse(lot).unwrap(),
                    site_municipality: p.municipality,
                    coupon: p.coupon,
                },
                DoseSource::Tablet,
            )
        })
        .collect();
    let name = CardName {
        family: "SAIJO".into(),
        given: "HANAKO".into(),
    };
    let bundle = minimal_bundle(&name, p.birth_date, &doses, "MHLW_Gov_of_JAPAN");
    // With its revocation ID, as every card we issue carries one.
    let rid = vrs_cert::shc::rid(&vrs_domain::CertificateId::new(p.municipality, [7; 12]));
    let payload = card_payload(EXAMPLE_ISSUER, 1_640_000_000, Some(&rid), bundle);
    let jws = sign(&payload, &key).unwrap();
    assert!(
        jws.len() <= vrs_cert::shc::SINGLE_QR_JWS_MAX,
        "{} characters",
        jws.len()
    );
    let qr = encode_qr(&jws);
    let code = vrs_cert::shc::qr_code(&jws).unwrap();
    assert!(
        matches!(code.version(), qrcode::Version::Normal(v) if v <= 22),
        "{:?}",
        code.version()
    );
    let card = verify_qr(&qr, &trusted()).unwrap();
    assert_eq!(card.rid(), Some(rid.as_str()));
    let entries = card.bundle()["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 4, "the Patient and three Immunizations");
    assert_eq!(entries[3]["resource"]["lotNumber"], "FN9605");
    assert_eq!(decode_qr(&qr).unwrap(), jws);
    // One digit changed anywhere in the payload part: refused.
    let mut digits: Vec<char> = qr.chars().collect();
    let at = qr.len() / 2;
    digits[at] = if digits[at] == '1' { '2' } else { '1' };
    let changed: String = digits.into_iter().collect();
    assert!(verify_qr(&changed, &trusted()).is_err());
}
