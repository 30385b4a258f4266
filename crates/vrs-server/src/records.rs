//! Record management for municipal staff, own municipality only: find a person (宛名番号, coupon,
//! kana name + birth date; My Number only on LG-WAN), see their doses, add, correct or delete a dose
//! with a reason, and set moved-out / deceased dates. The municipality is always the session's.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use vrs_core::access::{Action, Target};
use vrs_core::coupon::CouponRef;
use vrs_core::doses::{self, ChangeError, DoseText};
use vrs_core::records::{read_person, search_people, PersonQuery};
use vrs_domain::{
    parse_date, AtenaNumber, CouponNumber, DoseNumber, MunicipalityCode, MyNumber, NameFragment,
    Reason,
};
use vrs_store::Areas;

use crate::confirm::{unless_confirmed, Destructive};
use crate::error::WebError;
use crate::form::Refusal;
use crate::i18n::{field_refused, said, t, Lang, Text};
use crate::records_pages as view;
use crate::session::Signed;
use crate::AppState;

pub(crate) fn actor(signed: &Signed) -> vrs_core::Actor {
    vrs_core::Actor {
        user: signed.account.user_id.to_string(),
        role: signed.account.role.as_str().to_owned(),
        terminal: signed.terminal.as_str().to_owned(),
    }
}

/// The staff member's municipality, once `action` on it is allowed.
pub(crate) fn own(signed: &Signed, action: Action) -> Result<MunicipalityCode, WebError> {
    signed.authorize(action, &signed.own_area())?;
    signed
        .account
        .municipality
        .ok_or(WebError::Forbidden("a page of municipal staff"))
}

/// The search form. It is posted (with the session's CSRF token), so a My Number typed in it never
/// becomes part of a URL; a link may still search by the other fields with GET.
#[derive(Deserialize, Default)]
pub struct SearchQuery {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub atena: String,
    #[serde(default)]
    pub coupon: String,
    #[serde(default)]
    pub kana: String,
    #[serde(default)]
    pub birth: String,
    #[serde(default)]
    pub my_number: String,
    /// Set on the way back from deleting a person's record, to say it was done.
    #[serde(default)]
    pub deleted: Option<String>,
    /// The page of a long result, from 0 ([`RESULTS_PER_PAGE`] people a page).
    #[serde(default)]
    pub page: Option<usize>,
}

/// People per page of a search's result.
pub const RESULTS_PER_PAGE: usize = 20;

/// The query the form asks for, or the message naming the field that is wrong. `None` when the
/// form is empty.
fn person_query(
    signed: &Signed,
    own: MunicipalityCode,
    q: &SearchQuery,
) -> Result<Option<PersonQuery>, Refusal> {
    let lang = signed.lang;
    let (atena, coupon, kana, birth, my_number) = (
        q.atena.trim(),
        q.coupon.trim(),
        q.kana.trim(),
        q.birth.trim(),
        q.my_number.trim(),
    );
    if !my_number.is_empty() {
        if signed
            .authorize(Action::SearchPersonByMyNumber, &Target::Municipality(own))
            .is_err()
        {
            return Err(Refusal::field(
                "my_number",
                t(lang, Text::SearchingByMyNumberIs),
            ));
        }
        return MyNumber::parse(my_number)
            .map(|n| Some(PersonQuery::MyNumber(n)))
            .map_err(|e| Refusal::field("my_number", field_refused(lang, Text::MyNumber, &e)));
    }
    if !atena.is_empty() {
        return AtenaNumber::parse(atena)
            .map(|a| Some(PersonQuery::Atena(a)))
            .map_err(|e| Refusal::field("atena", field_refused(lang, Text::AtenaNumber, &e)));
    }
    if !coupon.is_empty() {
        let digits = vrs_domain::normalize_digits(coupon);
        let parsed = if digits.len() == 10 {
            CouponNumber::parse(&digits).map_err(|e| Reason::of(&e))
        } else {
            CouponRef::parse(&digits)
                .map_err(|e| Reason::of(&e))
                .and_then(|c| {
                    if c.municipality == own {
                        Ok(c.coupon)
                    } else {
                        Err(Reason::new(
                            "coupon_other_municipality",
                            format!("自治体 {} の接種券です。", c.municipality),
                            format!("the coupon is of municipality {}", c.municipality),
                        ))
                    }
                })
        };
        return parsed
            .map(|c| Some(PersonQuery::Coupon(c)))
            .map_err(|e| Refusal::field("coupon", field_refused(lang, Text::CouponNumber, &e)));
    }
    if kana.is_empty() && birth.is_empty() {
        return Ok(None);
    }
    // A name alone would mean opening the whole area: a name is searched within one birth date.
    if birth.is_empty() {
        return Err(Refusal::field(
            "birth",
            t(lang, Text::NameSearchNeedsBirthDate),
        ));
    }
    let birth = parse_date(birth)
        .map_err(|e| Refusal::field("birth", field_refused(lang, Text::BirthDate, &e)))?;
    let fragment = if kana.is_empty() {
        None
    } else {
        Some(
            NameFragment::parse(kana)
                .map_err(|e| Refusal::field("kana", field_refused(lang, Text::NameOrPart, &e)))?,
        )
    };
    Ok(Some(PersonQuery::NameBirth(fragment, birth)))
}

