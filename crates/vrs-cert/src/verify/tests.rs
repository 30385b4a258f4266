//! Tests of the offline verifier: SMART Health Cards, EU DCCs and VDS-NC seals, as text and as
//! pictures of their QR codes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use vrs_testkit::pki::{pki, Pki, NOW};
use vrs_testkit::shared_testdata;

use base64::Engine;
use chrono::NaiveDate;
use vrs_crypto::es256::SigningKey;
use vrs_domain::{
    AtenaNumber, CouponNumber, Dose, DoseRecord, DoseSource, LotNumber, MrzSex, MunicipalityCode,
};

use super::*;

const EXAMPLE_ISSUER: &str = "https://spec.smarthealth.cards/examples/issuer";

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(NOW, 0).unwrap()
}

/// A file of the shared vectors; call only after `shared_testdata()` found them.
fn read(name: &str) -> String {
    vrs_testkit::shared_text(name)
}

fn shc_trust() -> Trust {
    let jwks: Value = serde_json::from_str(&read("shc/jwks.json")).unwrap();
    let mut trust = Trust::new();
    trust.add_shc_issuer(EXAMPLE_ISSUER, &jwks);
    trust
}

/// Draws a QR code (`scale` pixels a module, a 4-module quiet zone) and encodes the picture.
fn picture(code: &qrcode::QrCode, scale: usize, format: ImageFormat) -> Vec<u8> {
    let (w, quiet) = (code.width(), 4);
    let colors = code.to_colors();
    let side = ((w + 2 * quiet) * scale) as u32;
    let grey = image::GrayImage::from_fn(side, side, |x, y| {
        let (mx, my) = (x as usize / scale, y as usize / scale);
        let inside = (quiet..w + quiet).contains(&mx) && (quiet..w + quiet).contains(&my);
        let dark = inside && matches!(colors[(my - quiet) * w + (mx - quiet)], qrcode::Color::Dark);
        image::Luma([if dark { 0 } else { 255 }])
    });
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageLuma8(grey)
        .write_to(&mut out, format)
        .unwrap();
    out.into_inner()
}

#[test]
fn the_shc_example_card_verifies_as_qr_text_and_as_jws() {
    if shared_testdata().is_none() {
        return;
    }
    let text = read("shc/examples/card.qr.txt");
    let card = verify(format!("\n  {text}\n\n").as_bytes(), &shc_trust(), now()).unwrap();
    assert_eq!(card.kind, CodeKind::Shc);
    assert_eq!(card.issuer, EXAMPLE_ISSUER);
    assert_eq!(card.holder_name, "Anyperson John B.");
    assert_eq!(card.birth_date, "1951-01-20");
    assert_eq!(card.expires, None);
    assert_eq!(card.doses.len(), 3);
    let first = &card.doses[0];
    assert_eq!(first.date, "2021-01-01");
    assert_eq!(first.lot.as_deref(), Some("0000001"));
    assert_eq!(first.product.system, CodeSystem::Cvx);
    assert_eq!(first.product.code, "207");
    assert_eq!(first.product.name.as_deref(), Some("Spikevax"));
    assert_eq!(
        card.doses[2].product.to_string(),
        "Spikevax Bivalent Original/Omicron BA.4-5 (CVX 229)"
    );

    let jws = read("shc/examples/card.jws");
    assert_eq!(verify(jws.as_bytes(), &shc_trust(), now()).unwrap(), card);

    let err = verify(text.as_bytes(), &Trust::new(), now()).unwrap_err();
    assert_eq!(err.kind(), Some(CodeKind::Shc));
    assert!(err.to_string().contains("no trusted issuer"), "{err}");
}

