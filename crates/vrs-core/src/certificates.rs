//! Issuing a vaccination certificate (接種証明書) from a person's recorded doses: its ID, the SMART
//! Health Card, the EU DCC and, for overseas use, the ICAO VDS-NC code, each signed by the issuer
//! of the person's municipality; the printable PDF; and the issuance history entry, which keeps only
//! the name, birth date, nationality and passport number (docs/certificates.md).
//!
//! Certificates come only from doses that are recorded. Whoever calls decides access (counter staff,
//! the app or kiosk service after the card check in [`crate::certificates::app`]).

pub mod app;
pub mod revocation;
pub mod signing;

use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use serde_json::json;
use vrs_cert::{dcc, pdf, shc, vds_nc};
use vrs_crypto::x509::Certificate;
use vrs_domain::mrz::Mrz;
use vrs_domain::{
    romaji, AuditAction, CertificateId, CertificateKind, DoseRecord, IssueChannel,
    MunicipalityCode, Resident,
};
use vrs_store::{CertificateIssue, CertificateStatus, CertificateStore, StoreError};

use crate::Actor;
use signing::{IssuerSettings, SigningError};

/// `performer.actor.display` of every Immunization in Japan's SMART Health Cards.
pub const SHC_PERFORMER: &str = "MHLW_Gov_of_JAPAN";
/// How long an EU DCC is technically valid after issue (its CWT `exp`).
const DCC_VALIDITY_DAYS: i64 = 365;

/// What is asked for: a domestic certificate, or an overseas one with the passport read.
#[derive(Clone, Debug)]
pub struct CertificateRequest {
    pub kind: CertificateKind,
    /// The passport's machine-readable zone, required for (and only for) overseas certificates.
    pub passport: Option<Mrz>,
    pub channel: IssueChannel,
    /// The certificate of the same person this one is issued to replace (a re-issue).
    pub replaces: Option<CertificateId>,
}

#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Signing(#[from] SigningError),
    #[error("この方の接種記録がないため、証明書を発行できません (no doses are recorded for this person)")]
    NoDoses,
    #[error("海外用の証明書には旅券の情報が必要です (an overseas certificate needs the passport)")]
    PassportMissing,
    #[error("旅券の生年月日 ({passport}) が記録 ({record}) と一致しません (the passport's birth date does not match the record)")]
    PassportBirthDate {
        passport: chrono::NaiveDate,
        record: chrono::NaiveDate,
    },
    #[error("旅券の有効期限 ({0}) が切れています (the passport has expired)")]
    PassportExpired(chrono::NaiveDate),
    #[error("氏名のフリガナをローマ字にできません: {0}")]
    Romaji(#[from] romaji::RomajiError),
    #[error(
        "公開URL ({0}) が https でないため、証明書を発行できません (certificates are not issued: \
         the deployment's public_url {0} is not https; SMART Health Card issuers must use https)"
    )]
    IssuerNotHttps(String),
    #[error("the certificate code could not be made: {0}")]
    Code(String),
    #[error("the PDF could not be made: {0}")]
    Pdf(#[from] pdf::PdfError),
}

