//! Inquiry between municipalities (照会・提供): staff of the municipality a person moved to send the
//! person's My Number with the code of the municipality they moved from, and receive the doses
//! recorded there.
//!
//! Only the named municipality's area is searched, through its own blind index, so a wrong code
//! finds nobody; the answer to "no such person" and "wrong municipality" is the same, and nothing
//! is written in an area where nobody was found. The consent rule comes first and does not depend
//! on the person. An inquiry is made only about the asking municipality's own resident (found
//! through its own index); about anyone else it is refused before the other area is read. Both
//! sides keep a provision record (情報提供等の記録) and an audit entry; neither holds the My Number.
//! The caller has checked `Action::SendInquiry` (LG-WAN staff only).

pub mod bulk;
pub mod provisions;

use chrono::NaiveDate;
use rand::Rng;
use vrs_domain::{
    AtenaNumber, AuditAction, ConsentBasis, Dose, DoseRecord, DoseSource, Function, LotNumber,
    MunicipalityCode, MyNumber, QualityRule, TermsKind, VaccineProduct,
};
use vrs_store::Areas;
use vrs_store::{
    CertificateStore, CouponHolder, DoseStore, GovernanceStore, InquiryStore, ProvidedDose,
    ProvisionRecord, ProvisionSide, ResidentStore, Store, StoreError,
};

use crate::doses::rules_for;
use crate::governance::{ensure_running, has_agreed, GovernanceError, Stopped};
use crate::Actor;

/// What staff send.
#[derive(Clone, Debug)]
pub struct InquiryRequest {
    pub my_number: MyNumber,
    /// The municipality the person moved from: the only area searched.
    pub former: MunicipalityCode,
    /// Staff assert that the person consented.
    pub consent: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum InquiryError {
    #[error(transparent)]
    Stopped(Stopped),
    #[error("an inquiry goes to another municipality, not to one's own")]
    OwnMunicipality,
    /// Not both municipalities agreed to the no-consent terms and no consent was asserted.
    #[error("the person's consent is required: {}", consent_required_en())]
    ConsentRequired,
    /// The asking municipality holds no resident with this My Number: an inquiry is made only
    /// about one's own resident (a person who moved in), and nothing of the other area is read.
    #[error("no resident of this municipality has this My Number: an inquiry is made only about one's own resident (import the person who moved in, then inquire)")]
    NotOwnResident,
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn consent_required_en() -> &'static str {
    "this municipality and the one asked have not both agreed to the no-consent inquiry terms, so staff must confirm that the person consented"
}

impl InquiryError {
    pub fn message_ja(&self) -> String {
        match self {
            InquiryError::Stopped(s) => s.message_ja(),
            InquiryError::OwnMunicipality => "照会先に自自治体は指定できません。".into(),
            InquiryError::ConsentRequired => "照会元・照会先の双方が「本人同意を要しない接種記録照会に係る確認事項」に同意していないため、本人の同意の確認が必要です。".into(),
            InquiryError::NotOwnResident => "この個人番号の方はこの自治体の住民として登録されていません。照会は自自治体の住民（転入者）についてのみ行えます。転入者を取り込んでから照会してください。".into(),
            InquiryError::Store(_) => "照会を処理できませんでした。".into(),
        }
    }
}

/// An inquiry refused: 422 with its own code for what the staff can change, 503 for a stop.
impl vrs_domain::UserFacing for InquiryError {
    fn code(&self) -> &'static str {
        match self {
            InquiryError::Stopped(s) => s.code(),
            InquiryError::OwnMunicipality => "own_municipality",
            InquiryError::ConsentRequired => "consent_required",
            InquiryError::NotOwnResident => "not_own_resident",
            InquiryError::Store(_) => "internal",
        }
    }
    fn status(&self) -> u16 {
        match self {
            InquiryError::Stopped(s) => s.status(),
            InquiryError::Store(_) => 500,
            _ => 422,
        }
    }
    fn message_ja(&self) -> std::borrow::Cow<'_, str> {
        InquiryError::message_ja(self).into()
    }
    fn message_en(&self) -> std::borrow::Cow<'_, str> {
        self.to_string().into()
    }
}

impl From<GovernanceError> for InquiryError {
    fn from(e: GovernanceError) -> Self {
        match e {
            GovernanceError::Stopped(s) => InquiryError::Stopped(s),
            GovernanceError::Store(e) => InquiryError::Store(e),
            GovernanceError::NotFound => InquiryError::Store(StoreError::NotFound),
            // An inquiry only reads switches and agreements, which refuse no input.
            GovernanceError::Invalid(m) => InquiryError::Store(StoreError::Other(m.to_string())),
        }
    }
}

