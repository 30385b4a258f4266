//! EU DCC conformance with the public vectors in `../shared/testdata/dcc` (eu-digital-green-
//! certificates/dgc-testdata): every vector of `common/` and of every country folder runs the steps
//! its `EXPECTED*` flags name, each on that step's own input, at the vector's `VALIDATIONCLOCK` with
//! its `TESTCTX.CERTIFICATE` as the only trusted signer, and must reach the expected result — except
//! the few listed in `EXCEPTIONS`, each with its reason. A certificate we issue must verify, validate
//! against the DCC JSON schema and read back from its QR code; altered, expired or wrongly signed
//! ones must be refused. Without the vectors (a plain clone) the cases that read them skip with a
//! message, except under CI.
//!
//! Run `cargo test -p vrs-cert --test dcc_conformance -- --nocapture` to see the table.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde_json::Value;
use vrs_cert::dcc::{self, base45, cose, CoseSign1, DccError, TrustList};
use vrs_crypto::x509::Certificate;

use vrs_testkit::shared_testdata;

/// Vector steps that do not reach the expected result, with the reason. Keep this short: each
/// entry is a disagreement with the vectors that we decided, not one we could fix.
const EXCEPTIONS: &[(&str, &str, &str)] = &[
    (
        "FR/test_pcr_ok",
        "EXPECTEDVALIDJSON",
        "the vector's own CBOR has sc/dr 14:34:56Z/14:45:01Z where its JSON has 12:34:56Z/12:45:01Z",
    ),
    (
        "PL/1.3.0/1",
        "EXPECTEDVALIDJSON",
        "the vector's JSON names another person (Akdi Omar, 1974) than its signed CBOR",
    ),
    (
        "PL/1.3.0/5",
        "EXPECTEDVALIDJSON",
        "the vector's JSON names another person than its signed CBOR",
    ),
    (
        "PL/1.3.0/7",
        "EXPECTEDSCHEMAVALIDATION",
        "an unknown test device (ma) is a value-set check, not schema 1.3 or structure",
    ),
    (
        "PL/1.3.0/8",
        "EXPECTEDSCHEMAVALIDATION",
        "an unknown country (co XY) is a value-set check, not schema 1.3 or structure",
    ),
    (
        "PL/1.3.0/9",
        "EXPECTEDSCHEMAVALIDATION",
        "an unknown manufacturer (ma) is a value-set check, not schema 1.3 or structure",
    ),
];

/// The start of the error a step gives when its vector lacks the step's input.
const MISSING: &str = "missing input";

/// One step of one vector: which flag, what was expected, what we got and why.
struct Outcome {
    step: &'static str,
    expected: bool,
    passed: bool,
    detail: String,
}

