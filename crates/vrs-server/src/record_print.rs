//! A person's record as it is printed at the counter (`/records/{atena}/print`): the person, the
//! doses and the certificates issued, with who printed it and when — never the My Number, which
//! does not go onto paper. Opening it is a read of the person, audited like the record page.

use axum::extract::{Path, State};
use axum::response::Html;
use maud::html;
use vrs_core::access::{Action, Target};
use vrs_core::records::read_person;
use vrs_domain::{format_wareki, Labelled};
use vrs_store::Areas;

use crate::error::WebError;
use crate::i18n::{Lang, Text};
use crate::pages::layout;
use crate::records::{actor, own};
use crate::session::Signed;
use crate::AppState;

fn date(d: chrono::NaiveDate) -> String {
    format!("{}（{d}）", format_wareki(d))
}

pub async fn page(
    State(state): State<AppState>,
    signed: Signed,
    Path(atena): Path<String>,
) -> Result<Html<String>, WebError> {
    let own = own(&signed, Action::SearchPeople)?;
    signed.authorize(Action::ReadPerson, &Target::Person { home: own })?;
    let atena = vrs_domain::AtenaNumber::parse(&atena).map_err(|_| WebError::NotFound)?;
    let (p, doses) = read_person(state.store.as_ref(), &actor(&signed), own, &atena).await?;
    let certificates = state.store.area(own).person_certificates(&atena).await?;
    let ja = signed.lang == Lang::Ja;
    let printed = (chrono::Utc::now() + chrono::Duration::hours(9)).format("%Y-%m-%d %H:%M");
    let body = html! {
        p.screen-only { (Text::PrintWithTheBrowser.pick(ja)) " " a href={ "/records/" (p.atena) } { (Text::BackToTheRecord.pick(ja)) } }
        section.print-record #print {
            dl {
                dt { (Text::Municipality.pick(ja)) } dd { (p.municipality.info().full_name()) }
                dt { (Text::AtenaNumber.pick(ja)) } dd { (p.atena) }
                dt { (Text::Name.pick(ja)) } dd { (p.name.as_str()) }
                dt { (Text::KanaName.pick(ja)) } dd { (p.name_kana.as_str()) }
                dt { (Text::BirthDate.pick(ja)) } dd { (date(p.birth_date)) }
                dt { (Text::Sex.pick(ja)) } dd { (p.sex.label(ja)) }
                dt { (Text::CouponNumber.pick(ja)) } dd { (p.coupon.as_str()) }
            }
            h3 { (Text::Doses.pick(ja)) }
            @if doses.is_empty() {
                p { (Text::NoDoseRecorded.pick(ja)) }
            } @else {
                table #print-doses {
                    tr {
                        th { (Text::Dose.pick(ja)) } th { (Text::Date.pick(ja)) } th { (Text::Vaccine.pick(ja)) }
                        th { (Text::Lot.pick(ja)) } th { (Text::Site.pick(ja)) } th { (Text::Venue.pick(ja)) }
                    }
                    @for r in &doses {
                        tr {
                            td { (r.dose.dose_number) }
                            td { (date(r.dose.administered_on)) }
                            td { (r.dose.product.label(ja)) }
                            td { (r.dose.lot_number.as_str()) }
                            td { (r.dose.site_municipality.info().full_name()) }
                            td { (r.venue) }
                        }
                    }
                }
            }
            @if !certificates.is_empty() {
                h3 { (Text::IssuedCertificates.pick(ja)) }
                table #print-certificates {
                    tr { th { (Text::CertificateId.pick(ja)) } th { (Text::Kind.pick(ja)) } th { (Text::Status.pick(ja)) } }
                    @for c in &certificates {
                        tr {
                            td { (c.certificate_id) }
                            td { (c.kind.label(ja)) }
                            td { (c.status.label(ja)) }
                        }
                    }
                }
            }
            p.printed #printed-by {
                (Text::PrintedAt.pick(ja)) ": " (printed) " (JST)　"
                (Text::PrintedBy.pick(ja)) ": " (signed.account.display_name) "（" (signed.account.user_id) "）"
            }
        }
    };
    Ok(Html(
        layout(
            signed.lang,
            Text::RecordForPrinting.pick(ja),
            Some(&signed),
            body,
        )
        .into_string(),
    ))
}