/// `GET /records`: the search page, or a search by the fields in the query string — never by My
/// Number, which proxies, load balancers and the browser's history would keep with the URL.
pub async fn search(
    State(state): State<AppState>,
    signed: Signed,
    Query(q): Query<SearchQuery>,
) -> Result<Response, WebError> {
    if !q.my_number.trim().is_empty() {
        let own = own(&signed, Action::SearchPeople)?;
        let lgwan = signed
            .authorize(Action::SearchPersonByMyNumber, &Target::Municipality(own))
            .is_ok();
        let message = t(signed.lang, Text::MyNumberNeverInUrl);
        let blank = SearchQuery::default();
        let refused = Refusal::field("my_number", message);
        return Ok((
            StatusCode::BAD_REQUEST,
            Html(view::search(&signed, &blank, lgwan, None, Some(&refused)).into_string()),
        )
            .into_response());
    }
    run_search(&state, &signed, &q).await
}

/// `POST /records`: the search form, CSRF-checked; the only way to search by My Number.
pub async fn search_posted(
    State(state): State<AppState>,
    signed: Signed,
    Form(q): Form<SearchQuery>,
) -> Result<Response, WebError> {
    signed.check_csrf(&q.csrf)?;
    run_search(&state, &signed, &q).await
}

async fn run_search(
    state: &AppState,
    signed: &Signed,
    q: &SearchQuery,
) -> Result<Response, WebError> {
    let own = own(signed, Action::SearchPeople)?;
    let lgwan = signed
        .authorize(Action::SearchPersonByMyNumber, &Target::Municipality(own))
        .is_ok();
    match person_query(signed, own, q) {
        Ok(None) => {
            Ok(Html(view::search(signed, q, lgwan, None, None).into_string()).into_response())
        }
        Ok(Some(query)) => {
            let found = search_people(state.store.as_ref(), &actor(signed), own, &query).await?;
            Ok(
                Html(view::search(signed, q, lgwan, Some(&found), None).into_string())
                    .into_response(),
            )
        }
        Err(refused) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Html(view::search(signed, q, lgwan, None, Some(&refused)).into_string()),
        )
            .into_response()),
    }
}

fn atena_of(text: &str) -> Result<AtenaNumber, WebError> {
    AtenaNumber::parse(text).map_err(|_| WebError::NotFound)
}

pub(crate) async fn person_page(
    state: &AppState,
    signed: &Signed,
    atena: &AtenaNumber,
    status: StatusCode,
    said: view::Said<'_>,
) -> Result<Response, WebError> {
    let own = own(signed, Action::SearchPeople)?;
    signed.authorize(Action::ReadPerson, &Target::Person { home: own })?;
    let (person, doses) = read_person(state.store.as_ref(), &actor(signed), own, atena).await?;
    let show_my_number = signed
        .authorize(Action::ShowMyNumber, &Target::Person { home: own })
        .is_ok();
    let certificates = state.store.area(own).person_certificates(atena).await?;
    let page = view::person(
        signed,
        &person,
        &doses,
        &certificates,
        show_my_number,
        &said,
    );
    Ok((status, Html(page.into_string())).into_response())
}

#[derive(Deserialize, Default)]
pub struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

pub async fn person(
    State(state): State<AppState>,
    signed: Signed,
    Path(atena): Path<String>,
    Query(q): Query<SavedQuery>,
) -> Result<Response, WebError> {
    let atena = atena_of(&atena)?;
    let said = match q.saved.as_deref() {
        None => view::Said::Nothing,
        Some(done) => view::Said::Notice(t(
            signed.lang,
            match done {
                "dose_added" => Text::DoseAddedNotice,
                "dose_corrected" => Text::DoseCorrectedNotice,
                "dose_deleted" => Text::DoseDeletedNotice,
                "flags" => Text::FlagsSetNotice,
                "revoked" => Text::CertificateRevokedNotice,
                _ => Text::Saved,
            },
        )),
    };
    person_page(&state, &signed, &atena, StatusCode::OK, said).await
}

