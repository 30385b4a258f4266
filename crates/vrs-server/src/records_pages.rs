//! The record-management pages: person search and one person's record with their doses. Dates are
//! shown in 和暦 and Western form; the My Number appears only masked, and only on LG-WAN sessions.

use maud::{html, Markup};
use vrs_domain::{format_wareki, DoseRecord, Labelled, Resident, VaccineProduct};

use crate::certificates::CounterForm;
use crate::form::{self, Input, Refusal};
use crate::i18n::{Lang, Phrase, Text};
use crate::pages::layout;
use crate::records::{DoseForm, FlagsForm, SearchQuery, RESULTS_PER_PAGE};
use crate::session::Signed;

fn date(d: chrono::NaiveDate) -> String {
    format!("{}（{d}）", format_wareki(d))
}

pub fn search(
    signed: &Signed,
    q: &SearchQuery,
    lgwan: bool,
    found: Option<&[Resident]>,
    refused: Option<&Refusal>,
) -> Markup {
    let ja = signed.lang == Lang::Ja;
    let body = html! {
        form.card.search method="post" action="/records" novalidate {
            (form::summary("", refused))
            @if q.deleted.is_some() && refused.is_none() {
                p.notice role="status" { (Text::PersonDeletedNotice.pick(ja)) }
            }
            input type="hidden" name="csrf" value=(signed.session.csrf_token);
            p { (Text::SearchByOneOfThese.pick(ja)) }
            (Input::new("", "atena", Text::AtenaNumber.pick(ja)).value(&q.atena).numeric().render(refused))
            (Input::new("", "coupon", Text::CouponNumber10DigitsOr.pick(ja)).value(&q.coupon).numeric().render(refused))
            (Input::new("", "kana", Text::NameOrPart.pick(ja)).value(&q.kana).placeholder("サイジョウ / 西条").render(refused))
            (Input::new("", "birth", Text::BirthDate.pick(ja)).value(&q.birth).placeholder("昭和25年4月1日 / 1950-04-01").render(refused))
            @if lgwan {
                (Input::new("", "my_number", Text::MyNumberLgWanTerminals.pick(ja)).numeric().autocomplete("off").render(refused))
            }
            p.hint { (Text::NameSearchHint.pick(ja)) }
            button.primary type="submit" { (Text::Search.pick(ja)) }
        }
        @if let Some(all) = found {
            @if all.is_empty() {
                p.notice #no-result { (Text::NobodyMatches.pick(ja)) }
            } @else {
                @let pages = all.len().div_ceil(RESULTS_PER_PAGE);
                @let page = q.page.unwrap_or(0).min(pages - 1);
                @let first = page * RESULTS_PER_PAGE;
                @let people = &all[first..(first + RESULTS_PER_PAGE).min(all.len())];
                p #result-count role="status" {
                    (Text::PeopleFound.pick(ja)) ": " strong { (all.len()) }
                    @if pages > 1 { "（" (first + 1) "–" (first + people.len()) "）" }
                }
                @if pages > 1 { (paging(signed, q, page, pages)) }
                table #results {
                    tr {
                        th { (Text::AtenaNumber.pick(ja)) }
                        th { (Text::Name.pick(ja)) }
                        th { (Text::KanaName.pick(ja)) }
                        th { (Text::BirthDate.pick(ja)) }
                        th { (Text::Sex.pick(ja)) }
                        th { (Text::Status.pick(ja)) }
                    }
                    @for p in people {
                        tr {
                            td { a href={ "/records/" (p.atena) } { (p.atena) } }
                            td { (p.name.as_str()) }
                            td { (p.name_kana.as_str()) }
                            td { (date(p.birth_date)) }
                            td { (p.sex.label(ja)) }
                            td { (flags(ja, p)) }
                        }
                    }
                }
            }
        }
    };
    layout(
        signed.lang,
        Text::VaccinationRecords.pick(ja),
        Some(signed),
        body,
    )
}

