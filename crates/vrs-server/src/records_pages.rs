//! The record-management pages: person search and one person's record with their doses. Dates are
//! shown in 和暦 and Western form; the My Number appears only masked, and only on LG-WAN sessions.

use maud::{html, Markup};
use vrs_domain::{format_wareki, DoseRecord, Resident, VaccineProduct};

use crate::i18n::{Lang, Text};
use crate::pages::layout;
use crate::records::SearchQuery;
use crate::session::Signed;

fn date(d: chrono::NaiveDate) -> String {
    format!("{}（{d}）", format_wareki(d))
}

pub fn search(
    signed: &Signed,
    q: &SearchQuery,
    lgwan: bool,
    found: Option<&[Resident]>,
    error: Option<&str>,
) -> Markup {
    let ja = signed.lang == Lang::Ja;
    let body = html! {
        form.card.search method="post" action="/records" {
            @if let Some(e) = error { p.error role="alert" { (e) } }
            @if q.deleted.is_some() && error.is_none() {
                p.notice role="status" { (Text::PersonDeletedNotice.pick(ja)) }
            }
            input type="hidden" name="csrf" value=(signed.session.csrf_token);
            p { (Text::SearchByOneOfThese.pick(ja)) }
            label for="atena" { (Text::AtenaNumber.pick(ja)) }
            input #atena name="atena" value=(q.atena) inputmode="numeric";
            label for="coupon" { (Text::CouponNumber10DigitsOr.pick(ja)) }
            input #coupon name="coupon" value=(q.coupon) inputmode="numeric";
            label for="kana" { (Text::NameKana.pick(ja)) }
            input #kana name="kana" value=(q.kana) placeholder="サイジョウ　ハナコ";
            label for="birth" { (Text::BirthDate.pick(ja)) }
            input #birth name="birth" value=(q.birth) placeholder="昭和25年4月1日 / 1950-04-01";
            @if lgwan {
                label for="my_number" { (Text::MyNumberLgWanTerminals.pick(ja)) }
                input #my_number name="my_number" inputmode="numeric" autocomplete="off";
            }
            button type="submit" { (Text::Search.pick(ja)) }
        }
        @if let Some(people) = found {
            @if people.is_empty() {
                p.notice #no-result { (Text::NobodyMatches.pick(ja)) }
            } @else {
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
                            td { (if ja { p.sex.label_ja() } else { p.sex.label_en() }) }
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

fn flags(ja: bool, p: &Resident) -> String {
    let mut out = Vec::new();
    if let Some(from) = p.moved_in_from {
        let name = from.info().full_name();
        out.push(if ja {
            format!("転入（転入前: {name} {from}）")
        } else {
            format!("Moved in (from {name} {from})")
        });
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
            option value=(p.code) selected[p.code == selected] { (if ja { p.name_ja } else { p.name }) }
        }
    }
}

/// The fields of a dose form, filled from `dose` when correcting.
fn dose_fields(ja: bool, dose: Option<&DoseRecord>, next: u8) -> Markup {
    let d = dose.map(|r| &r.dose);
    html! {
        label { (Text::DoseNumber.pick(ja))
            input name="dose_number" inputmode="numeric" value=(d.map_or(next, |d| d.dose_number.get())); }
        label { (Text::DateGiven.pick(ja))
            input name="administered_on" value=(d.map(|d| d.administered_on.to_string()).unwrap_or_default()) placeholder="令和3年6月1日 / 2021-06-01"; }
        label { (Text::Vaccine.pick(ja))
            select name="product" { (product_options(d.map_or("", |d| d.product.code), ja)) } }
        label { (Text::LotNumber.pick(ja))
            input name="lot_number" value=(d.map(|d| d.lot_number.as_str().to_owned()).unwrap_or_default()); }
        label { (Text::SiteMunicipalityCode.pick(ja))
            input name="site" inputmode="numeric" value=(d.map(|d| d.site_municipality.to_string()).unwrap_or_default()); }
        label { (Text::VenueName.pick(ja))
            input name="venue" maxlength="30" value=(dose.map(|r| r.venue.as_str()).unwrap_or_default()); }
        label { (Text::Doctor.pick(ja))
            input name="doctor" maxlength="20" value=(dose.map(|r| r.doctor.as_str()).unwrap_or_default()); }
    }
}

pub fn person(
    signed: &Signed,
    p: &Resident,
    doses: &[DoseRecord],
    certificates: &[vrs_store::CertificateIssue],
    show_my_number: bool,
    message: Option<(bool, String)>,
) -> Markup {
    let ja = signed.lang == Lang::Ja;
    let csrf = &signed.session.csrf_token;
    let next = doses
        .iter()
        .map(|d| d.dose.dose_number.get())
        .max()
        .unwrap_or(0)
        + 1;
    let base = format!("/records/{}", p.atena);
    let body = html! {
        @if let Some((ok, text)) = &message {
            p role="alert" class=(if *ok { "notice" } else { "error" }) #message { (text) }
        }
        section.card #person {
            dl {
                dt { (Text::AtenaNumber.pick(ja)) } dd { (p.atena) }
                dt { (Text::Name.pick(ja)) } dd { (p.name.as_str()) }
                dt { (Text::KanaName.pick(ja)) } dd { (p.name_kana.as_str()) }
                dt { (Text::BirthDate.pick(ja)) } dd { (date(p.birth_date)) }
                dt { (Text::Sex.pick(ja)) } dd { (if ja { p.sex.label_ja() } else { p.sex.label_en() }) }
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
                        td { (if ja { r.dose.product.name_ja } else { r.dose.product.name }) }
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
                details.card {
                    summary { (r.dose.dose_number) (Text::CorrectOrDelete.pick(ja)) }
                    form method="post" action={ (base) "/doses/" (r.dose.dose_number) "/correct" } {
                        input type="hidden" name="csrf" value=(csrf);
                        (dose_fields(ja, Some(r), next))
                        label { (Text::ReasonForTheCorrection.pick(ja)) span.required aria-hidden="true" {} input name="reason" required; }
                        button type="submit" { (Text::Correct.pick(ja)) }
                    }
                    form method="post" action={ (base) "/doses/" (r.dose.dose_number) "/delete" } {
                        input type="hidden" name="csrf" value=(csrf);
                        label { (Text::ReasonForTheDeletion.pick(ja)) span.required aria-hidden="true" {} input name="reason" required; }
                        button.danger type="submit" { (Text::Delete.pick(ja)) }
                    }
                }
            }
        }
        details.card #add-dose {
            summary { (Text::AddADose.pick(ja)) }
            form method="post" action={ (base) "/doses" } {
                input type="hidden" name="csrf" value=(csrf);
                (dose_fields(ja, None, next))
                button type="submit" { (Text::Add.pick(ja)) }
            }
        }
        details.card #set-flags {
            summary { (Text::MovedOutDeceased.pick(ja)) }
            form method="post" action={ (base) "/flags" } {
                input type="hidden" name="csrf" value=(csrf);
                label { (Text::MovedOutOnEmptyTo.pick(ja))
                    input name="moved_out_on" value=(p.moved_out_on.map(|d| d.to_string()).unwrap_or_default()); }
                label { (Text::DeceasedOnEmptyToClear.pick(ja))
                    input name="deceased_on" value=(p.deceased_on.map(|d| d.to_string()).unwrap_or_default()); }
                button type="submit" { (Text::Save.pick(ja)) }
            }
        }
        details.card #issue-certificate {
            summary { (Text::IssueAVaccinationCertificate.pick(ja)) }
            p { (Text::IssuesACertificatePdfWith.pick(ja)) }
            form method="post" action={ (base) "/certificate" } {
                input type="hidden" name="csrf" value=(csrf);
                label { (Text::Kind.pick(ja))
                    select name="kind" {
                        option value="domestic" { (Text::ForUseInJapan.pick(ja)) }
                        option value="overseas" { (Text::ForOverseasUse.pick(ja)) }
                    }
                }
                label { (Text::PassportMrzLine1Overseas.pick(ja))
                    input name="mrz1" maxlength="44" size="46" autocomplete="off"; }
                label { (Text::PassportMrzLine2Overseas.pick(ja))
                    input name="mrz2" maxlength="44" size="46" autocomplete="off"; }
                label { (Text::Format.pick(ja))
                    select name="format" {
                        option value="pdf" { (Text::PdfToPrint.pick(ja)) }
                        option value="shc" { (Text::SmartHealthCardFile.pick(ja)) }
                    }
                }
                button type="submit" #issue { (Text::Issue.pick(ja)) }
            }
        }
        @if !certificates.is_empty() {
            (issued_certificates(signed, &base, certificates))
        }
        details.card #delete-person {
            summary { (Text::DeleteThisPersonSRecord.pick(ja)) }
            p { (Text::DeletesThePersonAndTheir.pick(ja)) }
            form method="post" action={ (base) "/delete" } {
                input type="hidden" name="csrf" value=(csrf);
                label { (Text::ReasonForTheDeletion.pick(ja)) span.required aria-hidden="true" {} input name="reason" required; }
                button.danger type="submit" { (Text::DeleteTheRecord.pick(ja)) }
            }
        }
        p { a href="/records" { (Text::BackToSearch.pick(ja)) } }
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
                        td { (if ja { c.kind.label_ja() } else { c.kind.label_en() }) }
                        td.status {
                            (if ja { c.status.label_ja() } else { c.status.as_str() })
                            @if !c.status_reason.is_empty() { br; small { (c.status_reason) } }
                        }
                        td {
                            form.reissue method="post" action={ (base) "/certificates/" (c.certificate_id) "/reissue" } {
                                input type="hidden" name="csrf" value=(csrf);
                                @if c.kind == vrs_domain::CertificateKind::Overseas {
                                    input name="mrz1" maxlength="44" size="46" autocomplete="off" placeholder=(Text::MrzLine1.pick(ja)) required;
                                    input name="mrz2" maxlength="44" size="46" autocomplete="off" placeholder=(Text::MrzLine2.pick(ja)) required;
                                }
                                button type="submit" { (Text::ReIssue.pick(ja)) }
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
