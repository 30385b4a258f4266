//! The help page (`/help`), linked from every page's footer: how the pages work, how dates and
//! refusals are shown, what confirmation and the My Number rules mean, and whom to ask. It needs no
//! session, so it is there before signing in as well.

use axum::response::Html;
use axum_extra::extract::CookieJar;
use maud::html;

use crate::i18n::{t, Lang, Text};
use crate::pages::layout;

pub async fn page(jar: CookieJar) -> Html<String> {
    let lang = Lang::from_cookies(&jar);
    let body = html! {
        section.card.help {
            p { (t(lang, Text::HelpIntro)) }
            h3 { (t(lang, Text::HelpUsing)) }
            ul {
                li { (t(lang, Text::HelpMenu)) }
                li { (t(lang, Text::HelpDates)) }
                li { (t(lang, Text::HelpErrors)) }
                li { (t(lang, Text::HelpDestructive)) }
                li { (t(lang, Text::HelpMyNumber)) }
            }
            h3 { (t(lang, Text::HelpContact)) }
            p { (t(lang, Text::HelpContactWho)) }
            p { a href="/" { (t(lang, Text::Menu)) } }
        }
    };
    Html(layout(lang, t(lang, Text::Help), None, body).into_string())
}
