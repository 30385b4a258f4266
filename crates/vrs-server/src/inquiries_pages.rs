//! The inquiry pages: the single inquiry with its answer, the bulk inquiry job, and the provision
//! records. No page shows a My Number: the form field is write-only and answers name people by
//! the own municipality's 宛名番号.

use maud::{html, Markup};
use vrs_core::inquiry::bulk::{BulkOutcome, BulkReport};
use vrs_core::inquiry::InquiryAnswer;
use vrs_domain::{format_wareki, Labelled, VaccineProduct};
use vrs_store::{InquiryJob, ProvidedDose, ProvisionRecord};

use crate::form::{Input, Refusal};
use crate::i18n::{Lang, Text};
use crate::pages::layout;
use crate::session::Signed;

fn jst(at: chrono::DateTime<chrono::Utc>) -> String {
    (at + chrono::Duration::hours(9))
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn doses_table(ja: bool, doses: &[ProvidedDose]) -> Markup {
    html! {
        table.doses {
            tr {
                th { (Text::Dose.pick(ja)) } th { (Text::Date.pick(ja)) } th { (Text::Vaccine.pick(ja)) }
                th { (Text::Maker.pick(ja)) } th { (Text::Lot.pick(ja)) }
                th { (Text::Coupon.pick(ja)) } th { (Text::Site.pick(ja)) }
            }
            @for d in doses {
                @let product = VaccineProduct::by_code(&d.product_code);
                tr {
                    td { (d.dose_number) }
                    td { (format_wareki(d.administered_on)) "（" (d.administered_on) "）" }
                    td { (product.map_or(d.product_code.as_str(), |p| p.label(ja))) }
                    td { (product.map_or("", |p| p.manufacturer.label(ja))) }
                    td { (d.lot_number) }
                    td { (d.coupon.as_str()) }
                    td { (d.site_municipality.info().full_name()) }
                }
            }
        }
    }
}

fn answer(signed: &Signed, a: &InquiryAnswer) -> Markup {
    let ja = signed.lang == Lang::Ja;
    html! {
        section.card #answer data-found=(a.found) {
            h3 { (Text::Answer.pick(ja)) }
            p { (Text::InquiryId.pick(ja)) ": " span #inquiry-id { (a.inquiry_id) } }
            p { (Text::Asked.pick(ja)) ": " (a.former.info().full_name()) "（" (a.former) "）　"
                (Text::ConsentBasis.pick(ja)) ": " (a.consent.label(ja)) }
            @if !a.found {
                p.notice #not-found { (Text::NoRecordFound.pick(ja)) }
            } @else if a.doses.is_empty() {
                p.notice #no-doses { (Text::ThePersonIsThereWith.pick(ja)) }
            } @else {
                (doses_table(ja, &a.doses))
                @if let Some(atena) = &a.own_atena {
                    form method="post" action={ "/inquiries/" (a.inquiry_id) "/register" } {
                        input type="hidden" name="csrf" value=(signed.session.csrf_token);
                        p { (Text::OwnAtenaNumber.pick(ja)) ": " (atena) }
                        button #register type="submit" { (Text::RegisterTheseDosesInOur.pick(ja)) }
                    }
                } @else {
                    p.notice { (Text::NobodyWithThisMyNumber.pick(ja)) }
                }
            }
        }
    }
}

/// What a refused inquiry form sent, drawn again (never the My Number).
pub struct SentInquiry<'a> {
    pub former_municipality: &'a str,
    pub consent: bool,
}

pub fn inquiry(
    signed: &Signed,
    result: Option<&InquiryAnswer>,
    sent: Option<&SentInquiry<'_>>,
    refused: Option<&Refusal>,
    recent: &[ProvisionRecord],
) -> Markup {
    let ja = signed.lang == Lang::Ja;
    let body = html! {
        @if let Some(a) = result { (answer(signed, a)) }
        form.card #inquiry-form method="post" action="/inquiries" autocomplete="off" novalidate {
            @if let Some(r) = refused { p.error role="alert" #error { (r.message) } }
            p { (Text::EnterTheMoverSMy.pick(ja)) }
            input type="hidden" name="csrf" value=(signed.session.csrf_token);
            (Input::new("", "my_number", Text::MyNumber.pick(ja)).numeric().autocomplete("off").required().render(refused))
            (Input::new("", "former_municipality", Text::FormerMunicipalityCodeOrName.pick(ja))
                .value(sent.map_or("", |s| s.former_municipality)).list("municipalities").required().render(refused))
            datalist #municipalities {
                @for choice in vrs_domain::municipality::choices() { option value=(choice) {} }
            }
            label {
                input #consent type="checkbox" name="consent" value="1" checked[sent.is_some_and(|s| s.consent)];
                (Text::ThePersonConsentedNotNeeded.pick(ja))
            }
            button.primary #send type="submit" { (Text::Inquire.pick(ja)) }
        }
        p { a href="/inquiries/bulk" { (Text::BulkInquiry.pick(ja)) } "　" a href="/provisions" { (Text::ProvisionRecords.pick(ja)) } }
        h3 { (Text::RecentInquiries.pick(ja)) }
        (records_table(ja, recent))
    };
    layout(
        signed.lang,
        Text::InquiryToAnotherMunicipality.pick(ja),
        Some(signed),
        body,
    )
}