#[test]
fn every_vector_reaches_its_expected_result() {
    let Some(shared) = shared_testdata() else {
        return;
    };
    let root = shared.join("dcc");
    let schema = schema_validator(&shared);
    let mut folders: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    folders.sort();
    assert!(folders.len() > 30, "the vectors are missing at {root:?}");
    // folder → (vectors, vectors passing, steps run, steps skipped for want of input)
    let mut table: BTreeMap<String, (usize, usize, usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut excepted = Vec::new();
    for folder in &folders {
        let name = folder.file_name().unwrap().to_string_lossy().into_owned();
        // PL and PT keep their vectors in one folder per schema version.
        for file in walk(folder) {
            let relative = file.strip_prefix(&root).unwrap().with_extension("");
            let id = relative.to_string_lossy().into_owned();
            let row = table.entry(name.clone()).or_default();
            row.0 += 1;
            let (outcomes, skipped) = run_vector(&file, &schema);
            row.3 += skipped.len();
            let mut all = true;
            for o in &outcomes {
                if o.passed {
                    continue;
                }
                let exception = EXCEPTIONS.iter().find(|(v, s, _)| *v == id && *s == o.step);
                match exception {
                    Some((_, _, why)) => excepted.push(format!("{id} {}: {why}", o.step)),
                    None => {
                        all = false;
                        failures.push(format!(
                            "{id} {} expected {}: {}",
                            o.step,
                            if o.expected { "valid" } else { "invalid" },
                            o.detail
                        ));
                    }
                }
            }
            if all {
                row.1 += 1;
            }
            row.2 += outcomes.len();
        }
    }
    println!(
        "{:<8} {:>7} {:>7} {:>6} {:>8}",
        "folder", "vectors", "passed", "steps", "no input"
    );
    let (mut total, mut passed, mut steps, mut none) = (0, 0, 0, 0);
    for (folder, (n, ok, s, skip)) in &table {
        println!("{folder:<8} {n:>7} {ok:>7} {s:>6} {skip:>8}");
        total += n;
        passed += ok;
        steps += s;
        none += skip;
    }
    println!("{:<8} {total:>7} {passed:>7} {steps:>6} {none:>8}", "total");
    for e in &excepted {
        println!("exception: {e}");
    }
    for f in &failures {
        println!("FAIL {f}");
    }
    assert!(failures.is_empty(), "{} steps failed", failures.len());
    // Every exception is still needed.
    for (v, s, _) in EXCEPTIONS {
        assert!(
            excepted.iter().any(|e| e.starts_with(&format!("{v} {s}:"))),
            "{v} {s} is listed as an exception but passes"
        );
    }
}

fn run_vector(file: &Path, schema: &jsonschema::Validator) -> (Vec<Outcome>, Vec<&'static str>) {
    let text = std::fs::read_to_string(file).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let flags = v["EXPECTEDRESULTS"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let ctx = &v["TESTCTX"];
    let field = |k: &str| v.get(k).and_then(Value::as_str);
    let hex_field = |k: &str| field(k).map(hex_decode);
    let signer = Certificate::from_base64(ctx["CERTIFICATE"].as_str().unwrap_or_default());
    let clock = ctx["VALIDATIONCLOCK"].as_str().map(parse_clock);
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    let mut check = |step: &'static str, run: &dyn Fn() -> Result<(), String>| {
        let Some(expected) = flags.get(step).and_then(Value::as_bool) else {
            return;
        };
        let result = run();
        if result.as_ref().is_err_and(|e| e.starts_with(MISSING)) {
            // Flagged, but the vector lacks the step's input (e.g. `_2DCODE` instead of
            // `2DCODE`): nothing to test.
            skipped.push(step);
            return;
        }
        out.push(Outcome {
            step,
            expected,
            passed: result.is_ok() == expected,
            detail: match result {
                Ok(()) => "accepted".into(),
                Err(e) => e,
            },
        });
    };

    check("EXPECTEDPICTUREDECODE", &|| {
        let png = field("2DCODE").ok_or("missing input: 2DCODE")?;
        let read = read_png_qr(png)?;
        same(
            read.as_str(),
            field("PREFIX").ok_or("missing input: PREFIX")?,
            "the QR text",
        )
    });
    check("EXPECTEDUNPREFIX", &|| {
        let body = dcc::unprefix(field("PREFIX").ok_or("missing input: PREFIX")?).map_err(s)?;
        match field("BASE45") {
            Some(b45) => same(body, b45, "the unprefixed text"),
            None => Ok(()),
        }
    });
    check("EXPECTEDB45DECODE", &|| {
        let b45 = field("BASE45")
            .map(str::to_owned)
            .or_else(|| {
                field("PREFIX").and_then(|p| p.strip_prefix(dcc::PREFIX).map(str::to_owned))
            })
            .ok_or("missing input: BASE45")?;
        let bytes = base45::decode(&b45).map_err(s)?;
        match hex_field("COMPRESSED") {
            Some(c) => same(&bytes, &c, "the decoded bytes"),
            None => Ok(()),
        }
    });
    check("EXPECTEDCOMPRESSION", &|| {
        let compressed = hex_field("COMPRESSED").ok_or("missing input: COMPRESSED")?;
        let cose = dcc::inflate(&compressed).map_err(s)?;
        match hex_field("COSE") {
            Some(c) => same(&cose, &c, "the inflated bytes"),
            None => Ok(()),
        }
    });
    let message = || -> Result<CoseSign1, String> {
        CoseSign1::decode(&hex_field("COSE").ok_or("missing input: COSE")?).map_err(s)
    };
    check("EXPECTEDDECODE", &|| {
        let claims = message()?.claims().map_err(s)?;
        let decoded = claims.dcc_json().map_err(s)?;
        match hex_field("CBOR") {
            Some(cbor) => same_json(&decoded, &cbor_json(&cbor)?),
            None => Ok(()),
        }
    });
    let trust = || -> Result<TrustList, String> {
        Ok(TrustList::of(
            signer.as_ref().map_err(|e| e.to_string())?.clone(),
        ))
    };
    check("EXPECTEDVERIFY", &|| {
        let message = message()?;
        dcc::check_signature(&message, &trust()?).map_err(s)?;
        message.claims().map_err(s)?;
        Ok(())
    });
    // The payload as the chain decodes it: from CBOR, else from the COSE message.
    let payload = || -> Result<Value, String> {
        match hex_field("CBOR") {
            Some(cbor) => cbor_json(&cbor),
            None => message()?.claims().and_then(|c| c.dcc_json()).map_err(s),
        }
    };
    check("EXPECTEDVALIDJSON", &|| {
        same_json(&payload()?, v.get("JSON").ok_or("missing input: JSON")?)
    });
    // The schema steps of a country's vector test the schema version it was written for; only 1.3
    // (the one the project has, and issues) can be tested. Older versions allowed what 1.3
    // refuses (several of v/t/r, several entries, births before 1900, longer texts). The
    // `common/` cases are the ones every verifier must pass, and do pass under 1.3.
    let common = file.parent().is_some_and(|p| p.ends_with("common"));
    let schema_1_3 = common
        || ctx["SCHEMA"]
            .as_str()
            .is_some_and(|v| v.starts_with("1.3."));
    let schema_step = |run: &dyn Fn() -> Result<(), String>| {
        if schema_1_3 {
            run()
        } else {
            Err(format!("{MISSING}: schema {}", ctx["SCHEMA"]))
        }
    };
    check("EXPECTEDSCHEMAVALIDATION", &|| {
        schema_step(&|| {
            let decoded = payload().or_else(|_| {
                v.get("JSON")
                    .cloned()
                    .ok_or_else(|| format!("{MISSING}: JSON"))
            })?;
            valid_dcc(schema, &decoded)
        })
    });
    check("EXPECTEDVALIDOBJECT", &|| {
        schema_step(&|| valid_dcc(schema, v.get("JSON").ok_or("missing input: JSON")?))
    });
    check("EXPECTEDENCODE", &|| {
        let json = v.get("JSON").ok_or("missing input: JSON")?;
        let encoded = cose::write_cbor(&cose::json_to_cbor(json));
        let ours = cose::read_cbor(&encoded)
            .and_then(|c| cose::cbor_to_json(&c))
            .map_err(s)?;
        let cbor = hex_field("CBOR").ok_or("missing input: CBOR")?;
        let theirs = cbor_json(&cbor)?;
        same_json(&ours, &theirs)
    });
    check("EXPECTEDEXPIRATIONCHECK", &|| {
        let claims = message()?.claims().map_err(s)?;
        let signer = signer.as_ref().map_err(|e| e.to_string())?;
        let clock = clock.clone().ok_or("missing input: VALIDATIONCLOCK")??;
        dcc::check_times(&claims, signer, clock).map_err(s)?;
        Ok(())
    });
    check("EXPECTEDKEYUSAGE", &|| {
        let claims = message()?.claims().map_err(s)?;
        let kind = dcc::CertificateType::of(&claims.dcc_json().map_err(s)?).map_err(s)?;
        let signer = signer.as_ref().map_err(|e| e.to_string())?;
        dcc::check_key_usage(signer, kind).map_err(s)
    });
    (out, skipped)
}

/// A vector's `CBOR` as JSON. Some vectors give the certificate alone, others the whole CWT
/// claims map (integer keys), whose `hcert` claim then holds it.
fn cbor_json(cbor: &[u8]) -> Result<Value, String> {
    let value = cose::read_cbor(cbor).map_err(s)?;
    let is_claims = matches!(&value, ciborium::Value::Map(m)
        if m.iter().any(|(k, _)| matches!(k, ciborium::Value::Integer(_))));
    if is_claims {
        dcc::Claims::decode(cbor)
            .and_then(|c| c.dcc_json())
            .map_err(s)
    } else {
        cose::cbor_to_json(&value).map_err(s)
    }
}

fn s(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn same<T: PartialEq + std::fmt::Debug + ?Sized>(
    got: &T,
    want: &T,
    what: &str,
) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what} differs from the vector's"))
    }
}