#[test]
fn a_smart_health_card_file_verifies_every_credential_in_it() {
    use serde_json::json;
    if shared_testdata().is_none() {
        return;
    }
    let jws = read("shc/examples/card.jws");
    let jws = jws.trim();
    let one = verify(jws.as_bytes(), &shc_trust(), now()).unwrap();
    let file = json!({ "verifiableCredential": [jws, jws] }).to_string();
    let all = verify_all(file.as_bytes(), &shc_trust(), now()).unwrap();
    assert_eq!(all, vec![one.clone(), one.clone()]);
    assert_eq!(verify(file.as_bytes(), &shc_trust(), now()).unwrap(), one);

    // The second credential's signature broken: refused, naming which.
    let mut bad: Vec<char> = jws.chars().collect();
    let at = bad.len() - 10;
    bad[at] = if bad[at] == 'A' { 'B' } else { 'A' };
    let bad: String = bad.into_iter().collect();
    let file = json!({ "verifiableCredential": [jws, bad] }).to_string();
    let err = verify_all(file.as_bytes(), &shc_trust(), now()).unwrap_err();
    assert!(err.to_string().starts_with("credential 2 of 2: "), "{err}");
    assert_eq!(err.kind(), Some(CodeKind::Shc));
    for empty in [
        json!({ "verifiableCredential": [] }),
        json!({ "verifiableCredential": "x" }),
        json!({ "verifiableCredential": [1] }),
    ] {
        let err = verify_all(empty.to_string().as_bytes(), &shc_trust(), now()).unwrap_err();
        assert!(err.to_string().contains(".smart-health-card"), "{err}");
    }
}

#[test]
fn an_shc_card_photographed_as_png_verifies() {
    if shared_testdata().is_none() {
        return;
    }
    let jws = shc::decode_qr(&read("shc/examples/card.qr.txt")).unwrap();
    let png = picture(&shc::qr_code(&jws).unwrap(), 4, ImageFormat::Png);
    let card = verify(&png, &shc_trust(), now()).unwrap();
    assert_eq!(card.kind, CodeKind::Shc);
    assert_eq!(card.holder_name, "Anyperson John B.");
    assert_eq!(card.doses.len(), 3);
}

/// The DCC vector CO28 (valid in every step) with its trust and clock.
fn dcc_vector() -> (Value, Trust, DateTime<Utc>) {
    let vector: Value = serde_json::from_str(&read("dcc/common/CO28.json")).unwrap();
    let signer =
        Certificate::from_base64(vector["TESTCTX"]["CERTIFICATE"].as_str().unwrap()).unwrap();
    let mut trust = Trust::new();
    trust.add_document_signer(signer);
    let clock = vector["TESTCTX"]["VALIDATIONCLOCK"]
        .as_str()
        .unwrap()
        .parse::<DateTime<Utc>>()
        .unwrap();
    (vector, trust, clock)
}

#[test]
fn a_dcc_vector_verifies_from_its_text_and_from_its_png() {
    if shared_testdata().is_none() {
        return;
    }
    let (vector, trust, clock) = dcc_vector();
    let text = vector["PREFIX"].as_str().unwrap();
    let dcc = verify(text.as_bytes(), &trust, clock).unwrap();
    assert_eq!(dcc.kind, CodeKind::EuDcc);
    assert_eq!(dcc.issuer, "Swedish eHealth Agency (SE)");
    assert_eq!(dcc.holder_name, "Lövström Oscar");
    assert_eq!(dcc.birth_date, "1958-11-11");
    assert_eq!(dcc.id.as_deref(), vector["JSON"]["v"][0]["ci"].as_str());
    assert!(dcc.expires.unwrap() > clock);
    assert_eq!(
        dcc.doses,
        vec![VerifiedDose {
            dose_number: Some(2),
            date: "2021-03-18".into(),
            product: DoseProduct {
                system: CodeSystem::EuProduct,
                code: "EU/1/21/1529".into(),
                name: Some("Vaxzevria".into()),
            },
            lot: None,
        }]
    );

    let png = base64::engine::general_purpose::STANDARD
        .decode(vector["2DCODE"].as_str().unwrap())
        .unwrap();
    assert_eq!(verify(&png, &trust, clock).unwrap(), dcc);

    // The same certificate long after: refused as an EU DCC, with the reason.
    let late = verify(text.as_bytes(), &trust, now()).unwrap_err();
    assert_eq!(late.kind(), Some(CodeKind::EuDcc));
    assert!(late.to_string().starts_with("EU DCC: "), "{late}");
}