/// The buttons to the previous and next page of a result. Each sends the search again in a form's
/// body, so names and birth dates stay out of URLs and the browser's history.
fn paging(signed: &Signed, q: &SearchQuery, page: usize, pages: usize) -> Markup {
    let ja = signed.lang == Lang::Ja;
    let to = |target: usize, label: Text, id: &str| {
        html! {
            form.inline method="post" action="/records" {
                input type="hidden" name="csrf" value=(signed.session.csrf_token);
                input type="hidden" name="kana" value=(q.kana);
                input type="hidden" name="birth" value=(q.birth);
                input type="hidden" name="page" value=(target);
                button.secondary id=(id) type="submit" { (label.pick(ja)) }
            }
        }
    };
    html! {
        nav.paging aria-label=(Text::ResultPages.pick(ja)) {
            @if page > 0 { (to(page - 1, Text::PreviousPage, "page-previous")) }
            span.page-of { (page + 1) " / " (pages) }
            @if page + 1 < pages { (to(page + 1, Text::NextPage, "page-next")) }
        }
    }
}

fn flags(ja: bool, p: &Resident) -> String {
    let mut out = Vec::new();
    if let Some(from) = p.moved_in_from {
        let name = from.info().full_name();
        out.push(Phrase::MovedInFrom(&name, &from).pick(ja));
    }
    if let Some(d) = p.moved_out_on {
        out.push(format!("{} {}", Text::MovedOut.pick(ja), date(d)));
    }
    if let Some(d) = p.deceased_on {
        out.push(format!("{} {}", Text::Deceased.pick(ja), date(d)));
    }
    out.join(" / ")
}

fn product_options(selected: &str, ja: bool) -> Markup {
    html! {
        @for p in VaccineProduct::catalogue() {
            option value=(p.code) selected[p.code == selected] { (p.label(ja)) }
        }
    }
}