/// What the counter, the app and the kiosk are told; faults of the deployment (signing, the code,
/// the PDF, an issuer URL that is not https) answer 500 and name no detail.
impl vrs_domain::UserFacing for CertificateError {
    fn code(&self) -> &'static str {
        match self {
            CertificateError::Store(_) => "store",
            CertificateError::NoDoses => "no_doses",
            CertificateError::PassportMissing => "passport_missing",
            CertificateError::PassportBirthDate { .. } => "passport_birth_date",
            CertificateError::PassportExpired(_) => "passport_expired",
            CertificateError::Romaji(_) => "name_romaji",
            CertificateError::IssuerNotHttps(_) => "issuer_not_https",
            CertificateError::Signing(_) | CertificateError::Code(_) | CertificateError::Pdf(_) => {
                "internal"
            }
        }
    }

    fn status(&self) -> u16 {
        match self {
            CertificateError::NoDoses
            | CertificateError::PassportMissing
            | CertificateError::PassportBirthDate { .. }
            | CertificateError::PassportExpired(_)
            | CertificateError::Romaji(_)
            | CertificateError::IssuerNotHttps(_) => 422,
            CertificateError::Store(_)
            | CertificateError::Signing(_)
            | CertificateError::Code(_)
            | CertificateError::Pdf(_) => 500,
        }
    }

    fn message_ja(&self) -> std::borrow::Cow<'_, str> {
        match self {
            CertificateError::NoDoses => "この方の接種記録がないため、証明書を発行できません。".into(),
            CertificateError::PassportMissing => {
                "海外用の証明書には旅券の情報（MRZ）が必要です。".into()
            }
            CertificateError::PassportBirthDate { passport, record } => format!(
                "旅券の生年月日（{passport}）が記録（{record}）と一致しません。"
            )
            .into(),
            CertificateError::PassportExpired(on) => {
                format!("旅券の有効期限（{on}）が切れています。").into()
            }
            CertificateError::Romaji(e) => format!(
                "氏名のフリガナをローマ字にできません（{:?} は変換できない文字です）。",
                e.0
            )
            .into(),
            CertificateError::IssuerNotHttps(url) => format!(
                "公開URL（{url}）が https でないため、証明書を発行できません（運用者に連絡してください）。"
            )
            .into(),
            _ => "内部エラーのため証明書を発行できませんでした。".into(),
        }
    }

    fn message_en(&self) -> std::borrow::Cow<'_, str> {
        match self {
            CertificateError::NoDoses => "no doses are recorded for this person".into(),
            CertificateError::PassportMissing => {
                "an overseas certificate needs the passport".into()
            }
            CertificateError::PassportBirthDate { passport, record } => format!(
                "the passport's birth date ({passport}) does not match the record ({record})"
            )
            .into(),
            CertificateError::PassportExpired(on) => format!("the passport expired on {on}").into(),
            CertificateError::Romaji(e) => format!(
                "the name's kana cannot be written in romaji ({:?} cannot be converted)",
                e.0
            )
            .into(),
            CertificateError::IssuerNotHttps(url) => format!(
                "certificates are not issued: the deployment's public_url {url} is not https"
            )
            .into(),
            _ => "the certificate could not be issued for an internal error".into(),
        }
    }
}

fn code_error(e: impl std::fmt::Display) -> CertificateError {
    CertificateError::Code(e.to_string())
}

/// A certificate as issued: what it states and its signed codes.
#[derive(Clone, Debug)]
pub struct IssuedCertificate {
    pub id: CertificateId,
    pub issued_at: DateTime<Utc>,
    pub kind: CertificateKind,
    pub channel: IssueChannel,
    pub municipality: MunicipalityCode,
    pub name_kanji: String,
    pub name_kana: String,
    /// "YAMADA TARO": the passport's name for overseas, the reading in passport Hepburn otherwise.
    pub name_romaji: String,
    pub birth_date: chrono::NaiveDate,
    pub nationality: Option<String>,
    pub passport_number: Option<String>,
    pub doses: Vec<DoseRecord>,
    /// The SMART Health Card as a compact JWS, and as the `shc:/` text of its QR code.
    pub shc_jws: String,
    pub shc_text: String,
    /// The EU DCC (`HC1:`…).
    pub dcc: String,
    /// The ICAO VDS-NC seal of an overseas certificate.
    pub vds_nc: Option<vds_nc::VdsNc>,
}

/// Family and given names from a full name written "family given" (full- or half-width space).
fn split_name(full: &str) -> (String, String) {
    let mut words = full.split_whitespace();
    let family = words.next().unwrap_or_default().to_owned();
    let given = words.collect::<Vec<_>>().join(" ");
    (family, given)
}