fn seal(pki: &Pki) -> vds_nc::VdsNc {
    let chiyoda = MunicipalityCode::parse("131016").unwrap();
    let dose = |n: u8, day: &str, product: &str, lot: &str| {
        DoseRecord::now(
            Dose {
                municipality: chiyoda,
                atena: AtenaNumber::parse("123456789012345").unwrap(),
                dose_number: vrs_domain::DoseNumber::from_int(n).unwrap(),
                administered_on: day.parse().unwrap(),
                product: VaccineProduct::by_code(product).unwrap(),
                lot_number: LotNumber::parse(lot).unwrap(),
                site_municipality: chiyoda,
                coupon: CouponNumber::parse("0123456789").unwrap(),
            },
            DoseSource::Tablet,
        )
    };
    let holder = vds_nc::Holder::new(
        "ERIKSSON  ANNA MARIA",
        NaiveDate::from_ymd_opt(1974, 8, 12).unwrap(),
        "L898902C3",
        Some(MrzSex::Female),
    )
    .unwrap();
    let key = SigningKey::from_pkcs8(&pki.dsc.private_key_pkcs8).unwrap();
    vds_nc::VdsNc::issue(
        "7K3M9Q2XWZ4H",
        &holder,
        &[
            dose(1, "2021-06-01", "comirnaty", "FA4597"),
            dose(2, "2021-06-22", "comirnaty", "FC3661"),
        ],
        &pki.dsc.certificate_der,
        &key,
    )
    .unwrap()
}

#[test]
fn a_vds_nc_seal_verifies_under_its_csca_and_not_another() {
    let ours = pki();
    let seal = seal(&ours);
    let mut trust = Trust::new();
    trust.add_csca(ours.csca.clone());
    let verified = verify(seal.to_json().as_bytes(), &trust, now()).unwrap();
    assert_eq!(verified.kind, CodeKind::VdsNc);
    assert_eq!(verified.issuer, "VRS Test DS 131016 (JPN)");
    assert_eq!(verified.holder_name, "ERIKSSON  ANNA MARIA");
    assert_eq!(verified.birth_date, "1974-08-12");
    assert!(verified.id.as_deref().is_some_and(|id| !id.is_empty()));
    assert_eq!(verified.doses.len(), 2);
    assert_eq!(verified.doses[1].dose_number, Some(2));
    assert_eq!(verified.doses[1].date, "2021-06-22");
    assert_eq!(verified.doses[1].lot.as_deref(), Some("FC3661"));
    assert_eq!(verified.doses[1].product.code, "XM68M6");
    assert_eq!(verified.doses[1].product.name.as_deref(), Some("Comirnaty"));

    // A photo of its QR code, JPEG-compressed, reads back to the same seal.
    let jpeg = picture(&seal.qr_code().unwrap(), 6, ImageFormat::Jpeg);
    assert_eq!(verify(&jpeg, &trust, now()).unwrap(), verified);

    let other = pki();
    let mut wrong = Trust::new();
    wrong.add_csca(other.csca);
    let err = verify(seal.to_json().as_bytes(), &wrong, now()).unwrap_err();
    assert_eq!(err.kind(), Some(CodeKind::VdsNc));
    assert!(err.to_string().contains("trusted CSCA"), "{err}");
}

