//! Server-rendered pages (maud: every interpolation is escaped). Plain HTML forms, large touch
//! targets, no JavaScript: usable on a municipal PC and on a site tablet alike. The frame every
//! page shares is here; the menu, the assets, the account pages and the audit log are submodules.

use maud::{html, Markup, DOCTYPE};
use vrs_domain::Labelled;

use crate::form::{self, Input, Refusal};
use crate::i18n::{t, Lang, Text};
use crate::session::Signed;
use crate::terminal::Terminal;

mod accounts;
mod assets;
mod audit;
mod menu;
#[cfg(test)]
mod tests;

pub use accounts::{
    admin_applications, locked_accounts, operator_applications, unusual_coupon_reads,
};
pub use assets::{stylesheet, stylesheet_path, Asset};
pub use audit::{audit, AuditQuery, AUDIT_PAGE};
pub use menu::menu;

fn terminal_label(lang: Lang, terminal: Terminal) -> &'static str {
    match terminal {
        Terminal::Lgwan => t(lang, Text::Lgwan),
        Terminal::Internet => t(lang, Text::Internet),
    }
}

/// The language switch's link: back to the same page after the switch (its path only).
fn language_switch(lang: Lang, signed: Option<&Signed>) -> String {
    let target = format!("/lang/{}", lang.other().code());
    match signed.and_then(|s| s.back.as_deref()) {
        Some(back) => match serde_urlencoded::to_string([("back", back)]) {
            Ok(query) => format!("{target}?{query}"),
            Err(_) => target,
        },
        None => target,
    }
}

/// Where the page is: the menu, the menu's page this one belongs to (a person's record under the
/// search, a job under its list), and the page itself. The menu shows none.
fn breadcrumbs(lang: Lang, title: &str, signed: &Signed) -> Markup {
    if title == t(lang, Text::Menu) {
        return html! {};
    }
    let items = signed.principal().map(|p| menu(&p)).unwrap_or_default();
    let section = signed.back.as_deref().and_then(|path| {
        items
            .iter()
            .filter(|m| {
                path.strip_prefix(m.href)
                    .is_some_and(|rest| rest.starts_with('/') && rest.len() > 1)
            })
            .max_by_key(|m| m.href.len())
    });
    html! {
        nav.breadcrumbs aria-label=(t(lang, Text::YouAreHere)) {
            ol {
                li { a href="/" { (t(lang, Text::Menu)) } }
                @if let Some(m) = section {
                    li { a href=(m.href) { (t(lang, m.label)) } }
                }
                li aria-current="page" { (title) }
            }
        }
    }
}

pub fn layout(lang: Lang, title: &str, signed: Option<&Signed>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — " (t(lang, Text::SystemName)) }
                link rel="stylesheet" href=(stylesheet_path());
            }
            body {
                header {
                    h1 { a href="/" { (t(lang, Text::SystemName)) } }
                    @if let Some(s) = signed {
                        span.user data-role=(s.account.role) {
                            (s.account.display_name) " (" (s.account.user_id) ") · " (s.account.role.label(lang == Lang::Ja))
                        }
                        span.terminal data-terminal=(s.terminal.as_str()) {
                            (t(lang, Text::Terminal)) ": " (terminal_label(lang, s.terminal))
                        }
                    }
                    a href=(language_switch(lang, signed)) lang=(lang.other().code()) { (t(lang, Text::OtherLanguage)) }
                    @if let Some(s) = signed {
                        form method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(s.session.csrf_token);
                            button type="submit" { (t(lang, Text::SignOut)) }
                        }
                    }
                }
                main {
                    @if let Some(s) = signed { (breadcrumbs(lang, title, s)) }
                    h2 { (title) }
                    (body)
                }
                footer {
                    a href="/help" { (t(lang, Text::Help)) }
                    " · "
                    span { (t(lang, Text::SystemName)) " " (env!("CARGO_PKG_VERSION")) }
                }
            }
        }
    }
}

pub fn login(lang: Lang, csrf: &str, error: Option<&str>) -> Markup {
    layout(
        lang,
        t(lang, Text::SignIn),
        None,
        html! {
            form.card method="post" action="/login" {
                @if let Some(e) = error { p.error role="alert" { (e) } }
                input type="hidden" name="csrf" value=(csrf);
                (Input::new("", "user_id", t(lang, Text::UserId)).autocomplete("username").required().render(None))
                (Input::new("", "password", t(lang, Text::Password)).password("current-password").required().render(None))
                button.primary type="submit" { (t(lang, Text::SignIn)) }
            }
        },
    )
}

pub fn password(lang: Lang, signed: &Signed, refused: Option<&Refusal>) -> Markup {
    layout(
        lang,
        t(lang, Text::ChangePassword),
        Some(signed),
        html! {
            form.card method="post" action="/password" novalidate {
                @if signed.account.must_change_password { p.notice { (t(lang, Text::MustChangePassword)) } }
                (form::summary("", refused))
                p #password-rules { (t(lang, Text::PasswordRules)) }
                input type="hidden" name="csrf" value=(signed.session.csrf_token);
                (Input::new("", "current", t(lang, Text::CurrentPassword)).password("current-password").required().render(refused))
                (Input::new("", "new", t(lang, Text::NewPassword)).password("new-password").required().render(refused))
                (Input::new("", "again", t(lang, Text::NewPasswordAgain)).password("new-password").required().render(refused))
                button.primary type="submit" { (t(lang, Text::ChangePassword)) }
            }
        },
    )
}

pub fn home(lang: Lang, signed: &Signed, terms_awaiting: &[vrs_domain::TermsKind]) -> Markup {
    let ja = lang == Lang::Ja;
    layout(
        lang,
        t(lang, Text::Menu),
        Some(signed),
        html! {
            @if !terms_awaiting.is_empty() {
                p.notice #terms-awaiting role="status" {
                    (Text::NewTermsAwaitAgreement.pick(ja))
                    @for (i, kind) in terms_awaiting.iter().enumerate() {
                        @if i > 0 { "、" }
                        (kind.label(ja))
                    }
                    " — " a href="/terms" { (Text::ReadAndAgree.pick(ja)) }
                }
            }
            nav.menu data-role=(signed.account.role) {
                ul {
                    @for item in signed.principal().map(|p| menu(&p)).unwrap_or_default() {
                        li { a href=(item.href) { (item.label.pick(ja)) } }
                    }
                }
            }
        },
    )
}
