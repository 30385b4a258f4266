//! `vrs-cert-bench`: how many certificates one core issues and verifies, for `bench/certs/run.sh`.
//!
//! One holder with three Comirnaty doses, signed with fresh keys: an SHC key (as
//! `vrs_core::certificates::signing` makes one, with its JWKS) and a document signer certified by a new CSCA
//! (`vrs_crypto::pki`). Each measure runs its operation in a loop for `--seconds` (after a short
//! untimed warm-up), in `--rounds` rounds, and reports the best round's operations per second:
//!
//! - `ring.*`: ECDSA P-256 SHA-256 sign and verify straight through `ring::signature`, over the
//!   very bytes our codes sign (the SHC signing input, the DCC `Sig_structure`): the physical limit;
//! - `es256.*`: the same through `vrs_crypto::es256` (what `vrs-cert` calls);
//! - `shc.issue`: record → FHIR bundle → JWS → `shc:/` text, as `vrs_core::certificates::issue`
//!   does it; `shc.verify`: `vrs_cert::shc::verify_qr` with an `Issuer` from the JWKS;
//! - `dcc.issue`: `vrs_cert::dcc::issue` → `HC1:` text; `dcc.verify`: `vrs_cert::dcc::verify` with
//!   a `TrustList` of the signer;
//! - `shc.qr`, `dcc.qr`: the QR matrix of each code, on its own;
//! - `step.*` (unless `--no-steps`): each stage of those paths alone, to show where the time goes.
//!
//! Prints `name<spaces>ops/s`, one line a measure (facts about the codes go to stderr), or one JSON
//! object with `--json`. `--payloads DIR` also writes what the peers in `bench/certs/peers/` need to
//! issue the same certificates: the SHC payload and the DCC claims as JSON, and both keys (and the
//! signer's certificate) as PEM.

#[path = "vrs-cert-bench/measure.rs"]
mod measure;
#[path = "vrs-cert-bench/peers.rs"]
mod peers;

use std::error::Error;
use std::io::{Read, Write};
use std::path::PathBuf;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use chrono::NaiveDate;
use clap::Parser;
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, KeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED,
    ECDSA_P256_SHA256_FIXED_SIGNING,
};
use serde_json::{json, Value};
use vrs_cert::dcc::{self, base45, cose, Algorithm, CoseSign1, TrustList};
use vrs_cert::shc::{self, CardName, Issuer};
use vrs_crypto::es256::{PublicKey, SigningKey};
use vrs_crypto::pki::{issue_document_signer, Csca};
use vrs_crypto::x509::Certificate;
use vrs_domain::{
    CertificateId, Dose, DoseRecord, DoseSource, LotNumber, MunicipalityCode, VaccineProduct,
};
use vrs_interop::Synthetic;

use measure::Report;
use peers::{check, write};

type Failure = Box<dyn Error + Send + Sync>;

#[derive(Parser)]
struct Cli {
    /// Seconds each main measure runs in each round
    #[arg(long, default_value_t = 1.0)]
    seconds: f64,
    /// Rounds of the main measures (each reports its best round)
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Seconds each step of the breakdown runs
    #[arg(long, default_value_t = 0.5)]
    step_seconds: f64,
    /// Skip the breakdown into steps
    #[arg(long)]
    no_steps: bool,
    /// One JSON object instead of lines
    #[arg(long)]
    json: bool,
    /// Also write the peers' inputs (payloads, keys) into this folder
    #[arg(long)]
    payloads: Option<PathBuf>,
    /// Only the measures whose name starts with this (e.g. `shc.issue`, `step.dcc`), for profiling
    #[arg(long)]
    only: Option<String>,
    /// Instead of measuring: verify the peers' codes (`out-peer.*.txt`) in a folder that
    /// `--payloads` wrote, with our verifiers and its keys, and compare what they carry with ours
    #[arg(long)]
    check: Option<PathBuf>,
}

/// The issuing municipality (西条市), its SHC issuer URL and the performer Japan's profile names.
const MUNICIPALITY: &str = "382060";
const ISSUER_URL: &str = "https://vrs.example.jp/issuers/382060";
const PERFORMER: &str = "MHLW_Gov_of_JAPAN";

