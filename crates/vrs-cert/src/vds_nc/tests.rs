//! Tests of issuing and verifying VDS-NC vaccination seals.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use vrs_testkit::pki::{pki, Pki, NOW};

use super::*;
use vrs_crypto::pki::DSC_VALIDITY_SECS;
use vrs_domain::{Dose, DoseSource, LotNumber, MunicipalityCode};

fn at(unix: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(unix, 0).unwrap()
}

fn holder() -> Holder {
    let mrz = Mrz::parse_on(
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
        "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
        NaiveDate::from_ymd_opt(2024, 4, 1).unwrap(),
    )
    .unwrap();
    Holder::from_mrz(&mrz)
}

fn doses() -> Vec<DoseRecord> {
    let chiyoda = MunicipalityCode::parse("131016").unwrap();
    [
        (1u8, "2021-06-01", "comirnaty", "FA4597", "Chiyoda Hall"),
        (2, "2021-06-22", "comirnaty", "FC3661", ""),
        (3, "2022-01-28", "spikevax", "3004667", "千代田区役所"),
    ]
    .into_iter()
    .map(|(n, day, product, lot, venue)| {
        let mut record = DoseRecord::now(
            Dose {
                municipality: chiyoda,
                atena: vrs_domain::AtenaNumber::parse("123456789012345").unwrap(),
                dose_number: vrs_domain::DoseNumber::from_int(n).unwrap(),
                administered_on: day.parse().unwrap(),
                product: VaccineProduct::by_code(product).unwrap(),
                lot_number: LotNumber::parse(lot).unwrap(),
                site_municipality: chiyoda,
                coupon: vrs_domain::CouponNumber::parse("0123456789").unwrap(),
            },
            DoseSource::Tablet,
        );
        record.venue = venue.to_owned();
        record
    })
    .collect()
}

fn seal(pki: &Pki) -> VdsNc {
    let key = SigningKey::from_pkcs8(&pki.dsc.private_key_pkcs8).unwrap();
    VdsNc::issue(
        "7K3M9Q2XWZ4H",
        &holder(),
        &doses(),
        &pki.dsc.certificate_der,
        &key,
    )
    .unwrap()
}

/// The seal with `data` changed by `edit`, signature untouched.
fn tampered(seal: &VdsNc, edit: impl FnOnce(&mut Value)) -> String {
    let mut value: Value = serde_json::from_str(&seal.to_json()).unwrap();
    edit(&mut value["data"]);
    value.to_string()
}

#[test]
fn a_seal_round_trips_to_its_holder_and_doses() {
    let pki = pki();
    let seal = seal(&pki);
    let verified = verify(
        &seal.to_json(),
        std::slice::from_ref(&pki.csca),
        at(NOW + 60),
    )
    .unwrap();
    assert_eq!(verified.uvci, "7K3M9Q2XWZ4H");
    assert_eq!(verified.issuing_state, "JPN");
    assert_eq!(verified.holder, holder());
    assert_eq!(verified.holder.name(), "ERIKSSON  ANNA MARIA");
    assert_eq!(verified.holder.document_number(), "L898902C3");
    assert_eq!(verified.holder.sex(), Some(MrzSex::Female));
    assert_eq!(verified.signer.as_deref(), Some("VRS Test DS 131016"));
    let summary: Vec<_> = verified
        .doses
        .iter()
        .map(|d| {
            (
                d.dose_number,
                d.date.to_string(),
                d.product.map(|p| p.code),
                d.lot.as_str(),
                d.administering_centre.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                1,
                "2021-06-01".into(),
                Some("comirnaty"),
                "FA4597",
                Some("Chiyoda Hall")
            ),
            (
                2,
                "2021-06-22".into(),
                Some("comirnaty"),
                "FC3661",
                Some("131016")
            ),
            (
                3,
                "2022-01-28".into(),
                Some("spikevax"),
                "3004667",
                Some("131016")
            ),
        ]
    );
    for d in &verified.doses {
        assert_eq!(d.vaccine_code, "XM68M6");
        assert_eq!(d.disease.as_deref(), Some("RA01.0"));
        assert_eq!(d.country, "JPN");
    }
}

