//! The pages of accounts beside the municipal administrator's own list: locked accounts, unusual
//! coupon readers, and account applications from both sides.

use maud::{html, Markup};
use vrs_domain::Labelled;
use vrs_store::{Account, Application, ApplicationStatus};

use super::layout;
use crate::i18n::{Lang, Text};
use crate::session::Signed;

pub fn locked_accounts(lang: Lang, signed: &Signed, locked: &[Account]) -> Markup {
    let ja = lang == Lang::Ja;
    layout(
        lang,
        Text::LockedAccounts.pick(ja),
        Some(signed),
        html! {
            @if locked.is_empty() { p { (Text::NoAccountIsLocked.pick(ja)) } } @else {
                table.locked {
                    tr {
                        th { (Text::UserId.pick(ja)) } th { (Text::LockedUntil.pick(ja)) }
                        th { (Text::FailedLogins.pick(ja)) } th {}
                    }
                    @for a in locked {
                        tr {
                            td { (a.user_id) }
                            td { (a.locked_until.map(|u| u.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default()) }
                            td { (a.failed_logins) }
                            td {
                                form method="post" action={ "/operator/locks/" (a.user_id) "/unlock" } {
                                    input type="hidden" name="csrf" value=(signed.session.csrf_token);
                                    button.secondary type="submit" { (Text::Unlock.pick(ja)) }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// This hour's unusual coupon readers on this node: site accounts that hit the rate limit, or
/// whose reads mostly find no usable coupon.
pub fn unusual_coupon_reads(
    lang: Lang,
    signed: &Signed,
    unusual: &[(String, crate::limits::ReadStats)],
) -> Markup {
    let ja = lang == Lang::Ja;
    layout(
        lang,
        Text::UnusualCouponReads.pick(ja),
        Some(signed),
        html! {
            p { (Text::SiteAccountsThatInThis.pick(ja)) }
            @if unusual.is_empty() {
                p #no-unusual { (Text::NothingUnusual.pick(ja)) }
            } @else {
                table #unusual {
                    tr {
                        th { (Text::UserId.pick(ja)) }
                        th { (Text::Reads.pick(ja)) }
                        th { (Text::NoUsableCoupon.pick(ja)) }
                        th { (Text::RefusedAtTheLimit.pick(ja)) }
                    }
                    @for (account, s) in unusual {
                        tr { td { (account) } td { (s.reads) } td { (s.unknown) } td { (s.limited) } }
                    }
                }
            }
        },
    )
}

/// Where an application stands.
fn status_text(status: ApplicationStatus) -> Text {
    match status {
        ApplicationStatus::Pending => Text::ApplicationPending,
        ApplicationStatus::Approved => Text::ApplicationApproved,
        ApplicationStatus::Rejected => Text::ApplicationRejected,
    }
}

/// The municipal administrator's page: apply for an account, see the municipality's applications.
pub fn admin_applications(
    lang: Lang,
    signed: &Signed,
    list: &[Application],
    message: Option<&str>,
) -> Markup {
    let ja = lang == Lang::Ja;
    layout(
        lang,
        Text::ApplyForAccounts.pick(ja),
        Some(signed),
        html! {
            form.card method="post" action="/admin/applications" {
                @if let Some(m) = message { p.notice role="status" { (m) } }
                input type="hidden" name="csrf" value=(signed.session.csrf_token);
                label for="display_name" { (Text::NameAndSectionOfThe.pick(ja)) }
                input #display_name name="display_name" required maxlength="50";
                label for="role" { (Text::Role.pick(ja)) }
                select #role name="role" {
                    @for role in vrs_core::accounts::APPLICABLE_ROLES {
                        option value=(role) { (role.label(ja)) }
                    }
                }
                button.primary type="submit" { (Text::Apply.pick(ja)) }
            }
            table.applications {
                tr { th { "#" } th { (Text::NameAndAffiliation.pick(ja)) } th { (Text::Role.pick(ja)) }
                     th { (Text::Status.pick(ja)) } th { (Text::IssuedUserId.pick(ja)) } }
                @for a in list {
                    tr { td { (a.id) } td { (a.display_name) } td { (a.role.label(ja)) }
                         td { (status_text(a.status).pick(ja)) } td { (a.issued_user_id.as_ref().map_or("", |id| id.as_str())) } }
                }
            }
        },
    )
}

/// The national operator's page: pending applications with approve and reject.
pub fn operator_applications(
    lang: Lang,
    signed: &Signed,
    pending: &[Application],
    issued: Option<(&str, &str)>,
) -> Markup {
    let ja = lang == Lang::Ja;
    layout(
        lang,
        Text::AccountApplications.pick(ja),
        Some(signed),
        html! {
            @if let Some((user_id, secret)) = issued {
                section.card.issued role="status" {
                    p.notice { (Text::TheAccountWasIssuedThe.pick(ja)) }
                    p { (Text::UserIdLabel.pick(ja)) code.user-id { (user_id) } }
                    p { (Text::InitialPassword.pick(ja)) code.initial-password { (secret) } }
                }
            }
            @if pending.is_empty() { p { (Text::NoApplicationIsPending.pick(ja)) } }
            @else {
                table.applications {
                    tr { th { "#" } th { (Text::Municipality.pick(ja)) } th { (Text::NameAndAffiliation.pick(ja)) }
                         th { (Text::Role.pick(ja)) } th { (Text::Applicant.pick(ja)) } th {} }
                    @for a in pending {
                        tr {
                            td { (a.id) } td { (a.municipality) " " (a.municipality.info().name) } td { (a.display_name) }
                            td { (a.role.label(ja)) } td { (a.applicant) }
                            td {
                                form method="post" action={ "/operator/applications/" (a.id) "/approve" } {
                                    input type="hidden" name="csrf" value=(signed.session.csrf_token);
                                    button.primary type="submit" { (Text::Approve.pick(ja)) }
                                }
                                form method="post" action={ "/operator/applications/" (a.id) "/reject" } {
                                    input type="hidden" name="csrf" value=(signed.session.csrf_token);
                                    button.danger type="submit" { (Text::Reject.pick(ja)) }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}