fn records_table(ja: bool, records: &[ProvisionRecord]) -> Markup {
    html! {
        @if records.is_empty() {
            p #no-records { (Text::NoRecords.pick(ja)) }
        } @else {
            table #records {
                tr {
                    th { (Text::InquiryId.pick(ja)) } th { (Text::Side.pick(ja)) } th { (Text::When.pick(ja)) }
                    th { (Text::OtherMunicipality.pick(ja)) } th { (Text::AskedBy.pick(ja)) }
                    th { (Text::ConsentBasis.pick(ja)) } th { (Text::AtenaNumber.pick(ja)) }
                    th { (Text::Result.pick(ja)) } th { (Text::DosesProvided.pick(ja)) }
                }
                @for r in records {
                    tr data-side=(r.side.as_str()) {
                        td { (r.inquiry_id) }
                        td { (r.side.label(ja)) }
                        td { (jst(r.at)) }
                        td { (r.counterpart.info().full_name()) "（" (r.counterpart) "）" }
                        td { (r.actor) }
                        td { (r.consent.label(ja)) }
                        td { (r.atena.as_ref().map(ToString::to_string).unwrap_or_default()) }
                        td { (if r.found { Text::Found.pick(ja) } else { Text::NotFound.pick(ja) }) }
                        td { (r.doses.iter().map(|d| d.dose_number.to_string()).collect::<Vec<_>>().join(",")) }
                    }
                }
            }
        }
    }
}

pub fn bulk(
    signed: &Signed,
    report: Option<&BulkReport>,
    error: Option<&str>,
    jobs: &[InquiryJob],
) -> Markup {
    let ja = signed.lang == Lang::Ja;
    let body = html! {
        @if let Some(r) = report {
            section.card #bulk-report {
                h3 { (Text::BulkInquiryResults.pick(ja)) " " (r.job.batch) }
                p #bulk-counts {
                    (Text::Rows.pick(ja)) " " (r.job.rows) "　" (Text::Found.pick(ja)) " " (r.job.found) "　"
                    (Text::NotFound.pick(ja)) " " (r.job.not_found) "　" (Text::Refused.pick(ja)) " " (r.job.refused) "　"
                    (Text::Invalid.pick(ja)) " " (r.job.invalid)
                }
                p { a #bulk-download href={ "/inquiries/bulk/" (r.job.batch) "/download" } { (Text::DownloadTheResultsCsv.pick(ja)) } }
                @if r.job.found > 0 { (register_all(signed, &r.job.batch)) }
                table #bulk-rows {
                    tr { th { (Text::Line.pick(ja)) } th { (Text::FormerMunicipality.pick(ja)) } th { (Text::Result.pick(ja)) } th { (Text::Detail.pick(ja)) } }
                    @for row in &r.rows {
                        tr data-line=(row.line) {
                            td { (row.line) }
                            td { (row.former.map(|f| f.to_string()).unwrap_or_default()) }
                            @match &row.outcome {
                                BulkOutcome::Found { doses, .. } => {
                                    td { (Text::Found.pick(ja)) }
                                    td { (doses.iter().map(|d| d.dose_number.to_string()).collect::<Vec<_>>().join(",")) }
                                }
                                BulkOutcome::NotFound => { td { (Text::NotFound.pick(ja)) } td {} }
                                BulkOutcome::Refused(m) => { td { (Text::Refused.pick(ja)) } td { (m) } }
                                BulkOutcome::Invalid(p) => { td { (Text::Invalid.pick(ja)) } td { (p.iter().map(|r| r.text(ja)).collect::<Vec<_>>().join(" / ")) } }
                            }
                        }
                    }
                }
            }
        }
        form.card method="post" action="/inquiries/bulk" enctype="multipart/form-data" {
            @if let Some(e) = error { p.error role="alert" #error { (e) } }
            p { (Text::ACsvOfMyNumber.pick(ja)) }
            input type="hidden" name="csrf" value=(signed.session.csrf_token);
            label { (Text::File.pick(ja)) input type="file" name="file" accept=".csv,text/csv" required; }
            label { (Text::Encoding.pick(ja))
                select name="encoding" {
                    option value="auto" selected { (Text::Detect.pick(ja)) }
                    option value="cp932" { "Shift_JIS (CP932)" }
                    option value="utf-8" { "UTF-8" }
                }
            }
            button.primary type="submit" { (Text::RunTheBulkInquiry.pick(ja)) }
        }
        h3 { (Text::EarlierBulkInquiries.pick(ja)) }
        @if jobs.is_empty() {
            p { (Text::NoneSentence.pick(ja)) }
        } @else {
            table #bulk-jobs {
                tr { th { (Text::Batch.pick(ja)) } th { (Text::When.pick(ja)) } th { (Text::Inquirer.pick(ja)) } th { (Text::Rows.pick(ja)) } th { (Text::FoundTitle.pick(ja)) } th {} }
                @for j in jobs {
                    tr {
                        td { (j.batch) } td { (jst(j.created_at)) } td { (j.created_by) } td { (j.rows) } td { (j.found) }
                        td {
                            a href={ "/inquiries/bulk/" (j.batch) "/download" } { "CSV" }
                            @if j.found > 0 { (register_all(signed, &j.batch)) }
                        }
                    }
                }
            }
        }
    };
    layout(signed.lang, Text::BulkInquiry.pick(ja), Some(signed), body)
}