#[test]
fn the_message_has_the_reports_field_names() {
    let pki = pki();
    let data = seal(&pki).data().clone();
    assert_eq!(data["hdr"], json!({"t": "icao.vacc", "v": 1, "is": "JPN"}));
    let pid = &data["msg"]["pid"];
    assert_eq!(
        pid,
        &json!({"n": "ERIKSSON  ANNA MARIA", "dob": "1974-08-12", "sex": "F", "i": "L898902C3"})
    );
    let ve = data["msg"]["ve"].as_array().unwrap();
    assert_eq!(ve.len(), 2, "one event per product");
    assert_eq!(ve[0]["nam"], "Comirnaty");
    assert_eq!(
        ve[0]["vd"][0],
        json!({"dvc": "2021-06-01", "seq": 1, "ctr": "JPN", "adm": "Chiyoda Hall", "lot": "FA4597"})
    );
    let json: Value = serde_json::from_str(&seal(&pki).to_json()).unwrap();
    let sig = json["sig"].as_object().unwrap();
    assert_eq!(sig["alg"], "ES256");
    assert_eq!(
        decode(sig["cer"].as_str().unwrap()).unwrap(),
        pki.dsc.certificate_der
    );
    assert_eq!(decode(sig["sigvl"].as_str().unwrap()).unwrap().len(), 64);
}

type Edit = Box<dyn FnOnce(&mut Value)>;

#[test]
fn a_changed_name_or_dose_is_refused() {
    let pki = pki();
    let seal = seal(&pki);
    let trusted = [pki.csca.clone()];
    let edits: [(&str, Edit); 5] = [
        (
            "name",
            Box::new(|d: &mut Value| d["msg"]["pid"]["n"] = json!("ERIKSSON  ANNA MARIE")),
        ),
        (
            "birth date",
            Box::new(|d: &mut Value| d["msg"]["pid"]["dob"] = json!("1974-08-13")),
        ),
        (
            "lot",
            Box::new(|d: &mut Value| d["msg"]["ve"][0]["vd"][1]["lot"] = json!("FC3662")),
        ),
        (
            "dose number",
            Box::new(|d: &mut Value| d["msg"]["ve"][1]["vd"][0]["seq"] = json!(4)),
        ),
        (
            "dose removed",
            Box::new(|d: &mut Value| {
                d["msg"]["ve"][0]["vd"].as_array_mut().unwrap().pop();
            }),
        ),
    ];
    for (what, edit) in edits {
        let json = tampered(&seal, edit);
        assert_eq!(
            verify(&json, &trusted, at(NOW)).unwrap_err(),
            VdsNcError::Signature,
            "{what}"
        );
    }
}

#[test]
fn a_signer_from_another_csca_is_refused() {
    let ours = pki();
    let theirs = pki();
    let seal = seal(&theirs);
    assert_eq!(
        verify(&seal.to_json(), std::slice::from_ref(&ours.csca), at(NOW)).unwrap_err(),
        VdsNcError::UntrustedSigner
    );
    assert_eq!(
        verify(&seal.to_json(), &[], at(NOW)).unwrap_err(),
        VdsNcError::UntrustedSigner
    );
    // Trusting both finds the right one.
    assert!(verify(&seal.to_json(), &[ours.csca, theirs.csca], at(NOW)).is_ok());
}

