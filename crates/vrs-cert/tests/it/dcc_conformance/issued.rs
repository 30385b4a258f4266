//! Certificates we issue for the tests: a document signer made with rcgen and its DCCs.

use super::*;
use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, KeyPair, PKCS_ECDSA_P256_SHA256};
use vrs_cert::dcc::{Holder, Issuance, Uvci};
use vrs_crypto::es256::SigningKey;
use vrs_domain::{Dose, DoseRecord, DoseSource, LotNumber, MunicipalityCode, VaccineProduct};

/// 2024-01-01T00:00:00Z, the issue time of the certificates below.
const ISSUED: i64 = 1_704_067_200;
const YEAR: i64 = 365 * 24 * 3600;

/// A DSC for Japan with the given DCC key usages (1 test, 2 vaccination, 3 recovery; none
/// means unrestricted), valid 2023–2033, and its signing key.
pub fn signer(usages: &[u64]) -> (Certificate, SigningKey) {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = CertificateParams::new(Vec::new()).unwrap();
    params.distinguished_name.push(DnType::CountryName, "JP");
    params
        .distinguished_name
        .push(DnType::CommonName, "VRS DCC test signer");
    params.not_before = rcgen::date_time_ymd(2023, 1, 1);
    params.not_after = rcgen::date_time_ymd(2033, 1, 1);
    params.extended_key_usages = usages
        .iter()
        .map(|u| ExtendedKeyUsagePurpose::Other(vec![1, 3, 6, 1, 4, 1, 1847, 2021, 1, *u]))
        .collect();
    let cert = params.self_signed(&key).unwrap();
    (
        Certificate::from_der(cert.der()).unwrap(),
        SigningKey::from_pkcs8(&key.serialize_der()).unwrap(),
    )
}

pub fn doses() -> Vec<DoseRecord> {
    let p = vrs_interop::Synthetic::new(MunicipalityCode::parse("131016").unwrap(), 1, 5)
        .next()
        .unwrap();
    [
        (1u8, 6u32, 1u32, "FA4597"),
        (2, 6, 22, "FC3661"),
        (3, 12, 28, "FN9605"),
    ]
    .into_iter()
    .map(|(n, month, day, lot)| {
        DoseRecord::now(
            Dose {
                municipality: p.municipality,
                atena: p.atena.clone(),
                dose_number: vrs_domain::DoseNumber::from_int(n).unwrap(),
                administered_on: chrono::NaiveDate::from_ymd_opt(2021, month, day).unwrap(),
                product: VaccineProduct::by_code("comirnaty").unwrap(),
                lot_number: LotNumber::parse(lot).unwrap(),
                site_municipality: p.municipality,
                coupon: p.coupon,
            },
            DoseSource::Tablet,
        )
    })
    .collect()
}

pub fn holder() -> Holder {
    Holder {
        family: "Yamada".into(),
        given: "Taro".into(),
        birth_date: chrono::NaiveDate::from_ymd_opt(1980, 4, 1).unwrap(),
    }
}

pub fn issuance() -> Issuance {
    let id = vrs_domain::CertificateId::new(
        MunicipalityCode::parse("131016").unwrap(),
        *b"vrs-dcc-test",
    );
    Issuance {
        issuer_name: "Chiyoda City, Tokyo, Japan".into(),
        uvci: Uvci::for_certificate(&id),
        issued_at: ISSUED,
        expires_at: ISSUED + YEAR,
    }
}

pub fn issue_with(usages: &[u64]) -> (String, Certificate) {
    let (cert, key) = signer(usages);
    let hc1 = dcc::issue(&holder(), &doses(), &issuance(), &key, &cert).unwrap();
    (hc1, cert)
}

pub const DURING: i64 = ISSUED + 30 * 24 * 3600;
pub const AFTER: i64 = ISSUED + YEAR + 1;