/// JSON equality with numbers compared by value (CBOR may carry 1 as a float).
fn same_json(a: &Value, b: &Value) -> Result<(), String> {
    fn eq(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
            (Value::Array(x), Value::Array(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(x, y)| eq(x, y))
            }
            (Value::Object(x), Value::Object(y)) => {
                x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| eq(v, w)))
            }
            _ => a == b,
        }
    }
    if eq(a, b) {
        Ok(())
    } else {
        Err(format!(
            "the payload differs from the vector's JSON: {a} vs {b}"
        ))
    }
}

/// The payload passes our structure check and the DCC JSON schema.
fn valid_dcc(schema: &jsonschema::Validator, payload: &Value) -> Result<(), String> {
    dcc::check_structure(payload).map_err(s)?;
    if let Some(e) = schema.iter_errors(payload).next() {
        return Err(format!("schema: {e} at {}", e.instance_path()));
    }
    Ok(())
}

fn schema_validator(shared: &Path) -> jsonschema::Validator {
    let path = shared.join("dcc-schema/DCC.combined-schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn parse_clock(text: &str) -> Result<i64, String> {
    chrono::DateTime::parse_from_rfc3339(text)
        .or_else(|_| chrono::DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .map(|t| t.timestamp())
        .or_else(|_| {
            // A few vectors give no offset: read as UTC.
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .map(|t| t.and_utc().timestamp())
        })
        .map_err(|e| format!("VALIDATIONCLOCK {text:?}: {e}"))
}

fn hex_decode(text: &str) -> Vec<u8> {
    let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    (0..text.len() / 2)
        .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap_or(0))
        .collect()
}

/// The text of the QR code in a base64 PNG.
fn read_png_qr(png_base64: &str) -> Result<String, String> {
    let png = base64::engine::general_purpose::STANDARD
        .decode(png_base64.trim())
        .map_err(s)?;
    let image = image::load_from_memory(&png).map_err(s)?.to_luma8();
    let (w, h) = image.dimensions();
    read_qr(w as usize, h as usize, |x, y| {
        image.get_pixel(x as u32, y as u32).0[0]
    })
}

fn read_qr(w: usize, h: usize, pixel: impl Fn(usize, usize) -> u8) -> Result<String, String> {
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w, h, pixel);
    let grids = prepared.detect_grids();
    let grid = grids.first().ok_or("no QR code found")?;
    grid.decode().map(|(_, text)| text).map_err(s)
}