/// Issues a certificate for `person` (of `scope`) from `doses`, records it in the issuance history
/// (audited as `certificate.issue_{channel}`) and returns it.
pub async fn issue(
    store: &(impl CertificateStore + ?Sized),
    settings: &IssuerSettings,
    actor: &Actor,
    person: &Resident,
    doses: Vec<DoseRecord>,
    request: &CertificateRequest,
    now: DateTime<Utc>,
) -> Result<IssuedCertificate, CertificateError> {
    if let Some(url) = settings.unfit_issuer_url() {
        return Err(CertificateError::IssuerNotHttps(url.to_owned()));
    }
    if doses.is_empty() {
        return Err(CertificateError::NoDoses);
    }
    let today = (now + Duration::hours(9)).date_naive();
    let passport = match (request.kind, &request.passport) {
        (CertificateKind::Overseas, None) => return Err(CertificateError::PassportMissing),
        (CertificateKind::Overseas, Some(mrz)) => {
            // The zone's birth year has two digits: the record decides the century.
            let Some(mrz) = mrz.with_birth_date_of(person.birth_date) else {
                return Err(CertificateError::PassportBirthDate {
                    passport: mrz.birth_date(),
                    record: person.birth_date,
                });
            };
            if mrz.is_expired(today) {
                return Err(CertificateError::PassportExpired(mrz.expiry_date()));
            }
            Some(mrz)
        }
        (CertificateKind::Domestic, _) => None,
    };
    let passport = passport.as_ref();
    let scope = person.municipality;
    let (family, given) = match passport {
        Some(mrz) => (mrz.surname().to_owned(), mrz.given_names().to_owned()),
        None => split_name(&romaji::hepburn(person.name_kana.as_str())?),
    };
    let name_romaji = format!("{family} {given}").trim().to_owned();

    let mut random = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut random);
    let id = CertificateId::new(scope, random);
    let issuer = settings.issuer_of(scope);

    // SMART Health Card: Japan's profile names the holder as on the certificate.
    let shc_signer = signing::shc_signer(store, settings, &issuer, actor).await?;
    let card_name = match passport {
        Some(_) => shc::CardName {
            family: family.clone(),
            given: given.clone(),
        },
        None => {
            let (f, g) = split_name(person.name.as_str());
            shc::CardName {
                family: f,
                given: g,
            }
        }
    };
    let bundle = shc::minimal_bundle(&card_name, person.birth_date, &doses, SHC_PERFORMER);
    let rid = shc::rid(&id);
    let payload = shc::card_payload(&shc_signer.issuer_url, now.timestamp(), Some(&rid), bundle);
    let shc_jws = shc::sign(&payload, &shc_signer.key).map_err(code_error)?;
    let shc_text = shc::encode_qr(&shc_jws);

    // EU DCC and (overseas) VDS-NC, signed by the issuer's document signer.
    let signer = signing::document_signer(store, settings, &issuer, actor, now).await?;
    let signer_cert = Certificate::from_der(&signer.certificate_der).map_err(code_error)?;
    let issuer_en = format!("{}, Japan", scope.info().name_en());
    let dcc = dcc::issue(
        &dcc::Holder {
            family: family.clone(),
            given: given.clone(),
            birth_date: person.birth_date,
        },
        &doses,
        &dcc::Issuance {
            issuer_name: issuer_en,
            uvci: dcc::Uvci::for_certificate(&id),
            issued_at: now.timestamp(),
            expires_at: (now + Duration::days(DCC_VALIDITY_DAYS)).timestamp(),
        },
        &signer.key,
        &signer_cert,
    )
    .map_err(code_error)?;
    let vds_nc = match passport {
        Some(mrz) => Some(
            vds_nc::VdsNc::issue(
                id.random_part(),
                &vds_nc::Holder::from_mrz(mrz),
                &doses,
                &signer.certificate_der,
                &signer.key,
            )
            .map_err(code_error)?,
        ),
        None => None,
    };

    let issued = IssuedCertificate {
        id,
        issued_at: now,
        kind: request.kind,
        channel: request.channel,
        municipality: scope,
        name_kanji: person.name.as_str().to_owned(),
        name_kana: person.name_kana.as_str().to_owned(),
        name_romaji,
        birth_date: person.birth_date,
        nationality: passport.map(|m| m.nationality().to_owned()),
        passport_number: passport.map(|m| m.document_number().to_owned()),
        doses,
        shc_jws,
        shc_text,
        dcc,
        vds_nc,
    };
    let history = CertificateIssue {
        municipality: scope,
        certificate_id: issued.id.clone(),
        issued_at: now,
        channel: request.channel,
        kind: request.kind,
        name: match request.kind {
            CertificateKind::Domestic => issued.name_kanji.clone(),
            CertificateKind::Overseas => issued.name_romaji.clone(),
        },
        birth_date: issued.birth_date,
        nationality: issued.nationality.clone(),
        passport_number: issued.passport_number.clone(),
        shc_kid: shc_signer.key.kid(),
        dsc_kid: hex::encode(dcc::kid(&signer.certificate_der)),
        stated: 0,
        replaces: request.replaces.clone(),
        status: CertificateStatus::Valid,
        status_at: None,
        status_reason: String::new(),
    };
    let audit = actor
        .audit(
            AuditAction::certificate_issue(request.channel),
            issued.id.as_str(),
        )
        .with_detail(format!(
            "kind={} doses={}{}",
            request.kind.as_str(),
            issued.doses.len(),
            match &request.replaces {
                Some(old) => format!(" replaces={old}"),
                None => String::new(),
            }
        ));
    store
        .record_certificate(&history, &person.atena, &issued.doses, &audit)
        .await?;
    Ok(issued)
}