/// What the person page says above everything: nothing, a done notice, or a refusal of one of its
/// forms (drawn again open, with what was sent and the error under its field).
pub enum Said<'a> {
    Nothing,
    Notice(&'static str),
    Refused(Sent<'a>, Refusal),
}

/// Which of the person page's forms was sent, and what it held.
pub enum Sent<'a> {
    AddDose(&'a DoseForm),
    CorrectDose(u8, &'a DoseForm),
    Flags(&'a FlagsForm),
    DeleteDose(u8, &'a str),
    DeletePerson,
    Certificate(&'a CounterForm),
}

/// A dose form's values as text: a stored dose's, or those a refused form sent.
struct DoseValues<'a> {
    dose_number: String,
    administered_on: String,
    product: &'a str,
    lot_number: &'a str,
    site: String,
    venue: &'a str,
    doctor: &'a str,
}

impl<'a> DoseValues<'a> {
    fn stored(r: &'a DoseRecord) -> Self {
        DoseValues {
            dose_number: r.dose.dose_number.to_string(),
            administered_on: r.dose.administered_on.to_string(),
            product: r.dose.product.code,
            lot_number: r.dose.lot_number.as_str(),
            site: r.dose.site_municipality.to_string(),
            venue: &r.venue,
            doctor: &r.doctor,
        }
    }

    fn new_dose(next: u8) -> Self {
        DoseValues {
            dose_number: next.to_string(),
            administered_on: String::new(),
            product: "",
            lot_number: "",
            site: String::new(),
            venue: "",
            doctor: "",
        }
    }

    fn sent(f: &'a DoseForm) -> Self {
        DoseValues {
            dose_number: f.dose_number.clone(),
            administered_on: f.administered_on.clone(),
            product: &f.product,
            lot_number: &f.lot_number,
            site: f.site.clone(),
            venue: &f.venue,
            doctor: &f.doctor,
        }
    }
}

/// The fields of a dose form; `prefix` keeps their ids apart from the page's other dose forms.
fn dose_fields(ja: bool, prefix: &str, v: &DoseValues<'_>, refused: Option<&Refusal>) -> Markup {
    html! {
        (Input::new(prefix, "dose_number", Text::DoseNumber.pick(ja)).value(&v.dose_number).numeric().required().render(refused))
        (Input::new(prefix, "administered_on", Text::DateGiven.pick(ja)).value(&v.administered_on)
            .placeholder("令和3年6月1日 / 2021-06-01").required().render(refused))
        (form::select(prefix, "product", Text::Vaccine.pick(ja), product_options(v.product, ja), refused))
        (Input::new(prefix, "lot_number", Text::LotNumber.pick(ja)).value(v.lot_number).required().render(refused))
        (Input::new(prefix, "site", Text::SiteMunicipalityCode.pick(ja)).value(&v.site).numeric().render(refused))
        (Input::new(prefix, "venue", Text::VenueName.pick(ja)).value(v.venue).maxlength(30).render(refused))
        (Input::new(prefix, "doctor", Text::Doctor.pick(ja)).value(v.doctor).maxlength(20).render(refused))
    }
}

/// A required reason, kept and marked when the form was refused for it.
fn reason_field(prefix: &str, label: &str, value: &str, refused: Option<&Refusal>) -> Markup {
    Input::new(prefix, "reason", label)
        .value(value)
        .required()
        .render(refused)
}

pub fn person(
    signed: &Signed,
    p: &Resident,
    doses: &[DoseRecord],
    certificates: &[vrs_store::CertificateIssue],
    show_my_number: bool,
    said: &Said<'_>,
) -> Markup {
    let ja = signed.lang == Lang::Ja;
    let (sent, refusal) = match said {
        Said::Refused(sent, refusal) => (Some(sent), Some(refusal)),
        _ => (None, None),
    };
    // The refusal of the form that was sent, for that form only.
    let refused_if =
        |which: &dyn Fn(&Sent<'_>) -> bool| refusal.filter(|_| sent.is_some_and(which));
    let csrf = &signed.session.csrf_token;
    let next = doses
        .iter()
        .map(|d| d.dose.dose_number.get())
        .max()
        .unwrap_or(0)
        + 1;
    let base = format!("/records/{}", p.atena);
    let body = html! {
        @match said {
            Said::Nothing => {},
            Said::Notice(text) => p.notice role="status" #message { (text) },
            Said::Refused(_, r) => p.error role="alert" #message { (r.message) },
        }
        section.card #person {
            dl {
                dt { (Text::AtenaNumber.pick(ja)) } dd { (p.atena) }
                dt { (Text::Name.pick(ja)) } dd { (p.name.as_str()) }
                dt { (Text::KanaName.pick(ja)) } dd { (p.name_kana.as_str()) }
                dt { (Text::BirthDate.pick(ja)) } dd { (date(p.birth_date)) }
                dt { (Text::Sex.pick(ja)) } dd { (p.sex.label(ja)) }
                dt { (Text::CouponNumber.pick(ja)) } dd { (p.coupon.as_str()) }
                @if show_my_number {
                    dt { (Text::MyNumber.pick(ja)) } dd #my-number { (p.my_number) }
                }
                dt { (Text::Status.pick(ja)) } dd #flags { (flags(ja, p)) }
            }
        }
        h3 { (Text::Doses.pick(ja)) }
        @if doses.is_empty() {
            p #no-doses { (Text::NoDoseRecorded.pick(ja)) }
        } @else {
            table #doses {
                tr {
                    th { (Text::Dose.pick(ja)) } th { (Text::Date.pick(ja)) } th { (Text::Vaccine.pick(ja)) }
                    th { (Text::Lot.pick(ja)) } th { (Text::Site.pick(ja)) } th { (Text::Venue.pick(ja)) }
                    th { (Text::Source.pick(ja)) }
                }
                @for r in doses {
                    tr data-dose=(r.dose.dose_number) {
                        td { (r.dose.dose_number) }
                        td { (date(r.dose.administered_on)) }
                        td { (r.dose.product.label(ja)) }
                        td { (r.dose.lot_number.as_str()) }
                        td { (r.dose.site_municipality.info().full_name()) }
                        td { (r.venue) }
                        td {
                            (r.source.as_str())
                            @if let Some(from) = r.received_from {
                                "（" (Text::ReceivedFrom.pick(ja)) (from.info().full_name()) "）"
                            }
                        }
                    }
                }
            }
            @for r in doses {
                @let n = r.dose.dose_number.get();
                @let correcting = refused_if(&|s| matches!(s, Sent::CorrectDose(m, _) if *m == n));
                @let deleting = refused_if(&|s| matches!(s, Sent::DeleteDose(m, _) if *m == n));
                @let prefix = format!("dose{n}");
                @let values = match sent {
                    Some(Sent::CorrectDose(m, f)) if *m == n => DoseValues::sent(f),
                    _ => DoseValues::stored(r),
                };
                details.card open[correcting.is_some() || deleting.is_some()] {
                    summary { (n) (Text::CorrectOrDelete.pick(ja)) }
                    form method="post" novalidate action={ (base) "/doses/" (n) "/correct" } {
                        input type="hidden" name="csrf" value=(csrf);
                        (dose_fields(ja, &prefix, &values, correcting))
                        (reason_field(&format!("{prefix}-correct"), Text::ReasonForTheCorrection.pick(ja), "", correcting))
                        button.primary type="submit" { (Text::Correct.pick(ja)) }
                    }
                    form method="post" novalidate action={ (base) "/doses/" (n) "/delete" } {
                        input type="hidden" name="csrf" value=(csrf);
                        @let reason = match sent { Some(Sent::DeleteDose(m, reason)) if *m == n => *reason, _ => "" };
                        (reason_field(&format!("{prefix}-delete"), Text::ReasonForTheDeletion.pick(ja), reason, deleting))
                        button.danger type="submit" { (Text::Delete.pick(ja)) }
                    }
                }
            }
        }
        @let adding = refused_if(&|s| matches!(s, Sent::AddDose(_)));
        details.card #add-dose open[adding.is_some()] {
            summary { (Text::AddADose.pick(ja)) }
            form method="post" novalidate action={ (base) "/doses" } {
                input type="hidden" name="csrf" value=(csrf);
                @let values = match sent { Some(Sent::AddDose(f)) => DoseValues::sent(f), _ => DoseValues::new_dose(next) };
                (dose_fields(ja, "add", &values, adding))
                button.primary type="submit" { (Text::Add.pick(ja)) }
            }
        }
        @let flagging = refused_if(&|s| matches!(s, Sent::Flags(_)));
        details.card #set-flags open[flagging.is_some()] {
            summary { (Text::MovedOutDeceased.pick(ja)) }
            form method="post" novalidate action={ (base) "/flags" } {
                input type="hidden" name="csrf" value=(csrf);
                @let (moved, deceased) = match sent {
                    Some(Sent::Flags(f)) => (f.moved_out_on.clone(), f.deceased_on.clone()),
                    _ => (
                        p.moved_out_on.map(|d| d.to_string()).unwrap_or_default(),
                        p.deceased_on.map(|d| d.to_string()).unwrap_or_default(),
                    ),
                };
                (Input::new("flags", "moved_out_on", Text::MovedOutOnEmptyTo.pick(ja)).value(&moved).render(flagging))
                (Input::new("flags", "deceased_on", Text::DeceasedOnEmptyToClear.pick(ja)).value(&deceased).render(flagging))
                button.primary type="submit" { (Text::Save.pick(ja)) }
            }
        }
        @let issuing = refused_if(&|s| matches!(s, Sent::Certificate(_)));
        @let asked = match sent { Some(Sent::Certificate(f)) => Some(*f), _ => None };
        details.card #issue-certificate open[issuing.is_some()] {
            summary { (Text::IssueAVaccinationCertificate.pick(ja)) }
            p { (Text::IssuesACertificatePdfWith.pick(ja)) }
            form method="post" novalidate action={ (base) "/certificate" } {
                input type="hidden" name="csrf" value=(csrf);
                @let kind = asked.map_or("domestic", |f| f.kind.as_str());
                (form::select("cert", "kind", Text::Kind.pick(ja), html! {
                    option value="domestic" selected[kind == "domestic"] { (Text::ForUseInJapan.pick(ja)) }
                    option value="overseas" selected[kind == "overseas"] { (Text::ForOverseasUse.pick(ja)) }
                }, issuing))
                (Input::new("cert", "mrz1", Text::PassportMrzLine1Overseas.pick(ja))
                    .value(asked.map_or("", |f| f.mrz1.as_str())).maxlength(44).autocomplete("off").render(issuing))
                (Input::new("cert", "mrz2", Text::PassportMrzLine2Overseas.pick(ja))
                    .value(asked.map_or("", |f| f.mrz2.as_str())).maxlength(44).autocomplete("off").render(issuing))
                @let format = asked.map_or("pdf", |f| f.format.as_str());
                (form::select("cert", "format", Text::Format.pick(ja), html! {
                    option value="pdf" selected[format != "shc"] { (Text::PdfToPrint.pick(ja)) }
                    option value="shc" selected[format == "shc"] { (Text::SmartHealthCardFile.pick(ja)) }
                }, issuing))
                button.primary type="submit" #issue { (Text::Issue.pick(ja)) }
            }
        }
        @if !certificates.is_empty() {
            (issued_certificates(signed, &base, certificates))
        }
        @let deleting_person = refused_if(&|s| matches!(s, Sent::DeletePerson));
        details.card #delete-person open[deleting_person.is_some()] {
            summary { (Text::DeleteThisPersonSRecord.pick(ja)) }
            p { (Text::DeletesThePersonAndTheir.pick(ja)) }
            form method="post" novalidate action={ (base) "/delete" } {
                input type="hidden" name="csrf" value=(csrf);
                (reason_field("person-delete", Text::ReasonForTheDeletion.pick(ja), "", deleting_person))
                button.danger type="submit" { (Text::DeleteTheRecord.pick(ja)) }
            }
        }
        p { a href="/records" { (Text::BackToSearch.pick(ja)) } "　" a #print-view href={ (base) "/print" } { (Text::PrintView.pick(ja)) } }
    };
    layout(
        signed.lang,
        Text::VaccinationRecord.pick(ja),
        Some(signed),
        body,
    )
}

