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
    let ja = lang == Lang::Ja;
    match what {
        Destructive::DeleteDose { atena, n } => (
            if ja {
                format!(
                    "宛名番号 {atena} の{n}回目の接種記録を削除します。削除した記録は元に戻せません（操作ログに内容が残ります）。この記録を述べる証明書は失効します。"
                )
            } else {
                format!(
                    "Dose {n} of 宛名番号 {atena} will be deleted. It cannot be restored (the audit log keeps what it said). Certificates stating it are revoked."
                )
            },
            format!("/records/{atena}"),
        ),
        Destructive::DeletePerson { atena } => (
            if ja {
                format!(
                    "宛名番号 {atena} の人の記録を、接種記録とともに削除します。元に戻せません（操作ログに残ります）。"
                )
            } else {
                format!(
                    "The record of 宛名番号 {atena} will be deleted with its doses. It cannot be restored (the audit log keeps it)."
                )
            },
            format!("/records/{atena}"),
        ),
        Destructive::RevokeCertificate { atena, certificate } => (
            if ja {
                format!(
                    "証明書 {certificate} を失効させます。失効した証明書は検証で無効と表示され、元に戻せません。"
                )
            } else {
                format!(
                    "Certificate {certificate} will be revoked. Verifiers will show it as not valid; this cannot be undone."
                )
            },
            format!("/records/{atena}"),
        ),
        Destructive::SwitchFunction { function, stop } => {
            let name = if ja { function.label_ja() } else { function.as_str() };
            let text = match (stop, ja) {
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
        Destructive::ApproveApplication { id } => (
            if ja {
                format!(
                    "申請 {id} を承認し、申請されたアカウントを発行します。初期パスワードは一度だけ表示されます。"
                )
            } else {
                format!(
                    "Application {id} will be approved and its accounts issued. Their initial passwords are shown once."
                )
            },
            "/operator/applications".to_owned(),
        ),
        Destructive::RejectApplication { id } => (
            if ja {
                format!("申請 {id} を却下します。")
            } else {
                format!("Application {id} will be rejected.")
            },
            "/operator/applications".to_owned(),
        ),
        Destructive::DisableAccount { user_id, disable } => (
            match (disable, ja) {
                (true, true) => format!(
                    "アカウント {user_id} の利用を停止します。ログイン中であれば直ちにログアウトされ、再開するまでログインできません。"
                ),
                (true, false) => format!(
                    "Account {user_id} will be stopped: its sessions end now and it cannot sign in until it is let in again."
                ),
                (false, true) => format!("アカウント {user_id} の利用を再開します。"),
                (false, false) => format!("Account {user_id} will be able to sign in again."),
            },
            "/admin/accounts".to_owned(),
        ),
        Destructive::ResetPassword { user_id } => (
            if ja {
                format!(
                    "アカウント {user_id} のパスワードを新しい初期パスワードにします。今のパスワードは使えなくなり、ログイン中であればログアウトされます。初期パスワードは一度だけ表示されます。"
                )
            } else {
                format!(
                    "Account {user_id} gets a new initial password: the current one stops working and its sessions end. The new one is shown once."
                )
            },
            "/admin/accounts".to_owned(),
        ),
    }
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