// ---- Certificates we issue ----

#[path = "dcc_conformance/issued.rs"]
mod issued;

#[test]
fn a_certificate_we_issue_verifies_and_matches_the_schema() {
    let (hc1, cert) = issued::issue_with(&[2]);
    assert!(hc1.starts_with("HC1:"));
    let verified = dcc::verify(&hc1, &TrustList::of(cert.clone()), issued::DURING).unwrap();
    assert_eq!(verified.kid, dcc::kid(cert.der()));
    assert_eq!(verified.iss.as_deref(), Some("JP"));
    assert_eq!(verified.dob, "1980-04-01");
    assert_eq!(verified.name.family_icao.as_deref(), Some("YAMADA"));
    assert_eq!(verified.name.given.as_deref(), Some("Taro"));
    let dose = &verified.doses[0];
    assert_eq!(
        (dose.dose_number, dose.series_doses),
        (3, 3),
        "the latest dose, a booster"
    );
    assert_eq!(dose.date, "2021-12-28");
    assert_eq!(dose.prophylaxis, "1119349007");
    assert_eq!(dose.issuer, "Chiyoda City, Tokyo, Japan");
    assert_eq!(dose.target, "840539006");
    assert_eq!(dose.country, "JP");
    assert!(dose.uvci.starts_with("URN:UVCI:01:JP:131016"));
    assert!(dcc::Uvci::has_valid_check(&dose.uvci));
    // The schema is one of the shared vectors: without them this check alone is skipped.
    if let Some(shared) = shared_testdata() {
        valid_dcc(&schema_validator(&shared), &verified.payload).unwrap();
    }
    // The protected header is {1: -7, 4: kid}.
    let cose = dcc::inflate(&base45::decode(dcc::unprefix(&hc1).unwrap()).unwrap()).unwrap();
    let message = CoseSign1::decode(&cose).unwrap();
    assert_eq!(message.algorithm().unwrap(), dcc::Algorithm::Es256);
    assert_eq!(message.kid(), Some(&dcc::kid(cert.der())[..]));
}

#[test]
fn a_flipped_byte_anywhere_in_the_cose_is_refused() {
    let (hc1, cert) = issued::issue_with(&[]);
    let trust = TrustList::of(cert);
    let cose = dcc::inflate(&base45::decode(dcc::unprefix(&hc1).unwrap()).unwrap()).unwrap();
    assert!(dcc::verify_cose(&cose, &trust, issued::DURING).is_ok());
    for i in 0..cose.len() {
        let mut altered = cose.clone();
        altered[i] ^= 0x01;
        assert!(
            dcc::verify_cose(&altered, &trust, issued::DURING).is_err(),
            "byte {i} of {} flipped, still accepted",
            cose.len()
        );
    }
}

#[test]
fn an_expired_certificate_is_refused() {
    let (hc1, cert) = issued::issue_with(&[2]);
    let err = dcc::verify(&hc1, &TrustList::of(cert), issued::AFTER).unwrap_err();
    assert!(matches!(err, DccError::Expired(_)), "{err}");
    assert!(
        err.to_string().starts_with("expired on 2024-12-31"),
        "{err}"
    );
}