/// The one-step registration of a batch's findings.
fn register_all(signed: &Signed, batch: &str) -> Markup {
    let ja = signed.lang == Lang::Ja;
    html! {
        form.register-all method="post" action={ "/inquiries/bulk/" (batch) "/register" } {
            input type="hidden" name="csrf" value=(signed.session.csrf_token);
            button.primary type="submit" { (Text::RegisterAllFound.pick(ja)) }
        }
    }
}

/// What registering a batch's findings did.
pub fn bulk_registered(
    signed: &Signed,
    batch: &str,
    done: &vrs_core::inquiry::bulk::BatchRegistered,
) -> Markup {
    let ja = signed.lang == Lang::Ja;
    let added: usize = done.registered.iter().map(|(_, r)| r.added.len()).sum();
    let body = html! {
        section.card #batch-registered {
            p.notice role="status" {
                (Text::PeopleRegistered.pick(ja)) " " span #registered-people { (done.registered.len()) }
                "　" (Text::DosesAdded.pick(ja)) " " span #registered-doses { (added) }
                "　" (Text::NotRegistered.pick(ja)) " " span #registered-refused { (done.refused.len()) }
            }
            @if !done.registered.is_empty() {
                div.table-scroll {
                    table #registered {
                        tr { th { (Text::InquiryId.pick(ja)) } th { (Text::AtenaNumber.pick(ja)) } th { (Text::DosesAdded.pick(ja)) } th { (Text::AlreadyStored.pick(ja)) } }
                        @for (id, r) in &done.registered {
                            tr {
                                td { (id) }
                                td { a href={ "/records/" (r.atena) } { (r.atena) } }
                                td { (r.added.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(",")) }
                                td { (r.unchanged.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(",")) }
                            }
                        }
                    }
                }
            }
            @if !done.refused.is_empty() {
                div.table-scroll {
                    table #not-registered {
                        tr { th { (Text::InquiryId.pick(ja)) } th { (Text::Reason.pick(ja)) } }
                        @for (id, e) in &done.refused {
                            tr { td { (id) } td { (crate::i18n::said(signed.lang, e)) } }
                        }
                    }
                }
            }
            p { a href="/inquiries/bulk" { (Text::BulkInquiry.pick(ja)) } }
        }
    };
    layout(
        signed.lang,
        &format!("{} {batch}", Text::RegisterAllFound.pick(ja)),
        Some(signed),
        body,
    )
}

pub fn provisions(
    signed: &Signed,
    side: &str,
    from: &str,
    to: &str,
    records: &[ProvisionRecord],
) -> Markup {
    let ja = signed.lang == Lang::Ja;
    let query = format!("side={side}&from={from}&to={to}");
    let body = html! {
        form.card.search method="get" action="/provisions" {
            label { (Text::Side.pick(ja))
                select name="side" {
                    option value="" selected[side.is_empty()] { (Text::Both.pick(ja)) }
                    option value="inquired" selected[side == "inquired"] { (Text::InquiredWeAsked.pick(ja)) }
                    option value="provided" selected[side == "provided"] { (Text::ProvidedOurRecordsGiven.pick(ja)) }
                }
            }
            label { (Text::From.pick(ja)) input name="from" value=(from) placeholder="令和8年11月1日 / 2026-11-01"; }
            label { (Text::To.pick(ja)) input name="to" value=(to); }
            button.primary type="submit" { (Text::Show.pick(ja)) }
        }
        p {
            a #download href={ "/provisions/download?" (query) } { (Text::DownloadCsvShiftJis.pick(ja)) } "　"
            a href={ "/provisions/download?" (query) "&encoding=utf-8" } { (Text::DownloadCsvUtf8.pick(ja)) }
        }
        (records_table(ja, records))
    };
    layout(
        signed.lang,
        Text::ProvisionRecords.pick(ja),
        Some(signed),
        body,
    )
}
