//! The municipality's own audit log: the search form, a page of entries, and the way to older ones.

use maud::{html, Markup};
use vrs_domain::Labelled;
use vrs_store::AuditRecord;

use super::{layout, terminal_label};
use crate::i18n::{t, Lang, Text};
use crate::session::Signed;
use crate::terminal::Terminal;

/// A time as Japan reads it, to the second (`2026-12-05 14:06:09`).
fn jst_seconds(at: chrono::DateTime<chrono::Utc>) -> String {
    (at + chrono::Duration::hours(9))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// The terminal an audit entry names: LG-WAN, the internet, or the server's own command line.
fn stored_terminal_label(lang: Lang, code: &str) -> &str {
    match (code, lang) {
        ("lgwan", _) => terminal_label(lang, Terminal::Lgwan),
        ("internet", _) => terminal_label(lang, Terminal::Internet),
        ("local", _) => t(lang, Text::TerminalLocal),
        (other, _) => other,
    }
}

/// The search form's values, echoed back.
#[derive(Default, serde::Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub action: String,
    /// The next page: entries older than this sequence number.
    #[serde(default)]
    pub before: Option<i64>,
}

/// Entries per page of the audit log.
pub const AUDIT_PAGE: u32 = 100;

impl AuditQuery {
    pub fn query_string(&self) -> String {
        let enc = |s: &str| {
            s.bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect::<String>()
        };
        format!(
            "from={}&to={}&actor={}&action={}",
            enc(&self.from),
            enc(&self.to),
            enc(&self.actor),
            enc(&self.action)
        )
    }
}

/// The municipality's own audit log: search by date, actor and action; CSV download.
pub fn audit(
    lang: Lang,
    signed: &Signed,
    query: &AuditQuery,
    found: &[AuditRecord],
    refused: Option<&crate::form::Refusal>,
) -> Markup {
    use crate::form::{summary, Input};
    let ja = lang == Lang::Ja;

    layout(
        lang,
        Text::SearchTheAuditLog.pick(ja),
        Some(signed),
        html! {
            form.card.search method="get" action="/audit" novalidate {
                (summary("", refused))
                (Input::new("", "from", Text::FromDate.pick(ja)).value(&query.from).placeholder("2026-11-01 / 令和8年11月1日").render(refused))
                (Input::new("", "to", Text::ToDateInclusive.pick(ja)).value(&query.to).render(refused))
                (Input::new("", "actor", Text::UserId.pick(ja)).value(&query.actor).render(refused))
                label for="action" { (Text::Action.pick(ja)) }
                select #action name="action" {
                    option value="" selected[query.action.is_empty()] { (Text::EveryAction.pick(ja)) }
                    @for a in vrs_domain::AuditAction::ALL {
                        option value=(a.as_str()) selected[query.action == a.as_str()] {
                            (a.label(ja)) " (" (a.as_str()) ")"
                        }
                    }
                    // A name no longer written (an older log) can still be searched.
                    @if !query.action.is_empty() && vrs_domain::AuditAction::parse(&query.action).is_none() {
                        option value=(query.action) selected { (query.action) }
                    }
                }
                button.primary type="submit" { (Text::Search.pick(ja)) }
            }
            @if refused.is_none() {
                p { a.csv href={ "/audit.csv?" (query.query_string()) } { (Text::DownloadAsCsv.pick(ja)) } }
                p.count #audit-count {
                    @match (found.first(), found.last()) {
                        (Some(newest), Some(oldest)) => {
                            (found.len()) (Text::EntriesShown.pick(ja)) " (#" (newest.seq) "–#" (oldest.seq) ")"
                        }
                        _ => { (Text::NoEntries.pick(ja)) }
                    }
                }
                div.table-scroll {
                table.audit {
                    tr { th { "#" } th { (Text::TimeJst.pick(ja)) } th { (Text::User.pick(ja)) }
                         th { (Text::Terminal.pick(ja)) } th { (Text::Action.pick(ja)) }
                         th { (Text::ActionCode.pick(ja)) }
                         th { (Text::Target.pick(ja)) } th { (Text::Outcome.pick(ja)) }
                         th { (Text::BeforeAndAfter.pick(ja)) } }
                    @for r in found {
                        @let action = vrs_domain::AuditAction::parse(&r.entry.action);
                        tr { td { (r.seq) } td { (jst_seconds(r.entry.at)) } td { (r.entry.actor) }
                             td { (stored_terminal_label(lang, &r.entry.terminal)) }
                             td { @if let Some(a) = action { (a.label(ja)) } }
                             td { (r.entry.action) } td { (r.entry.target) } td { (r.entry.outcome) }
                             td.detail {
                                 @if !r.entry.detail.is_empty() {
                                     details { summary { (Text::Show.pick(ja)) } pre { (r.entry.detail) } }
                                 }
                             } }
                    }
                }
                }
                nav.paging {
                    @if query.before.is_some() {
                        a #audit-newest href={ "/audit?" (query.query_string()) } { (Text::BackToTheNewest.pick(ja)) }
                        " "
                    }
                    @if let (true, Some(oldest)) = (found.len() as u32 == AUDIT_PAGE, found.last()) {
                        a #audit-older href={ "/audit?" (query.query_string()) "&before=" (oldest.seq) } {
                            (Text::OlderEntries.pick(ja))
                        }
                    }
                }
            }
        },
    )
}
