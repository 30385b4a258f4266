//! Confirm before destroying: a form that deletes, revokes, stops or approves is first answered,
//! once the viewer may do it, with a page that says what will happen — in the frame, not a browser
//! alert — and sends the same fields again with `confirmed=1` from a danger button, or goes back.
//! Only the second post acts. A script that means it sends `confirmed=1` at once.

use axum::response::{Html, IntoResponse, Response};
use maud::html;
use vrs_domain::Function;

use crate::i18n::{t, Lang, Phrase, Text};
use crate::pages::layout;
use crate::session::Signed;

/// A form that cannot be taken back, with what it acts on: the confirmation page says it from
/// these values, and goes back to where the form was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destructive<'a> {
    DeleteDose {
        atena: &'a str,
        n: u8,
    },
    DeletePerson {
        atena: &'a str,
    },
    RevokeCertificate {
        atena: &'a str,
        certificate: &'a str,
    },
    SwitchFunction {
        function: Function,
        stop: bool,
    },
    ApproveApplication {
        id: i64,
    },
    RejectApplication {
        id: i64,
    },
    /// A municipality's administrator stops (or lets again) one of its accounts.
    DisableAccount {
        user_id: &'a str,
        disable: bool,
    },
    /// A municipality's administrator gives one of its accounts a new initial password.
    ResetPassword {
        user_id: &'a str,
    },
}

/// The confirmation page for `what`, whose form posts to `path`, unless the form says
/// `confirmed=1`. Call it after the request's own checks (session, CSRF, access) and before
/// anything changes. `fields` are the form's fields to send again.
pub fn unless_confirmed(
    signed: &Signed,
    what: Destructive<'_>,
    path: &str,
    fields: &[(&str, &str)],
    confirmed: Option<&str>,
) -> Option<Response> {
    // A blank reason is refused by the service itself: nothing to confirm yet.
    let blank_reason = fields
        .iter()
        .any(|(name, value)| *name == "reason" && value.trim().is_empty());
    (confirmed != Some("1") && !blank_reason)
        .then(|| page(signed.lang, Some(signed), what, path, fields).into_response())
}

/// What the page says will happen, and where "back" goes.
fn statement(lang: Lang, what: Destructive<'_>) -> (String, String) {
    let (said, back) = match &what {
        Destructive::DeleteDose { atena, n } => (
            Phrase::ConfirmDeleteDose(atena, n),
            format!("/records/{atena}"),
        ),
        Destructive::DeletePerson { atena } => (
            Phrase::ConfirmDeletePerson(atena),
            format!("/records/{atena}"),
        ),
        Destructive::RevokeCertificate { atena, certificate } => (
            Phrase::ConfirmRevokeCertificate(certificate),
            format!("/records/{atena}"),
        ),
        Destructive::SwitchFunction { function, stop } => {
            // In English a function is named by its code, as `Display` writes it.
            let label = function.label_ja();
            let said = if *stop {
                Phrase::ConfirmStopFunction(&label, function)
            } else {
                Phrase::ConfirmResumeFunction(&label, function)
            };
            return (said.text(lang), "/operator/functions".to_owned());
        }
        Destructive::ApproveApplication { id } => (
            Phrase::ConfirmApproveApplication(id),
            "/operator/applications".to_owned(),
        ),
        Destructive::RejectApplication { id } => (
            Phrase::ConfirmRejectApplication(id),
            "/operator/applications".to_owned(),
        ),
        Destructive::DisableAccount { user_id, disable } => (
            if *disable {
                Phrase::ConfirmDisableAccount(user_id)
            } else {
                Phrase::ConfirmEnableAccount(user_id)
            },
            "/admin/accounts".to_owned(),
        ),
        Destructive::ResetPassword { user_id } => (
            Phrase::ConfirmResetPassword(user_id),
            "/admin/accounts".to_owned(),
        ),
    };
    (said.text(lang), back)
}

fn page(
    lang: Lang,
    signed: Option<&Signed>,
    what: Destructive<'_>,
    path: &str,
    fields: &[(&str, &str)],
) -> Html<String> {
    let ja = lang == Lang::Ja;
    let field = |name: &str| fields.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    let (said, back) = statement(lang, what);
    let reason = field("reason").filter(|r| !r.trim().is_empty());
    let body = html! {
        section.card.confirm role="alertdialog" aria-labelledby="confirm-what" {
            p #confirm-what .confirm-what { (said) }
            @if let Some(reason) = reason {
                p { (Text::ReasonColon.pick(ja)) (reason) }
            }
            form method="post" action=(path) {
                @for (name, value) in fields {
                    input type="hidden" name=(name) value=(value);
                }
                input type="hidden" name="confirmed" value="1";
                button.danger type="submit" { (Text::YesDoIt.pick(ja)) }
                " "
                a.button.secondary href=(back) { (Text::NoGoBack.pick(ja)) }
            }
        }
    };
    Html(layout(lang, t(lang, Text::ConfirmTitle), signed, body).into_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_restates_the_target_and_carries_the_form_again() {
        let fields = [("csrf", "t0k3n"), ("reason", "二重登録")];
        let html = page(
            Lang::Ja,
            None,
            Destructive::DeleteDose {
                atena: "100001",
                n: 2,
            },
            "/records/100001/doses/2/delete",
            &fields,
        )
        .0;
        assert!(
            html.contains("宛名番号 100001 の2回目の接種記録を削除します"),
            "{html}"
        );
        assert!(html.contains("name=\"csrf\" value=\"t0k3n\""), "{html}");
        assert!(html.contains("name=\"confirmed\" value=\"1\""), "{html}");
        assert!(html.contains("二重登録"), "{html}");
        assert!(html.contains("href=\"/records/100001\""), "{html}");
        let stop = [("stop", "1")];
        let html = page(
            Lang::En,
            None,
            Destructive::SwitchFunction {
                function: Function::parse("tablet_registration").unwrap(),
                stop: true,
            },
            "/operator/functions/tablet_registration",
            &stop,
        )
        .0;
        assert!(html.contains("will stop at once, nationwide"), "{html}");
    }
}