/// Three Comirnaty doses of one synthetic resident (the shape of the SHC conformance test).
fn three_doses() -> Result<Vec<DoseRecord>, Failure> {
    let area = MunicipalityCode::parse(MUNICIPALITY)?;
    let p = Synthetic::new(area, 1, 5)
        .next()
        .ok_or("no synthetic resident")?;
    let product = VaccineProduct::by_code("comirnaty").ok_or("no comirnaty")?;
    [
        (1u8, 2021, 6, 1, "FA4597"),
        (2, 2021, 6, 22, "FC3661"),
        (3, 2022, 1, 28, "FN9605"),
    ]
    .into_iter()
    .map(|(n, y, m, d, lot)| {
        Ok(DoseRecord::now(
            Dose {
                municipality: area,
                atena: p.atena.clone(),
                dose_number: vrs_domain::DoseNumber::new(n)?,
                administered_on: NaiveDate::from_ymd_opt(y, m, d).ok_or("date")?,
                product,
                lot_number: LotNumber::parse(lot)?,
                site_municipality: area,
                coupon: p.coupon,
            },
            DoseSource::Tablet,
        ))
    })
    .collect()
}

fn main() -> Result<(), Failure> {
    let cli = Cli::parse();
    if let Some(dir) = &cli.check {
        return check(dir);
    }
    let mut report = Report {
        only: cli.only.clone().unwrap_or_default(),
        rates: Vec::new(),
    };
    let mut facts = serde_json::Map::new();
    let now = chrono::Utc::now().timestamp();
    let doses = three_doses()?;
    let birth_date = NaiveDate::from_ymd_opt(1985, 4, 12).ok_or("date")?;

    // The SHC key and its JWKS, as `vrs_core::certificates::signing` makes and publishes them.
    let (shc_key, shc_pkcs8) = SigningKey::generate()?;
    let (x, y) = shc_key.public_jwk();
    let jwks = json!({"keys": [{"kty": "EC", "kid": shc_key.kid(), "use": "sig", "alg": "ES256",
        "crv": "P-256", "x": x, "y": y}]});
    let trusted = [Issuer::from_jwks(ISSUER_URL, &jwks)];
    let shc_public = PublicKey::from_jwk(&x, &y).ok_or("the SHC public key")?;

    // The document signer of the DCC, certified by a new CSCA.
    let csca = Csca::create("VRS Bench", now - 60)?;
    let dsc = issue_document_signer(
        &csca.certificate_der,
        &csca.private_key_pkcs8,
        "Saijo City DSC 1",
        "JP",
        "Saijo City",
        now - 60,
    )?;
    let dsc_key = SigningKey::from_pkcs8(&dsc.private_key_pkcs8)?;
    let dsc_cert = Certificate::from_der(&dsc.certificate_der)?;
    let trust = TrustList::of(dsc_cert.clone());

    // The holder as the certificates name them.
    let card_name = CardName {
        family: "SAIJO".into(),
        given: "HANAKO".into(),
    };
    let holder = dcc::Holder {
        family: "SAIJO".into(),
        given: "HANAKO".into(),
        birth_date,
    };
    let id = CertificateId::new(MunicipalityCode::parse(MUNICIPALITY)?, [7u8; 12]);
    let issuance = dcc::Issuance {
        issuer_name: "Saijo City, Ehime, Japan".into(),
        uvci: dcc::Uvci::for_certificate(&id),
        issued_at: now,
        expires_at: now + 365 * 86_400,
    };

    // One of each code, for the verify measures, the facts and the peers.
    let issue_shc = || -> Result<String, Failure> {
        let bundle = shc::minimal_bundle(&card_name, birth_date, &doses, PERFORMER);
        let rid = shc::rid(&id);
        let payload = shc::card_payload(ISSUER_URL, now, Some(&rid), bundle);
        let jws = shc::sign(&payload, &shc_key)?;
        Ok(shc::encode_qr(&jws))
    };
    let issue_dcc = || -> Result<String, Failure> {
        Ok(dcc::issue(&holder, &doses, &issuance, &dsc_key, &dsc_cert)?)
    };
    let shc_text = issue_shc()?;
    let jws = shc::decode_qr(&shc_text)?;
    let hc1 = issue_dcc()?;
    let card = shc::verify_qr(&shc_text, &trusted)?;
    let verified = dcc::verify(&hc1, &trust, now + 60)?;
    let shc_qr = shc::qr_code(&jws)?;
    let dcc_qr = dcc::qr_code(&hc1)?;
    let payload_json = serde_json::to_string(&card.payload)?;
    facts.insert("shc_payload_bytes".into(), json!(payload_json.len()));
    facts.insert("shc_jws_chars".into(), json!(jws.len()));
    facts.insert("shc_text_chars".into(), json!(shc_text.len()));
    facts.insert(
        "shc_qr_version".into(),
        json!(format!("{:?}", shc_qr.version())),
    );
    facts.insert("dcc_text_chars".into(), json!(hc1.len()));
    facts.insert(
        "dcc_qr_version".into(),
        json!(format!("{:?}", dcc_qr.version())),
    );

    // The bytes each code signs, for the raw measures.
    let (h, rest) = jws.split_once('.').ok_or("a JWS")?;
    let (p, s) = rest.split_once('.').ok_or("a JWS")?;
    let shc_input = jws.as_bytes()[..h.len() + 1 + p.len()].to_vec();
    let shc_signature = B64URL.decode(s)?;
    let cose_bytes = dcc::inflate(&base45::decode(dcc::unprefix(&hc1)?)?)?;
    let message = CoseSign1::decode(&cose_bytes)?;
    let dcc_tbs = message.to_be_signed();
    let dcc_signature = dsc_key.sign(&dcc_tbs)?;

    if let Some(dir) = &cli.payloads {
        std::fs::create_dir_all(dir)?;
        write(dir, "shc-payload.json", &payload_json)?;
        write(
            dir,
            "shc-key.pem",
            &vrs_crypto::x509::pem("PRIVATE KEY", &shc_pkcs8),
        )?;
        write(dir, "shc-jws.txt", &jws)?;
        let claims = message.claims()?;
        let cwt = json!({
            "iss": claims.iss,
            "iat": claims.iat,
            "exp": claims.exp,
            "dcc": verified.payload,
        });
        write(dir, "dcc-claims.json", &serde_json::to_string(&cwt)?)?;
        write(
            dir,
            "dsc-key.pem",
            &vrs_crypto::x509::pem("PRIVATE KEY", &dsc.private_key_pkcs8),
        )?;
        write(
            dir,
            "dsc-cert.pem",
            &vrs_crypto::x509::pem("CERTIFICATE", &dsc.certificate_der),
        )?;
        write(dir, "dcc-hc1.txt", &hc1)?;
    }

    let secs = cli.seconds;
    let rng = SystemRandom::new();
    let ring_shc = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &shc_pkcs8, &rng)
        .map_err(|e| format!("ring: {e}"))?;
    let ring_dsc = EcdsaKeyPair::from_pkcs8(
        &ECDSA_P256_SHA256_FIXED_SIGNING,
        &dsc.private_key_pkcs8,
        &rng,
    )
    .map_err(|e| format!("ring: {e}"))?;
    let shc_point = ring_shc.public_key().as_ref().to_vec();
    let dsc_point = ring_dsc.public_key().as_ref().to_vec();

    // The main measures in `--rounds` rounds, each measure keeping its best round: a neighbour's
    // burst of work slows some rounds, never speeds one up, and the ratios compare measures taken
    // seconds apart rather than a minute apart.
    for _ in 0..cli.rounds {
        // (a) The physical limit: ring, then our wrapper of it.
        let ring_sign = |pair: &EcdsaKeyPair, m: &[u8]| -> Result<_, Failure> {
            pair.sign(&rng, m).map_err(|e| format!("ring: {e}").into())
        };
        let ring_verify = |point: &[u8], m: &[u8], sig: &[u8]| -> Result<(), Failure> {
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                .verify(m, sig)
                .map_err(|_| "ring: the signature does not verify".into())
        };
        report.add("ring.sign.shc", secs, || ring_sign(&ring_shc, &shc_input))?;
        report.add("ring.verify.shc", secs, || {
            ring_verify(&shc_point, &shc_input, &shc_signature)
        })?;
        report.add("ring.sign.dcc", secs, || ring_sign(&ring_dsc, &dcc_tbs))?;
        report.add("ring.verify.dcc", secs, || {
            ring_verify(&dsc_point, &dcc_tbs, &dcc_signature)
        })?;
        report.add("es256.sign", secs, || Ok(shc_key.sign(&shc_input)?))?;
        report.add("es256.verify", secs, || {
            if shc_public.verifies(&shc_input, &shc_signature) {
                Ok(())
            } else {
                Err("es256: the signature does not verify".into())
            }
        })?;

        // (b) SMART Health Cards, (d) EU DCC, (c) their QR codes.
        report.add("shc.issue", secs, issue_shc)?;
        report.add("shc.verify", secs, || {
            Ok(shc::verify_qr(&shc_text, &trusted)?)
        })?;
        report.add("dcc.issue", secs, issue_dcc)?;
        report.add("dcc.verify", secs, || {
            Ok(dcc::verify(&hc1, &trust, now + 60)?)
        })?;
        report.add("shc.qr", secs, || Ok(shc::qr_code(&jws)?))?;
        report.add("dcc.qr", secs, || Ok(dcc::qr_code(&hc1)?))?;
    }

    if !cli.no_steps {
        let st = cli.step_seconds;
        // SHC issue, stage by stage (what `shc::sign` does inside, redone here).
        // The payload is a view of the records now; building it and writing its JSON is
        // `step.shc.payload+json` (the two steps it took when it was a `Value` tree).
        let rid = shc::rid(&id);
        let bundle_payload = || {
            let bundle = shc::minimal_bundle(&card_name, birth_date, &doses, PERFORMER);
            shc::card_payload(ISSUER_URL, now, Some(&rid), bundle)
        };
        let payload = bundle_payload();
        let minified = serde_json::to_vec(&payload)?;
        let deflate = |level: flate2::Compression| {
            let mut z = flate2::write::DeflateEncoder::new(Vec::new(), level);
            let _ = z.write_all(&minified);
            z.finish().unwrap_or_default()
        };
        let compressed = deflate(flate2::Compression::best());
        report.add("step.shc.rid", st, || Ok(shc::rid(&id)))?;
        report.add("step.shc.payload+json", st, || {
            Ok(serde_json::to_vec(&bundle_payload())?)
        })?;
        report.add("step.shc.deflate.best", st, || {
            Ok(deflate(flate2::Compression::best()))
        })?;
        report.add("step.shc.deflate.default", st, || {
            Ok(deflate(flate2::Compression::default()))
        })?;
        // The same DEFLATE with one compressor kept and reset between calls, instead of a new
        // one (and its state of a few hundred kB, allocated and zeroed) for every card.
        for (level, name) in [(9, "best"), (6, "default"), (1, "fast")] {
            let mut kept = flate2::Compress::new(flate2::Compression::new(level), false);
            let mut deflate_kept = || -> Result<Vec<u8>, Failure> {
                kept.reset();
                let mut out = Vec::with_capacity(minified.len() + 64);
                kept.compress_vec(&minified, &mut out, flate2::FlushCompress::Finish)?;
                Ok(out)
            };
            let once = deflate_kept()?;
            if level == 9 && once != compressed {
                return Err("a kept compressor wrote other bytes".into());
            }
            let chars = h.len() + 1 + B64URL.encode(&once).len() + 1 + s.len();
            let version = format!("{:?}", shc::qr_code(&"A".repeat(chars))?.version());
            facts.insert(
                format!("shc_deflate_{name}"),
                json!(format!("{} B, JWS {chars} chars, QR {version}", once.len())),
            );
            report.add(&format!("step.shc.deflate.{name}.kept"), st, deflate_kept)?;
        }
        // libdeflate (what `shc::sign` uses), one compressor kept, at the levels worth weighing
        // (1–12; 6 is its default, 12 its slowest and smallest).
        for level in [1, 6, 9, 12] {
            let lvl = libdeflater::CompressionLvl::new(level).map_err(|e| format!("{e:?}"))?;
            let mut kept = libdeflater::Compressor::new(lvl);
            let mut raw = || -> Result<Vec<u8>, Failure> {
                let mut out = vec![0; kept.deflate_compress_bound(minified.len())];
                let n = kept.deflate_compress(&minified, &mut out)?;
                out.truncate(n);
                Ok(out)
            };
            // The code this level would give: its JWS length and QR version (the digits of
            // the payload part are another card's, the length is this one's).
            let bytes = raw()?.len();
            let chars = h.len() + 1 + (4 * bytes).div_ceil(3) + 1 + s.len();
            let version = format!("{:?}", shc::qr_code(&"A".repeat(chars))?.version());
            facts.insert(
                format!("shc_libdeflate_{level}"),
                json!(format!("{bytes} B, JWS {chars} chars, QR {version}")),
            );
            report.add(&format!("step.shc.libdeflate.{level}"), st, raw)?;
        }
        facts.insert(
            "shc_deflate_issued_bytes".into(),
            json!(B64URL.decode(p)?.len()),
        );
        report.add("step.shc.kid", st, || Ok(shc_key.kid()))?;
        report.add("step.shc.header+base64", st, || {
            let header = json!({"zip": "DEF", "alg": "ES256", "kid": shc_key.kid()});
            Ok(format!(
                "{}.{}",
                B64URL.encode(header.to_string()),
                B64URL.encode(&compressed)
            ))
        })?;
        report.add("step.shc.encode_qr", st, || Ok(shc::encode_qr(&jws)))?;
        // SHC verify, stage by stage.
        report.add("step.shc.decode_qr", st, || Ok(shc::decode_qr(&shc_text)?))?;
        report.add("step.shc.header.parse", st, || {
            Ok(serde_json::from_slice::<Value>(&B64URL.decode(h)?)?)
        })?;
        report.add("step.shc.inflate", st, || {
            let mut out = Vec::new();
            flate2::read::DeflateDecoder::new(B64URL.decode(p)?.as_slice())
                .read_to_end(&mut out)?;
            Ok(out)
        })?;
        report.add("step.shc.payload.parse", st, || {
            Ok(serde_json::from_slice::<Value>(&minified)?)
        })?;
        report.add("step.shc.issuer.from_jwks", st, || {
            Ok(Issuer::from_jwks(ISSUER_URL, &jwks))
        })?;

        // DCC issue, stage by stage (what `dcc::issue` does inside, redone here).
        let dcc_payload =
            || dcc::vaccination_payload(&holder, &doses, &issuance.issuer_name, &issuance.uvci);
        let claims = || -> Result<Vec<u8>, Failure> {
            Ok(cose::cwt(
                "JP",
                issuance.issued_at,
                issuance.expires_at,
                &dcc_payload()?,
            ))
        };
        let cwt = claims()?;
        report.add("step.dcc.payload", st, || Ok(dcc_payload()?))?;
        report.add("step.dcc.payload+cbor", st, claims)?;
        report.add("step.dcc.kid", st, || Ok(dcc::kid(dsc_cert.der())))?;
        report.add("step.dcc.cose.unsigned", st, || {
            let m =
                CoseSign1::sign_with(Algorithm::Es256, &[0; 8], cwt.clone(), |_| Ok(vec![0; 64]))?;
            Ok(m.to_bytes())
        })?;
        report.add("step.dcc.deflate.issued", st, || {
            Ok(dcc::deflate(&cose_bytes))
        })?;
        let zipped = dcc::deflate(&cose_bytes);
        let mut kept = flate2::Compress::new(flate2::Compression::best(), true);
        report.add("step.dcc.deflate.miniz.best.kept", st, || {
            kept.reset();
            let mut out = Vec::with_capacity(cose_bytes.len() + 64);
            kept.compress_vec(&cose_bytes, &mut out, flate2::FlushCompress::Finish)?;
            Ok(out)
        })?;
        for level in [1, 6, 9, 12] {
            let lvl = libdeflater::CompressionLvl::new(level).map_err(|e| format!("{e:?}"))?;
            let mut kept = libdeflater::Compressor::new(lvl);
            let mut zlib = || -> Result<Vec<u8>, Failure> {
                let mut out = vec![0; kept.zlib_compress_bound(cose_bytes.len())];
                let n = kept.zlib_compress(&cose_bytes, &mut out)?;
                out.truncate(n);
                Ok(out)
            };
            let bytes = zlib()?.len();
            let chars = dcc::PREFIX.len() + bytes / 2 * 3 + bytes % 2 * 2;
            let version = format!("{:?}", dcc::qr_code(&"A".repeat(chars))?.version());
            facts.insert(
                format!("dcc_libdeflate_{level}"),
                json!(format!("{bytes} B, HC1 {chars} chars, QR {version}")),
            );
            report.add(&format!("step.dcc.libdeflate.{level}"), st, zlib)?;
        }
        facts.insert("dcc_cose_bytes".into(), json!(cose_bytes.len()));
        facts.insert("dcc_deflate_issued_bytes".into(), json!(zipped.len()));
        report.add("step.dcc.base45.encode", st, || Ok(base45::encode(&zipped)))?;
        // DCC verify, stage by stage.
        let text = dcc::unprefix(&hc1)?;
        report.add("step.dcc.base45.decode", st, || Ok(base45::decode(text)?))?;
        report.add("step.dcc.inflate", st, || Ok(dcc::inflate(&zipped)?))?;
        report.add("step.dcc.cose.decode", st, || {
            Ok(CoseSign1::decode(&cose_bytes)?)
        })?;
        report.add("step.dcc.is_signed_by", st, || {
            Ok(message.is_signed_by(&dsc_cert)?)
        })?;
        report.add("step.dcc.claims+structure", st, || {
            let claims = message.claims()?;
            let exp = dcc::check_times(&claims, &dsc_cert, now + 60)?;
            let payload = claims.dcc_json()?;
            let structure = dcc::check_structure(&payload)?;
            dcc::check_key_usage(&dsc_cert, structure.0)?;
            Ok((exp, structure))
        })?;
    }

    if cli.json {
        let rates: serde_json::Map<String, Value> = report
            .rates
            .iter()
            .map(|(name, ops)| (name.clone(), json!(ops.round())))
            .collect();
        println!("{}", json!({"ops_per_second": rates, "facts": facts}));
    } else {
        report.print();
        for (name, value) in &facts {
            eprintln!("# {name} {value}");
        }
    }
    Ok(())
}
