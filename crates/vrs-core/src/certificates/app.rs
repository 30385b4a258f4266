//! Applications for a certificate from the certificate app and from kiosks / certificate centres
//! (別紙8): the applicant's My Number card data — the four items and the My Number, read from the
//! card's 券面事項入力補助AP after its PIN — arrive with the card's signature and signer certificate.
//! The data is accepted only when the signature verifies with that certificate, the certificate
//! chains to a configured trust anchor and is valid today; an overseas application also carries the
//! passport's MRZ, whose check digits must hold. The My Number then selects the person in the
//! requested municipality, only there. Nothing about the application is kept beyond the issuance
//! history entry of the certificate issued.

use chrono::{DateTime, NaiveDate, Utc};
use vrs_crypto::x509::{Certificate, SignatureAlgorithm};
use vrs_domain::mrz::{Mrz, MrzError};
use vrs_domain::{
    CertificateId, CertificateKind, Function, IssueChannel, MunicipalityCode, MyNumber, TermsKind,
};
use vrs_store::Areas;
use vrs_store::{CertificateStore, DoseStore, GovernanceStore, ResidentStore, StoreError};

use crate::certificates::signing::IssuerSettings;
use crate::certificates::{self, CertificateError, CertificateRequest, IssuedCertificate};
use crate::governance::{self, AppIssuanceRefusal, GovernanceError, Stopped};
use crate::Actor;

/// What the card's 券面事項入力補助AP holds: the My Number and the four items.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardData {
    pub my_number: MyNumber,
    pub name: String,
    pub address: String,
    pub birth_date: NaiveDate,
    /// 1 male, 2 female, 3 other/unknown as the card writes it.
    pub sex: u8,
}

/// The first line of the signed form: the format and its version.
const SIGNED_FORM: &str = "VRS-MYNUMBER-CARD-DATA/1";

impl CardData {
    /// The bytes the card's signature covers: the format line, then each item on its own line
    /// (UTF-8, birth date as YYYYMMDD). `None` when an item holds a line break (it cannot be
    /// signed unambiguously, and no card holds one).
    pub fn signed_bytes(&self) -> Option<Vec<u8>> {
        if [&self.name, &self.address]
            .iter()
            .any(|t| t.contains(['\n', '\r']))
        {
            return None;
        }
        Some(
            format!(
                "{SIGNED_FORM}\n{}\n{}\n{}\n{}\n{}\n",
                self.my_number.expose(),
                self.name,
                self.address,
                self.birth_date.format("%Y%m%d"),
                self.sex
            )
            .into_bytes(),
        )
    }
}

/// One application as the app or kiosk sends it.
#[derive(Clone, Debug)]
pub struct Application {
    /// The municipality asked to issue (請求先): the applicant's home when vaccinated.
    pub municipality: MunicipalityCode,
    pub card: CardData,
    pub signature_algorithm: SignatureAlgorithm,
    pub signature: Vec<u8>,
    /// The card signer's certificate (DER).
    pub card_certificate: Vec<u8>,
    pub kind: CertificateKind,
    /// The passport's two MRZ lines, for an overseas certificate.
    pub mrz: Option<(String, String)>,
    /// A re-issue: the applicant's earlier certificate this one replaces (superseded or revoked).
    pub replaces: Option<CertificateId>,
}

/// What a card signer's certificate must satisfy: chain to one of the anchors (J-LIS's, in
/// production), be valid today, be no CA's, carry the configured usage (an extended key usage or
/// certificate policy OID), and not be revoked by its anchor's revocation list — a list signed by
/// that anchor and not past its next update, when one is configured.
#[derive(Clone, Debug, Default)]
pub struct CardTrust {
    pub anchors: Vec<Certificate>,
    /// The EKU or certificate policy OID a signer must carry; `None`: no requirement.
    pub signer_oid: Option<String>,
    pub crls: Vec<vrs_crypto::x509::RevocationList>,
}