/// The answer: the doses recorded in the area asked, or nobody found (the same for a wrong code).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InquiryAnswer {
    pub inquiry_id: String,
    pub former: MunicipalityCode,
    pub consent: ConsentBasis,
    pub found: bool,
    pub doses: Vec<ProvidedDose>,
    /// The asking municipality's own person with this My Number, if it holds them: the person the
    /// received doses can be registered to.
    pub own_atena: Option<AtenaNumber>,
}

/// A new inquiry ID: `I-` (single) or `B-` (bulk batch), the day in Japan and 8 random hex digits.
pub fn new_inquiry_id(bulk: bool) -> String {
    let day = crate::japan_today().format("%Y%m%d");
    let n: u32 = rand::thread_rng().gen();
    format!("{}-{day}-{n:08X}", if bulk { "B" } else { "I" })
}

/// The consent basis of an inquiry from `requester` to `former`: the person's consent when staff
/// assert it; otherwise the no-consent terms, when both municipalities agreed to their newest
/// version; otherwise the inquiry is refused.
pub async fn consent_basis(
    store: &(impl GovernanceStore + ?Sized),
    requester: MunicipalityCode,
    former: MunicipalityCode,
    consent_asserted: bool,
) -> Result<ConsentBasis, InquiryError> {
    if consent_asserted {
        return Ok(ConsentBasis::Consent);
    }
    let both = has_agreed(store, requester, TermsKind::NoConsentInquiry).await?
        && has_agreed(store, former, TermsKind::NoConsentInquiry).await?;
    if both {
        Ok(ConsentBasis::NoConsentTerms)
    } else {
        Err(InquiryError::ConsentRequired)
    }
}

/// Sends one inquiry from `requester` (the staff's own municipality, from the session).
pub async fn inquire(
    store: &dyn Store,
    actor: &Actor,
    requester: MunicipalityCode,
    request: &InquiryRequest,
) -> Result<InquiryAnswer, InquiryError> {
    ensure_running(store, Function::Inquiry).await?;
    let id = new_inquiry_id(false);
    inquire_as(store, actor, requester, request, &id).await
}

/// One inquiry under a given ID (a bulk batch's row); the function switch is checked by the caller.
pub(crate) async fn inquire_as(
    store: &dyn Store,
    actor: &Actor,
    requester: MunicipalityCode,
    request: &InquiryRequest,
    inquiry_id: &str,
) -> Result<InquiryAnswer, InquiryError> {
    let former = request.former;
    if former == requester {
        return Err(InquiryError::OwnMunicipality);
    }
    let consent = consent_basis(store, requester, former, request.consent).await?;
    // Only about one's own resident, found through one's own index: otherwise nothing of the other
    // area is read, and the refusal is audited in the asking chain (without the number).
    let own_atena = match store
        .area(requester)
        .resident_by_my_number(&request.my_number)
        .await
    {
        Ok(r) => Some(r.atena),
        Err(StoreError::NotFound) => {
            let refused = actor
                .audit(AuditAction::InquirySend, inquiry_id)
                .with_outcome("not_own_resident")
                .with_detail(format!("to={former}"));
            store.append_audit(requester.into(), &refused).await?;
            return Err(InquiryError::NotOwnResident);
        }
        Err(e) => return Err(e.into()),
    };
    // Only the named municipality's area, through its own index. An area not open in this
    // deployment holds nobody.
    let holder = if store.municipalities().await?.contains(&former) {
        match store
            .area(former)
            .resident_by_my_number(&request.my_number)
            .await
        {
            Ok(r) => Some(r),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        }
    } else {
        None
    };
    let (found, doses, provided) = match holder {
        None => (false, Vec::new(), None),
        Some(person) => {
            let doses: Vec<ProvidedDose> = store
                .area(former)
                .doses_of(&person.atena)
                .await?
                .iter()
                .map(provided_dose)
                .collect();
            (true, doses, Some(person.atena))
        }
    };
    let record = |municipality, side, counterpart, atena: Option<AtenaNumber>| ProvisionRecord {
        municipality,
        inquiry_id: inquiry_id.to_owned(),
        side,
        counterpart,
        at: chrono::Utc::now(),
        actor: actor.user.clone(),
        terminal: actor.terminal.clone(),
        consent,
        atena,
        found,
        doses: doses.clone(),
    };
    let numbers = dose_numbers(&doses);
    let asked = record(
        requester,
        ProvisionSide::Inquired,
        former,
        own_atena.clone(),
    );
    let asked_audit = actor
        .audit(AuditAction::InquirySend, inquiry_id)
        .with_outcome(if found { "found" } else { "not_found" })
        .with_detail(format!(
            "to={former} consent={} doses={numbers}",
            consent.as_str()
        ));
    let answered = provided.map(|atena| {
        let audit = actor
            .audit(AuditAction::InquiryAnswer, atena.as_str())
            .with_detail(format!(
                "inquiry={inquiry_id} from={requester} consent={} doses={numbers}",
                consent.as_str()
            ));
        (
            record(former, ProvisionSide::Provided, requester, Some(atena)),
            audit,
        )
    });
    store
        .record_inquiry(&asked, &asked_audit, answered.as_ref().map(|(r, a)| (r, a)))
        .await?;
    Ok(InquiryAnswer {
        inquiry_id: inquiry_id.to_owned(),
        former,
        consent,
        found,
        doses,
        own_atena,
    })
}