impl IssuedCertificate {
    /// The `.smart-health-card` file (application/smart-health-card).
    pub fn smart_health_card_file(&self) -> String {
        json!({ "verifiableCredential": [self.shc_jws] }).to_string()
    }

    /// The printable certificate: A4, Japanese and English, with its QR codes.
    pub fn pdf(&self) -> Result<Vec<u8>, CertificateError> {
        let info = self.municipality.info();
        let mut codes = vec![
            pdf::CodeBlock {
                caption_ja: "SMART Health Card（日本国内・海外共通）".into(),
                caption_en: "SMART Health Card".into(),
                code: shc::qr_code(&self.shc_jws).map_err(code_error)?,
            },
            pdf::CodeBlock {
                caption_ja: "EU デジタルCOVID証明書".into(),
                caption_en: "EU Digital COVID Certificate".into(),
                code: dcc::qr_code(&self.dcc).map_err(code_error)?,
            },
        ];
        if let Some(seal) = &self.vds_nc {
            codes.push(pdf::CodeBlock {
                caption_ja: "ICAO VDS-NC（海外用）".into(),
                caption_en: "ICAO VDS-NC".into(),
                code: seal.qr_code().map_err(code_error)?,
            });
        }
        let doc = pdf::CertificateDocument {
            kind: self.kind,
            certificate_id: self.id.as_str().to_owned(),
            issued_on: (self.issued_at + Duration::hours(9)).date_naive(),
            issuer_ja: format!("{}長", info.full_name()),
            issuer_en: format!("Mayor of {}", info.name_en()),
            holder: pdf::Holder {
                name_kanji: self.name_kanji.clone(),
                name_kana: self.name_kana.clone(),
                name_romaji: self.name_romaji.clone(),
                birth_date: self.birth_date,
                nationality: self.nationality.clone(),
                passport_number: self.passport_number.clone(),
            },
            doses: self.doses.iter().map(DoseRecord::statement).collect(),
            codes,
        };
        Ok(pdf::render(&doc)?)
    }
}