/// Why an application is refused, in words the app or kiosk shows.
#[derive(Debug, thiserror::Error)]
pub enum ApplicationError {
    #[error(
        "マイナンバーカードの署名を確認できません (the card data's signature does not verify)"
    )]
    CardSignature,
    #[error("マイナンバーカードの証明書が信頼できる発行者のものではありません (the card certificate is not from a trusted issuer)")]
    CardUntrusted,
    #[error(
        "マイナンバーカードの証明書の有効期間外です (the card certificate is not valid today)"
    )]
    CardExpired,
    #[error("マイナンバーカードの証明書を読めません (the card certificate cannot be read): {0}")]
    CardCertificate(String),
    #[error("マイナンバーカードの署名者の証明書が署名用のものではありません (the card signer's certificate is not for signing card data: {0})")]
    CardSignerUsage(&'static str),
    #[error("マイナンバーカードの証明書は失効しています (the card certificate is revoked)")]
    CardRevoked,
    #[error("マイナンバーカードの証明書の失効情報が古いため確認できません (the revocation list of the card certificate's issuer is out of date)")]
    CardRevocationStale,
    #[error("旅券の読み取り内容に誤りがあります (the passport MRZ is wrong): {0}")]
    Mrz(#[from] MrzError),
    #[error("海外用の証明書には旅券の読み取りが必要です (an overseas certificate needs the passport MRZ)")]
    MrzMissing,
    #[error("{0}")]
    NotStarted(AppIssuanceRefusal),
    #[error("{}", .0.message_ja())]
    Stopped(Stopped),
    #[error("この自治体では、コンビニ交付による接種証明書の発行を行っていません。 (this municipality does not issue certificates at kiosks)")]
    KioskNotOffered,
    #[error("請求先の自治体に接種記録が見つかりません (no record in the municipality asked)")]
    NotFound,
    #[error("マイナンバーカードの生年月日が接種記録と一致しません (the card's birth date does not match the record)")]
    BirthDate,
    #[error("再発行する証明書 {0} はこの方のものではありません (the certificate to replace is not the applicant's)")]
    NotReplaceable(CertificateId),
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks the card data's signature and certificate chain at `now`.
pub fn verify_card(
    trust: &CardTrust,
    application: &Application,
    now: DateTime<Utc>,
) -> Result<(), ApplicationError> {
    let cert = Certificate::from_der(&application.card_certificate)
        .map_err(|e| ApplicationError::CardCertificate(e.to_string()))?;
    let signed = application
        .card
        .signed_bytes()
        .ok_or(ApplicationError::CardSignature)?;
    if !cert.verifies(
        application.signature_algorithm,
        &signed,
        &application.signature,
    ) {
        return Err(ApplicationError::CardSignature);
    }
    let at = now.timestamp();
    let Some(anchor) = trust.anchors.iter().find(|anchor| {
        cert.is_signed_by(anchor) && anchor.not_before() <= at && at <= anchor.not_after()
    }) else {
        return Err(ApplicationError::CardUntrusted);
    };
    if at < cert.not_before() || at > cert.not_after() {
        return Err(ApplicationError::CardExpired);
    }
    if cert.is_ca() {
        return Err(ApplicationError::CardSignerUsage(
            "a CA certificate does not sign card data",
        ));
    }
    if let Some(oid) = &trust.signer_oid {
        let carries =
            cert.extended_key_usages().contains(oid) || cert.policies().iter().any(|p| p == oid);
        if !carries {
            return Err(ApplicationError::CardSignerUsage(
                "it lacks the configured usage OID",
            ));
        }
    }
    for crl in trust.crls.iter().filter(|crl| crl.is_signed_by(anchor)) {
        if crl.next_update().is_some_and(|next| next < at) {
            return Err(ApplicationError::CardRevocationStale);
        }
        if crl.revokes(cert.serial()) {
            return Err(ApplicationError::CardRevoked);
        }
    }
    Ok(())
}

/// Handles one application through `channel` (app or kiosk): card check, passport check, the
/// municipality's and the operator's gates, the person by My Number in the requested municipality,
/// then issuance. The actor is the app's or kiosk's service account.
#[allow(clippy::too_many_arguments)]
pub async fn apply(
    store: &(impl CertificateStore + DoseStore + GovernanceStore + ResidentStore + ?Sized),
    settings: &IssuerSettings,
    trust: &CardTrust,
    actor: &Actor,
    channel: IssueChannel,
    application: &Application,
    now: DateTime<Utc>,
) -> Result<IssuedCertificate, ApplicationError> {
    verify_card(trust, application, now)?;
    let passport = match (&application.mrz, application.kind) {
        (Some((l1, l2)), _) => Some(Mrz::parse(l1, l2)?),
        (None, CertificateKind::Overseas) => return Err(ApplicationError::MrzMissing),
        (None, CertificateKind::Domestic) => None,
    };
    match channel {
        IssueChannel::App => {
            governance::app_issuance_gate(store, application.municipality)
                .await?
                .map_err(|refusal| match refusal {
                    AppIssuanceRefusal::Stopped(s) => ApplicationError::Stopped(s),
                    other => ApplicationError::NotStarted(other),
                })?;
        }
        _ => match governance::ensure_running(store, Function::KioskIssuance).await {
            Err(GovernanceError::Stopped(s)) => return Err(ApplicationError::Stopped(s)),
            Err(GovernanceError::Store(e)) => return Err(e.into()),
            Err(other) => return Err(StoreError::Other(other.to_string()).into()),
            Ok(()) => {
                if !governance::has_agreed(
                    store,
                    application.municipality,
                    TermsKind::KioskIssuance,
                )
                .await?
                {
                    return Err(ApplicationError::KioskNotOffered);
                }
            }
        },
    }
    let scope = application.municipality;
    let person = match store
        .area(scope)
        .resident_by_my_number(&application.card.my_number)
        .await
    {
        Ok(p) => p,
        Err(StoreError::NotFound) => return Err(ApplicationError::NotFound),
        Err(e) => return Err(e.into()),
    };
    if person.birth_date != application.card.birth_date {
        return Err(ApplicationError::BirthDate);
    }
    if let Some(old) = &application.replaces {
        match crate::lifecycle::person_certificate(store, scope, &person.atena, old).await {
            Ok(_) => {}
            Err(StoreError::NotFound) => return Err(ApplicationError::NotReplaceable(old.clone())),
            Err(e) => return Err(e.into()),
        }
    }
    let doses = store.area(scope).doses_of(&person.atena).await?;
    let request = CertificateRequest {
        kind: application.kind,
        passport,
        channel,
        replaces: application.replaces.clone(),
    };
    Ok(certificates::issue(store, settings, actor, &person, doses, &request, now).await?)
}