fn provided_dose(r: &DoseRecord) -> ProvidedDose {
    let d = &r.dose;
    ProvidedDose {
        dose_number: d.dose_number,
        administered_on: d.administered_on,
        product_code: d.product.code.to_owned(),
        lot_number: d.lot_number.as_str().to_owned(),
        coupon: d.coupon,
        site_municipality: d.site_municipality,
    }
}

/// `1,2,3` or `-` for none: what an audit entry says was provided.
fn dose_numbers(doses: &[ProvidedDose]) -> String {
    if doses.is_empty() {
        return "-".into();
    }
    doses
        .iter()
        .map(|d| d.dose_number.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Why received doses could not be registered.
#[derive(Debug, thiserror::Error)]
pub enum RegisterInquiredError {
    #[error("no such inquiry of this municipality")]
    NotFound,
    #[error("the inquiry found nobody")]
    NothingFound,
    #[error("this municipality holds no person with the inquired My Number: import the person, then inquire again")]
    NoOwnPerson,
    /// Per dose number, the rules it breaks (a different dose already under its number is
    /// `DoseNumberTaken`).
    #[error("the received doses break data-quality rules")]
    Rules(Vec<(vrs_domain::DoseNumber, Vec<QualityRule>)>),
    #[error(transparent)]
    Store(StoreError),
}

impl vrs_domain::UserFacing for RegisterInquiredError {
    fn code(&self) -> &'static str {
        match self {
            RegisterInquiredError::NotFound => "not_found",
            RegisterInquiredError::NothingFound => "nothing_found",
            RegisterInquiredError::NoOwnPerson => "no_own_person",
            RegisterInquiredError::Rules(_) => "quality",
            RegisterInquiredError::Store(_) => "store",
        }
    }

    fn status(&self) -> u16 {
        match self {
            RegisterInquiredError::NotFound => 404,
            RegisterInquiredError::Store(_) => 500,
            _ => 422,
        }
    }

    fn message_ja(&self) -> std::borrow::Cow<'_, str> {
        match self {
            RegisterInquiredError::NotFound => "この自治体の照会に、その照会番号はありません。".into(),
            RegisterInquiredError::NothingFound => "この照会では該当者が見つかっていません。".into(),
            RegisterInquiredError::NoOwnPerson => {
                "この個人番号の対象者が自自治体にいません。対象者を取り込んでから再度照会してください。"
                    .into()
            }
            RegisterInquiredError::Rules(problems) => problems
                .iter()
                .map(|(n, rules)| {
                    let said: Vec<&str> = rules.iter().map(|&r| r.message_ja()).collect();
                    format!("{n}回目: {}", said.join("、"))
                })
                .collect::<Vec<_>>()
                .join(" / ")
                .into(),
            RegisterInquiredError::Store(_) => "内部エラーが発生しました。".into(),
        }
    }

    fn message_en(&self) -> std::borrow::Cow<'_, str> {
        match self {
            RegisterInquiredError::Rules(problems) => problems
                .iter()
                .map(|(n, rules)| {
                    let said: Vec<&str> = rules.iter().map(|&r| r.message_en()).collect();
                    format!("dose {n}: {}", said.join("; "))
                })
                .collect::<Vec<_>>()
                .join(" / ")
                .into(),
            other => other.to_string().into(),
        }
    }
}