#[test]
fn a_signer_for_tests_only_may_not_sign_a_vaccination() {
    let (hc1, cert) = issued::issue_with(&[1]);
    let err = dcc::verify(&hc1, &TrustList::of(cert), issued::DURING).unwrap_err();
    assert!(matches!(err, DccError::KeyUsage("vaccination")), "{err}");
    // Signed by one key, checked against another with the same name: refused.
    let (hc1, _) = issued::issue_with(&[2]);
    let (other, _) = issued::signer(&[2]);
    let err = dcc::verify(&hc1, &TrustList::of(other), issued::DURING).unwrap_err();
    assert!(matches!(err, DccError::UnknownKeyId(_)), "{err}");
}

#[test]
fn the_qr_code_reads_back_to_the_same_text() {
    let (hc1, _) = issued::issue_with(&[2]);
    let code = dcc::qr_code(&hc1).unwrap();
    assert_eq!(code.error_correction_level(), qrcode::EcLevel::Q);
    let width = code.width();
    let colors = code.to_colors();
    let (quiet, scale) = (4, 4);
    let side = (width + 2 * quiet) * scale;
    let read = read_qr(side, side, |x, y| {
        let (mx, my) = (x / scale, y / scale);
        let dark = mx >= quiet
            && my >= quiet
            && mx < width + quiet
            && my < width + quiet
            && colors[(my - quiet) * width + (mx - quiet)] == qrcode::Color::Dark;
        if dark {
            0
        } else {
            255
        }
    })
    .unwrap();
    assert_eq!(read, hc1);
}

#[test]
fn uvci_check_characters_in_the_vectors_are_computed_alike() {
    // Every UVCI in the vectors that ends in `#` + one character and is written in the check
    // alphabet: count those whose check character ours reproduces.
    let Some(shared) = shared_testdata() else {
        return;
    };
    let (mut checked, mut agree) = (0, 0);
    for entry in walk(&shared.join("dcc")) {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&entry).unwrap()).unwrap();
        for key in ["v", "t", "r"] {
            for e in v["JSON"][key].as_array().into_iter().flatten() {
                let Some(ci) = e["ci"].as_str() else { continue };
                let Some((body, check)) = ci.rsplit_once('#') else {
                    continue;
                };
                if check.len() != 1 || dcc::Uvci::check_character(body).is_none() {
                    continue;
                }
                checked += 1;
                if dcc::Uvci::has_valid_check(ci) {
                    agree += 1;
                } else {
                    println!("UVCI check differs: {ci} ({entry:?})");
                }
            }
        }
    }
    println!("UVCI check characters: {agree} of {checked} reproduced");
    assert!(checked > 0);
    assert!(
        dcc::Uvci::has_valid_check("URN:UVCI:01:AT:10807843F94AEE0EE5093FBC254BD813#B"),
        "common/CO1.json's UVCI"
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// ES/401–403 carry a 96-byte signature under the ES256 label (−7), signed by a P-384 key. We
/// accept them: COSE's ES256 names ECDSA with SHA-256 and only recommends P-256 (RFC 8152 §8.1);
/// the curve is the signer certificate's, the signature verifies as P-384 with SHA-256, and the
/// vectors mark them valid. What would be refused is a signature whose size does not fit the
/// key's curve, or an RSA key under an ECDSA label.
#[test]
fn es256_with_a_p384_signer_is_accepted_as_ecdsa_with_sha256() {
    let Some(shared) = shared_testdata() else {
        return;
    };
    for n in [401, 402, 403] {
        let v: Value = serde_json::from_str(
            &std::fs::read_to_string(shared.join(format!("dcc/ES/{n}.json"))).unwrap(),
        )
        .unwrap();
        let cert = Certificate::from_base64(v["TESTCTX"]["CERTIFICATE"].as_str().unwrap()).unwrap();
        let message = CoseSign1::decode(&hex_decode(v["COSE"].as_str().unwrap())).unwrap();
        assert_eq!(message.algorithm().unwrap(), dcc::Algorithm::Es256);
        dcc::check_signature(&message, &TrustList::of(cert.clone())).unwrap();
        let clock = parse_clock(v["TESTCTX"]["VALIDATIONCLOCK"].as_str().unwrap()).unwrap();
        let hc1 = v["PREFIX"].as_str().unwrap();
        dcc::verify(hc1, &TrustList::of(cert), clock).unwrap();
    }
}