/// A dose as the staff's form sends it.
#[derive(Deserialize)]
pub struct DoseForm {
    pub csrf: String,
    pub dose_number: String,
    pub administered_on: String,
    pub product: String,
    pub lot_number: String,
    #[serde(default)]
    pub site: String,
    #[serde(default)]
    pub venue: String,
    #[serde(default)]
    pub doctor: String,
    #[serde(default)]
    pub reason: String,
}

fn dose_input(
    lang: Lang,
    own: MunicipalityCode,
    f: &DoseForm,
) -> Result<vrs_domain::DoseStatement, Refusal> {
    let text = DoseText {
        dose_number: &f.dose_number,
        administered_on: &f.administered_on,
        product: &f.product,
        lot_number: &f.lot_number,
        site: &f.site,
        venue: &f.venue,
        doctor: &f.doctor,
    };
    doses::parse_statement(&text, own).map_err(|p| {
        let message = said(lang, &p).into_owned();
        Refusal::field(p.field, message)
    })
}

/// The message of a refused change, in the viewer's language.
fn change_message(lang: Lang, e: ChangeError) -> Result<Refusal, WebError> {
    Ok(match e {
        ChangeError::Rules(rules) => Refusal::form(
            rules
                .iter()
                .map(|r| said(lang, r))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        ChangeError::NoReason => Refusal::field("reason", t(lang, Text::GiveAReason)),
        ChangeError::NotFound => return Err(WebError::NotFound),
        ChangeError::Invalid(m) => Refusal::form(m),
        ChangeError::Store(vrs_store::StoreError::Conflict(kind)) => {
            Refusal::form(said(lang, &kind).into_owned())
        }
        ChangeError::Store(e) => return Err(e.into()),
    })
}

/// Answers a change: back to the person's page (post/redirect/get, so a reload does not repeat
/// it), or the page again with the message of the refusal.
async fn after_change<T>(
    state: &AppState,
    signed: &Signed,
    atena: &AtenaNumber,
    sent: view::Sent<'_>,
    result: Result<Result<T, ChangeError>, Refusal>,
    done: &str,
) -> Result<Response, WebError> {
    let refusal = match result {
        Ok(Ok(_)) => {
            return Ok(Redirect::to(&format!("/records/{atena}?saved={done}")).into_response());
        }
        Ok(Err(e)) => change_message(signed.lang, e)?,
        Err(invalid) => invalid,
    };
    person_page(
        state,
        signed,
        atena,
        StatusCode::UNPROCESSABLE_ENTITY,
        view::Said::Refused(sent, refusal),
    )
    .await
}

/// What every change form checks first: its CSRF token, that `action` on a person of the staff's
/// own municipality is allowed, and the 宛名番号 of the path. Returns the municipality and person.
fn change_of(
    signed: &Signed,
    csrf: &str,
    action: Action,
    atena: &str,
) -> Result<(MunicipalityCode, AtenaNumber), WebError> {
    signed.check_csrf(csrf)?;
    let own = own(signed, Action::SearchPeople)?;
    signed.authorize(action, &Target::Person { home: own })?;
    Ok((own, atena_of(atena)?))
}

pub async fn add_dose(
    State(state): State<AppState>,
    signed: Signed,
    Path(atena): Path<String>,
    Form(form): Form<DoseForm>,
) -> Result<Response, WebError> {
    let (own, atena) = change_of(&signed, &form.csrf, Action::AddDose, &atena)?;
    let result = match dose_input(signed.lang, own, &form) {
        Err(m) => Err(m),
        Ok(input) => Ok(doses::add_dose(
            state.store.as_ref(),
            &actor(&signed),
            own,
            &atena,
            &input,
            vrs_core::japan_today(),
        )
        .await),
    };
    let sent = view::Sent::AddDose(&form);
    after_change(&state, &signed, &atena, sent, result, "dose_added").await
}

pub async fn correct_dose(
    State(state): State<AppState>,
    signed: Signed,
    Path((atena, n)): Path<(String, u8)>,
    Form(form): Form<DoseForm>,
) -> Result<Response, WebError> {
    let (own, atena) = change_of(&signed, &form.csrf, Action::CorrectDose, &atena)?;
    let which = doses::DoseRef {
        atena: &atena,
        dose_number: DoseNumber::new(n).map_err(|_| WebError::NotFound)?,
    };
    let result = match dose_input(signed.lang, own, &form) {
        Err(m) => Err(m),
        Ok(input) => Ok(doses::correct_dose(
            state.store.as_ref(),
            &actor(&signed),
            own,
            which,
            &input,
            &form.reason,
            vrs_core::japan_today(),
        )
        .await),
    };
    let sent = view::Sent::CorrectDose(n, &form);
    after_change(&state, &signed, &atena, sent, result, "dose_corrected").await
}

#[derive(Deserialize)]
pub struct ReasonForm {
    pub csrf: String,
    #[serde(default)]
    pub reason: String,
    /// `1` once the confirmation page was answered (confirm.rs).
    #[serde(default)]
    pub confirmed: Option<String>,
}

impl ReasonForm {
    /// Asks first, unless the form says it was confirmed.
    fn ask(&self, signed: &Signed, what: Destructive<'_>, path: &str) -> Option<Response> {
        let fields = [
            ("csrf", self.csrf.as_str()),
            ("reason", self.reason.as_str()),
        ];
        unless_confirmed(signed, what, path, &fields, self.confirmed.as_deref())
    }
}

pub async fn delete_dose(
    State(state): State<AppState>,
    signed: Signed,
    Path((atena, n)): Path<(String, u8)>,
    Form(form): Form<ReasonForm>,
) -> Result<Response, WebError> {
    let (own, atena) = change_of(&signed, &form.csrf, Action::DeleteDose, &atena)?;
    let which = doses::DoseRef {
        atena: &atena,
        dose_number: DoseNumber::new(n).map_err(|_| WebError::NotFound)?,
    };
    let path = format!("/records/{atena}/doses/{n}/delete");
    if let Some(page) = form.ask(
        &signed,
        Destructive::DeleteDose {
            atena: atena.as_str(),
            n,
        },
        &path,
    ) {
        return Ok(page);
    }
    let result = doses::delete_dose(
        state.store.as_ref(),
        &actor(&signed),
        own,
        which,
        &form.reason,
    )
    .await;
    let sent = view::Sent::DeleteDose(n, &form.reason);
    after_change(&state, &signed, &atena, sent, Ok(result), "dose_deleted").await
}

/// Deletes the person's record and doses (the municipality's own deletion, promise 22 of
/// docs/pia.md), with the reason in the audit entry; then back to the search.
pub async fn delete_person(
    State(state): State<AppState>,
    signed: Signed,
    Path(atena): Path<String>,
    Form(form): Form<ReasonForm>,
) -> Result<Response, WebError> {
    use vrs_core::backup::shred::{delete_person, ShredError};
    let (own, atena) = change_of(&signed, &form.csrf, Action::DeletePerson, &atena)?;
    let path = format!("/records/{atena}/delete");
    if let Some(page) = form.ask(
        &signed,
        Destructive::DeletePerson {
            atena: atena.as_str(),
        },
        &path,
    ) {
        return Ok(page);
    }
    let deleted = delete_person(
        state.store.as_ref(),
        own,
        &atena,
        &form.reason,
        &actor(&signed),
    )
    .await;
    match deleted {
        Ok(_) => Ok(Redirect::to("/records?deleted=1").into_response()),
        Err(ShredError::NoReason) => {
            let refusal = Refusal::field("reason", t(signed.lang, Text::GiveAReason));
            let sent = view::Sent::DeletePerson;
            after_change::<()>(&state, &signed, &atena, sent, Err(refusal), "").await
        }
        Err(ShredError::NoSuchPerson(..)) => Err(WebError::NotFound),
        Err(ShredError::Store(e)) => Err(e.into()),
        Err(other) => Err(WebError::Invalid(other.to_string())),
    }
}

#[derive(Deserialize)]
pub struct FlagsForm {
    pub csrf: String,
    #[serde(default)]
    pub moved_out_on: String,
    #[serde(default)]
    pub deceased_on: String,
}

pub async fn set_flags(
    State(state): State<AppState>,
    signed: Signed,
    Path(atena): Path<String>,
    Form(form): Form<FlagsForm>,
) -> Result<Response, WebError> {
    let (own, atena) = change_of(&signed, &form.csrf, Action::FlagPerson, &atena)?;
    let lang = signed.lang;
    let day = |field: &'static str, label: Text, text: &str| {
        if text.trim().is_empty() {
            return Ok(None);
        }
        parse_date(text)
            .map(Some)
            .map_err(|e| Refusal::field(field, field_refused(lang, label, &e)))
    };
    let dates = day("moved_out_on", Text::MovedOutOn, &form.moved_out_on)
        .and_then(|m| day("deceased_on", Text::DeceasedOn, &form.deceased_on).map(|d| (m, d)));
    let result = match dates {
        Err(m) => Err(m),
        Ok((moved, deceased)) => Ok(doses::set_flags(
            state.store.as_ref(),
            &actor(&signed),
            own,
            &atena,
            moved,
            deceased,
            vrs_core::japan_today(),
        )
        .await),
    };
    let sent = view::Sent::Flags(&form);
    after_change(&state, &signed, &atena, sent, result, "flags").await
}