impl From<StoreError> for RegisterInquiredError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => RegisterInquiredError::NotFound,
            other => RegisterInquiredError::Store(other),
        }
    }
}

/// What registering received doses did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registered {
    pub atena: AtenaNumber,
    pub added: Vec<vrs_domain::DoseNumber>,
    /// Doses already recorded exactly so (registered before): left as they are.
    pub unchanged: Vec<vrs_domain::DoseNumber>,
}

/// Registers the doses an inquiry of `scope` received as the person's earlier doses in the own
/// area, marked as received from the municipality asked. All or none; the same inquiry registered
/// twice changes nothing.
pub async fn register_received(
    store: &(impl CertificateStore + DoseStore + InquiryStore + ResidentStore + ?Sized),
    actor: &Actor,
    scope: MunicipalityCode,
    inquiry_id: &str,
    today: NaiveDate,
) -> Result<Registered, RegisterInquiredError> {
    let asked = store
        .area(scope)
        .provision_record(inquiry_id, ProvisionSide::Inquired)
        .await?;
    if !asked.found {
        return Err(RegisterInquiredError::NothingFound);
    }
    let atena = asked
        .atena
        .clone()
        .ok_or(RegisterInquiredError::NoOwnPerson)?;
    let person = match store.area(scope).resident(&atena).await {
        Ok(p) => CouponHolder::from(&p),
        Err(StoreError::NotFound) => return Err(RegisterInquiredError::NoOwnPerson),
        Err(e) => return Err(e.into()),
    };
    let mut known = store.area(scope).doses_of(&atena).await?;
    let mut added = Vec::new();
    let mut unchanged = Vec::new();
    let mut problems = Vec::new();
    let mut new = Vec::new();
    for p in &asked.doses {
        let Some(record) = received_record(scope, &atena, p, asked.counterpart) else {
            problems.push((p.dose_number, vec![QualityRule::UnknownProduct]));
            continue;
        };
        match known.iter().find(|k| k.dose.dose_number == p.dose_number) {
            Some(k) if same_dose(&k.dose, &record.dose) => unchanged.push(p.dose_number),
            Some(_) => problems.push((p.dose_number, vec![QualityRule::DoseNumberTaken])),
            None => {
                let rules = rules_for(&record, &known, &person, today);
                if rules.is_empty() {
                    added.push(p.dose_number);
                    known.push(record.clone());
                    new.push(record);
                } else {
                    problems.push((p.dose_number, rules));
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(RegisterInquiredError::Rules(problems));
    }
    if !new.is_empty() {
        let numbers: Vec<String> = added.iter().map(ToString::to_string).collect();
        let audit = actor
            .audit(AuditAction::DoseAdd, atena.as_str())
            .with_detail(format!(
                "received by inquiry {inquiry_id} from {}: doses {}",
                asked.counterpart,
                numbers.join(",")
            ));
        match store.area(scope).add_doses(&new, &actor.user, &audit).await {
            Err(StoreError::Conflict(_)) => {
                return Err(RegisterInquiredError::Rules(
                    added
                        .iter()
                        .map(|&n| (n, vec![QualityRule::DoseNumberTaken]))
                        .collect(),
                ))
            }
            other => other?,
        }
        crate::lifecycle::doses_added(store, scope, [&atena], &audit).await;
    }
    Ok(Registered {
        atena,
        added,
        unchanged,
    })
}

fn received_record(
    scope: MunicipalityCode,
    atena: &AtenaNumber,
    p: &ProvidedDose,
    from: MunicipalityCode,
) -> Option<DoseRecord> {
    let product = VaccineProduct::by_code(&p.product_code)?;
    let lot_number = LotNumber::parse(&p.lot_number).ok()?;
    let mut record = DoseRecord::now(
        Dose {
            municipality: scope,
            atena: atena.clone(),
            dose_number: p.dose_number,
            administered_on: p.administered_on,
            product,
            lot_number,
            site_municipality: p.site_municipality,
            coupon: p.coupon,
        },
        DoseSource::Inquiry,
    );
    record.received_from = Some(from);
    Some(record)
}

fn same_dose(a: &Dose, b: &Dose) -> bool {
    a.administered_on == b.administered_on
        && a.product.code == b.product.code
        && a.lot_number == b.lot_number
        && a.site_municipality == b.site_municipality
}
