//! SMART Health Card conformance with the public vectors in `../shared/testdata/shc`: the card an
//! independent implementation signed with the spec's example issuer key verifies; every `bad-*`
//! variant (broken signature, unknown kid, no `zip: DEF`, tampered payload) is refused, each for its
//! own reason.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use vrs_interop::shc::{verify_qr, Issuer, ShcError};

const EXAMPLE_ISSUER: &str = "https://spec.smarthealth.cards/examples/issuer";

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/shc")
        .join(name)
}

fn read(name: &str) -> String {
    std::fs::read_to_string(testdata(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn trusted() -> Vec<Issuer> {
    let jwks: serde_json::Value = serde_json::from_str(&read("jwks.json")).unwrap();
    vec![Issuer::from_jwks(EXAMPLE_ISSUER, &jwks)]
}

#[test]
fn the_example_card_verifies_and_every_bad_variant_is_refused_for_its_reason() {
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
