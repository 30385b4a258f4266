//! Confirm before destroying: a form that deletes, revokes, stops or approves is first answered,
//! once the viewer may do it, with a page that says what will happen — in the frame, not a browser
//! alert — and sends the same fields again with `confirmed=1` from a danger button, or goes back.
//! Only the second post acts. A script that means it sends `confirmed=1` at once.

use axum::response::{Html, IntoResponse, Response};
use maud::html;
use vrs_domain::Function;

use crate::i18n::{t, Lang, Text};
use crate::pages::layout;
use crate::session::Signed;

/// A form that cannot be taken back, as its confirmation page names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destructive {
    DeleteDose,
    DeletePerson,
    RevokeCertificate,
    SwitchFunction,
    ApproveApplication,
    RejectApplication,
}

/// The confirmation page for `what` at `path`, unless the form says `confirmed=1`. Call it after
/// the request's own checks (session, CSRF, access) and before anything changes. `fields` are the
/// form's fields to send again.
pub fn unless_confirmed(
    signed: &Signed,
    what: Destructive,
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

/// The path's segments (`/records/{atena}/doses/{n}/delete` → records, atena, doses, n, delete).
fn segments(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

/// What the page says will happen, and where "back" goes.
fn statement(lang: Lang, what: Destructive, path: &str, stop: Option<&str>) -> (String, String) {
    let ja = lang == Lang::Ja;
    let s = segments(path);
    let at = |i: usize| s.get(i).copied().unwrap_or_default();
    let person = format!("/records/{}", at(1));
    match what {
        Destructive::DeleteDose => (
            if ja {
                format!(
                    "宛名番号 {} の{}回目の接種記録を削除します。削除した記録は元に戻せません（操作ログに内容が残ります）。この記録を述べる証明書は失効します。",
                    at(1),
                    at(3)
                )
            } else {
                format!(
                    "Dose {} of 宛名番号 {} will be deleted. It cannot be restored (the audit log keeps what it said). Certificates stating it are revoked.",
                    at(3),
                    at(1)
                )
            },
            person,
        ),
        Destructive::DeletePerson => (
            if ja {
                format!(
                    "宛名番号 {} の人の記録を、接種記録とともに削除します。元に戻せません（操作ログに残ります）。",
                    at(1)
                )
            } else {
                format!(
                    "The record of 宛名番号 {} will be deleted with its doses. It cannot be restored (the audit log keeps it).",
                    at(1)
                )
            },
            person,
        ),
        Destructive::RevokeCertificate => (
            if ja {
                format!(
                    "証明書 {} を失効させます。失効した証明書は検証で無効と表示され、元に戻せません。",
                    at(3)
                )
            } else {
                format!(
                    "Certificate {} will be revoked. Verifiers will show it as not valid; this cannot be undone.",
                    at(3)
                )
            },
            person,
        ),
        Destructive::SwitchFunction => {
            let function = Function::parse(at(2));
            let name = function.map_or(at(2), |f| if ja { f.label_ja() } else { f.as_str() });
            let text = match (stop == Some("1"), ja) {
                (true, true) => format!(
                    "機能「{name}」を全国で直ちに停止します。再開するまで、全ての自治体と会場でこの機能が使えません。"
                ),
                (true, false) => format!(
                    "The function \"{name}\" will stop at once, nationwide: no municipality or site can use it until it is resumed."
                ),
                (false, true) => format!("機能「{name}」を全国で再開します。"),
                (false, false) => format!("The function \"{name}\" will resume nationwide."),
            };
            (text, "/operator/functions".to_owned())
        }
        Destructive::ApproveApplication => (
            if ja {
                format!(
                    "申請 {} を承認し、申請されたアカウントを発行します。初期パスワードは一度だけ表示されます。",
                    at(2)
                )
            } else {
                format!(
                    "Application {} will be approved and its accounts issued. Their initial passwords are shown once.",
                    at(2)
                )
            },
            "/operator/applications".to_owned(),
        ),
        Destructive::RejectApplication => (
            if ja {
                format!("申請 {} を却下します。", at(2))
            } else {
                format!("Application {} will be rejected.", at(2))
            },
            "/operator/applications".to_owned(),
        ),
    }
}

fn page(
    lang: Lang,
    signed: Option<&Signed>,
    what: Destructive,
    path: &str,
    fields: &[(&str, &str)],
) -> Html<String> {
    let ja = lang == Lang::Ja;
    let field = |name: &str| fields.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    let (said, back) = statement(lang, what, path, field("stop"));
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
            Destructive::DeleteDose,
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
            Destructive::SwitchFunction,
            "/operator/functions/tablet_registration",
            &stop,
        )
        .0;
        assert!(html.contains("will stop at once, nationwide"), "{html}");
    }
}