#[test]
fn an_expired_or_not_yet_valid_signer_is_refused() {
    let pki = pki();
    let json = seal(&pki).to_json();
    let trusted = [pki.csca.clone()];
    assert!(verify(&json, &trusted, at(NOW + DSC_VALIDITY_SECS)).is_ok());
    let err = verify(&json, &trusted, at(NOW + DSC_VALIDITY_SECS + 1)).unwrap_err();
    assert!(
        matches!(
            err,
            VdsNcError::OutOfValidity {
                which: "signer",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("2026-04-02"), "{err}");
    let err = verify(&json, &trusted, at(NOW - 1)).unwrap_err();
    assert!(matches!(err, VdsNcError::OutOfValidity { .. }), "{err}");
}

/// Serialises with every object's keys in reverse order and generous whitespace.
fn reordered(v: &Value, indent: usize) -> String {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(map) => {
            let members: Vec<String> = map
                .iter()
                .rev()
                .map(|(k, v)| format!("\n{pad}  {} :\t{}", json!(k), reordered(v, indent + 2)))
                .collect();
            format!("{{{}\n{pad}}}", members.join(" ,"))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(|i| reordered(i, indent + 2)).collect();
            format!("[ {} ]", items.join(" , "))
        }
        other => other.to_string(),
    }
}

#[test]
fn key_order_and_whitespace_do_not_matter() {
    let pki = pki();
    let seal = seal(&pki);
    let original: Value = serde_json::from_str(&seal.to_json()).unwrap();
    let json = reordered(&original, 0);
    assert!(json.find("\"sig\"").unwrap() < json.find("\"data\"").unwrap());
    assert!(json.find("\"msg\"").unwrap() < json.find("\"hdr\"").unwrap());
    let verified = verify(&json, std::slice::from_ref(&pki.csca), at(NOW)).unwrap();
    assert_eq!(verified.holder, holder());
    // The canonical form is RFC 8785's: sorted keys, no whitespace.
    let canonical = String::from_utf8(canonical(seal.data()).unwrap()).unwrap();
    assert!(canonical.starts_with(r#"{"hdr":{"is":"JPN","t":"icao.vacc","v":1},"msg":{"pid":{"dob":"1974-08-12","i":"L898902C3","n":"ERIKSSON  ANNA MARIA","sex":"F"},"uvci":"7K3M9Q2XWZ4H","ve":[{"des":"XM68M6","dis":"RA01.0","nam":"Comirnaty","vd":[{"adm":"Chiyoda Hall","ctr":"JPN","dvc":"2021-06-01","lot":"FA4597","seq":1}"#));
}

#[test]
fn a_wrong_header_algorithm_or_shape_is_refused_with_a_reason() {
    let pki = pki();
    let seal = seal(&pki);
    let trusted = [pki.csca.clone()];
    let json = tampered(&seal, |d| d["hdr"]["t"] = json!("icao.test"));
    assert!(matches!(
        verify(&json, &trusted, at(NOW)),
        Err(VdsNcError::Type(_))
    ));
    let json = tampered(&seal, |d| d["hdr"]["v"] = json!(2));
    assert!(matches!(
        verify(&json, &trusted, at(NOW)),
        Err(VdsNcError::Version(_))
    ));
    let json = tampered(&seal, |d| d["hdr"]["is"] = json!("FRA"));
    assert!(matches!(
        verify(&json, &trusted, at(NOW)),
        Err(VdsNcError::Country { .. })
    ));
    let mut value: Value = serde_json::from_str(&seal.to_json()).unwrap();
    value["sig"]["alg"] = json!("ES384");
    assert!(matches!(
        verify(&value.to_string(), &trusted, at(NOW)),
        Err(VdsNcError::Algorithm(_))
    ));
    value["sig"]["alg"] = json!("ES256");
    value["sig"]["cer"] = json!("AAAA");
    assert!(matches!(
        verify(&value.to_string(), &trusted, at(NOW)),
        Err(VdsNcError::Certificate(_))
    ));
    assert!(matches!(
        verify("not json", &trusted, at(NOW)),
        Err(VdsNcError::Json(_))
    ));
    assert!(matches!(
        verify("{}", &trusted, at(NOW)),
        Err(VdsNcError::Field { .. })
    ));
    assert!(matches!(
        verify(&" ".repeat(JSON_LIMIT + 1), &trusted, at(NOW)),
        Err(VdsNcError::TooLarge(_))
    ));
    // A certificate signed by the CSCA but without the VDS-NC usage: the CSCA itself.
    let mut value: Value = serde_json::from_str(&seal.to_json()).unwrap();
    value["sig"]["cer"] = json!(B64URL.encode(pki.csca.der()));
    assert_eq!(
        verify(&value.to_string(), &trusted, at(NOW)).unwrap_err(),
        VdsNcError::NotVdsSigner
    );
}

#[test]
fn the_reports_limits_are_kept_when_issuing() {
    let pki = pki();
    let key = SigningKey::from_pkcs8(&pki.dsc.private_key_pkcs8).unwrap();
    let issue = |uvci: &str, doses: &[DoseRecord]| {
        VdsNc::issue(uvci, &holder(), doses, &pki.dsc.certificate_der, &key)
    };
    // A full certificate ID (20 characters) is longer than the report's 12.
    let err = issue("131016-7K3M9Q2XWZ4HX", &doses()).unwrap_err();
    assert!(
        err.to_string().starts_with("msg.uvci must be 1 to 12"),
        "{err}"
    );
    assert_eq!(issue("X", &[]).unwrap_err(), VdsNcError::NoDoses);
    assert!(Holder::new(&"A".repeat(40), holder().birth_date(), "X1", None).is_err());
    assert!(Holder::new("A B", holder().birth_date(), "x1", None).is_err());
    assert!(Holder::new("A B", holder().birth_date(), "L898902C3XYZ", None).is_err());
    // Another key than the certificate's is caught before the seal leaves.
    let (other, _) = SigningKey::generate().unwrap();
    assert_eq!(
        VdsNc::issue("X", &holder(), &doses(), &pki.dsc.certificate_der, &other).unwrap_err(),
        VdsNcError::KeyMismatch
    );
    // A holder without a stated sex leaves `sex` out.
    let h = Holder::new("YAMADA  TARO", holder().birth_date(), "TZ1234567", None).unwrap();
    let seal = VdsNc::issue("X", &h, &doses(), &pki.dsc.certificate_der, &key).unwrap();
    assert!(seal.data()["msg"]["pid"].get("sex").is_none());
    let verified = verify(&seal.to_json(), std::slice::from_ref(&pki.csca), at(NOW)).unwrap();
    assert_eq!(verified.holder.sex(), None);
}

/// Renders a QR code (4 pixels a module, 4-module quiet zone) and reads it back with an
/// independent reader.
fn read_back(code: &qrcode::QrCode) -> String {
    let (w, scale, quiet) = (code.width(), 4, 4);
    let colors = code.to_colors();
    let size = (w + 2 * quiet) * scale;
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(size, size, |x, y| {
        let (mx, my) = (x / scale, y / scale);
        let inside = mx >= quiet && my >= quiet && mx < w + quiet && my < w + quiet;
        if inside && colors[(my - quiet) * w + (mx - quiet)] == qrcode::Color::Dark {
            0
        } else {
            255
        }
    });
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1);
    grids[0].decode().unwrap().1
}

#[test]
fn a_three_dose_seal_fits_a_readable_qr_code() {
    let pki = pki();
    let seal = seal(&pki);
    let json = seal.to_json();
    let code = seal.qr_code().unwrap();
    let qrcode::Version::Normal(version) = code.version() else {
        panic!("a micro QR code")
    };
    println!(
            "3-dose VDS-NC: {} bytes of JSON ({} of them the signer certificate), QR version {version} ({}×{} modules), EC level M",
            json.len(),
            B64URL.encode(&pki.dsc.certificate_der).len(),
            code.width(),
            code.width()
        );
    assert!(version <= 30, "version {version}");
    assert_eq!(code.error_correction_level(), qrcode::EcLevel::M);
    assert_eq!(read_back(&code), json);
}