/// The person's certificates with their standing: re-issue (one action; an overseas one needs the
/// passport read again) and revoke (with a reason).
fn issued_certificates(
    signed: &Signed,
    base: &str,
    certificates: &[vrs_store::CertificateIssue],
) -> Markup {
    use vrs_store::CertificateStatus;
    let ja = signed.lang == Lang::Ja;
    let csrf = &signed.session.csrf_token;
    let jst = chrono::FixedOffset::east_opt(9 * 3600).unwrap_or_else(|| unreachable!());
    html! {
        section.card #certificates {
            h3 { (Text::CertificatesIssuedByUs.pick(ja)) }
            table {
                tr {
                    th { (Text::CertificateId.pick(ja)) } th { (Text::Issued.pick(ja)) }
                    th { (Text::Kind.pick(ja)) } th { (Text::Status.pick(ja)) } th { (Text::Actions.pick(ja)) }
                }
                @for c in certificates {
                    tr.certificate data-status=(c.status.as_str()) {
                        td.id { (c.certificate_id) }
                        td { (c.issued_at.with_timezone(&jst).format("%Y-%m-%d %H:%M")) }
                        td { (c.kind.label(ja)) }
                        td.status {
                            (c.status.label(ja))
                            @if !c.status_reason.is_empty() { br; small { (c.status_reason) } }
                        }
                        td {
                            form.reissue method="post" action={ (base) "/certificates/" (c.certificate_id) "/reissue" } {
                                input type="hidden" name="csrf" value=(csrf);
                                @if c.kind == vrs_domain::CertificateKind::Overseas {
                                    input name="mrz1" maxlength="44" size="46" autocomplete="off" placeholder=(Text::MrzLine1.pick(ja)) required;
                                    input name="mrz2" maxlength="44" size="46" autocomplete="off" placeholder=(Text::MrzLine2.pick(ja)) required;
                                }
                                button.secondary type="submit" { (Text::ReIssue.pick(ja)) }
                            }
                            @if c.status != CertificateStatus::Revoked {
                                form.revoke method="post" action={ (base) "/certificates/" (c.certificate_id) "/revoke" } {
                                    input type="hidden" name="csrf" value=(csrf);
                                    input name="reason" required placeholder=(Text::ReasonForRevoking.pick(ja));
                                    button.danger type="submit" { (Text::Revoke.pick(ja)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