#[test]
fn garbage_is_refused_with_a_reason() {
    if shared_testdata().is_none() {
        return;
    }
    let trust = shc_trust();
    for (input, why) in [
        (&b"hello, world"[..], "unknown text"),
        (b"  \n\t ", "empty"),
        (&[0u8, 159, 146, 150][..], "binary data"),
        (br#"{"name": "not a seal"}"#, "without data and sig"),
        (b"a.b.c!", "unknown text"),
    ] {
        let err = verify(input, &trust, now()).unwrap_err();
        assert!(matches!(err, VerifyError::Unrecognised(_)), "{err}");
        assert_eq!(err.kind(), None);
        assert!(err.to_string().contains(why), "{err}");
        assert!(err.to_string().contains("not a certificate code"), "{err}");
    }
    let dcc = verify(b"HC1:not base45 ~~", &trust, now()).unwrap_err();
    assert_eq!(dcc.kind(), Some(CodeKind::EuDcc));
    let seal = verify(b"{\"data\": ", &trust, now()).unwrap_err();
    assert_eq!(seal.kind(), Some(CodeKind::VdsNc));
    let shc = verify(b"shc:/5676abc", &trust, now()).unwrap_err();
    assert_eq!(shc.kind(), Some(CodeKind::Shc));
}

#[test]
fn a_truncated_image_or_one_without_a_qr_code_is_refused() {
    if shared_testdata().is_none() {
        return;
    }
    let (vector, trust, clock) = dcc_vector();
    let png = base64::engine::general_purpose::STANDARD
        .decode(vector["2DCODE"].as_str().unwrap())
        .unwrap();
    let err = verify(&png[..png.len() / 2], &trust, clock).unwrap_err();
    assert!(matches!(err, VerifyError::Image(_)), "{err}");
    assert_eq!(err.kind(), None);

    let blank = image::GrayImage::from_pixel(64, 64, image::Luma([255]));
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageLuma8(blank)
        .write_to(&mut out, ImageFormat::Png)
        .unwrap();
    let err = verify(out.get_ref(), &trust, clock).unwrap_err();
    assert!(matches!(err, VerifyError::NoQrCode), "{err}");
}

/// A blank picture of `width` × `height` with `code` drawn at `scale` pixels a module from
/// (`left`, `top`), as PNG.
fn photo(
    code: &qrcode::QrCode,
    width: u32,
    height: u32,
    scale: u32,
    (left, top): (u32, u32),
) -> Vec<u8> {
    let w = code.width() as u32;
    let colors = code.to_colors();
    let grey = image::GrayImage::from_fn(width, height, |x, y| {
        let inside = (left..left + w * scale).contains(&x) && (top..top + w * scale).contains(&y);
        let dark = inside && {
            let (mx, my) = ((x - left) / scale, (y - top) / scale);
            matches!(colors[(my * w + mx) as usize], qrcode::Color::Dark)
        };
        image::Luma([if dark { 0 } else { 255 }])
    });
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageLuma8(grey)
        .write_to(&mut out, ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

#[test]
fn a_large_photo_is_read_scaled_down_and_one_over_16_megapixels_is_refused() {
    if shared_testdata().is_none() {
        return;
    }
    let jws = shc::decode_qr(&read("shc/examples/card.qr.txt")).unwrap();
    let code = shc::qr_code(&jws).unwrap();
    // A 12-megapixel phone photo with the code a third of its width: read at two megapixels.
    let png = photo(&code, 4000, 3000, 12, (1400, 900));
    let card = verify(&png, &shc_trust(), now()).unwrap();
    assert_eq!(card.holder_name, "Anyperson John B.");

    // 20 megapixels: refused from the header, before anything is decoded.
    let big = photo(&code, 5000, 4000, 12, (100, 100));
    let started = std::time::Instant::now();
    let err = verify(&big, &shc_trust(), now()).unwrap_err();
    assert!(matches!(err, VerifyError::ImageTooLarge { .. }), "{err}");
    assert!(err.to_string().contains("16 megapixels"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
}
