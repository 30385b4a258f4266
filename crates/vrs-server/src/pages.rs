//! Server-rendered pages (maud: every interpolation is escaped). Plain HTML forms, large touch
//! targets, no JavaScript: usable on a municipal PC and on a site tablet alike.

use maud::{html, Markup, DOCTYPE};
use vrs_core::access::{decide, Action, Principal, Role, Target};
use vrs_store::{Account, Application, ApplicationStatus, AuditRecord};

use crate::form::{self, Input, Refusal};
use crate::i18n::{t, Lang, Text};
use crate::session::Signed;
use crate::terminal::Terminal;

/// The stylesheet (style.css), one file for every page.
pub(crate) const STYLE: &str = include_str!("style.css");

/// The QR decoder the tablet's camera uses (jsQR 1.4.0, Apache-2.0, `vendor/jsQR-LICENSE`),
/// served from this server like everything the pages load: a site's tablet reaches no CDN.
pub(crate) const QR_DECODER: &str = include_str!("vendor/jsQR-1.4.0.js");

/// The script that shows an upload's progress (`uploads::progress`).
pub(crate) const UPLOAD_JS: &str = include_str!("upload.js");

/// What `/static/` serves: the stylesheet, the QR decoder and the upload script.
#[derive(Clone, Copy)]
pub enum Asset {
    Style,
    QrDecoder,
    UploadProgress,
}

impl Asset {
    const ALL: [Asset; 3] = [Asset::Style, Asset::QrDecoder, Asset::UploadProgress];

    fn parts(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            Asset::Style => ("vrs", "css", "text/css; charset=utf-8", STYLE),
            Asset::QrDecoder => ("jsqr", "js", "text/javascript; charset=utf-8", QR_DECODER),
            Asset::UploadProgress => ("upload", "js", "text/javascript; charset=utf-8", UPLOAD_JS),
        }
    }

    /// Where the asset is served: its name carries a hash of its content, so it may be cached for
    /// good and a new version is fetched at once.
    pub fn path(self) -> &'static str {
        static PATHS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
        let paths = PATHS.get_or_init(|| {
            Asset::ALL
                .iter()
                .map(|a| {
                    let (name, ext, _, content) = a.parts();
                    // Two groups of six hex digits: never a run of twelve digits, which looks
                    // like a My Number to whatever scans URLs and logs for one (the tests do).
                    let digest = vrs_crypto::sha256(content.as_bytes());
                    let (x, y) = (hex::encode(&digest[..3]), hex::encode(&digest[3..6]));
                    format!("/static/{name}.{x}-{y}.{ext}")
                })
                .collect()
        });
        &paths[self as usize]
    }
}

/// Where the stylesheet is served.
pub fn stylesheet_path() -> &'static str {
    Asset::Style.path()
}

/// `GET /static/{name}`: an asset under its current name; any other name is not found.
pub async fn stylesheet(
    axum::extract::Path(name): axum::extract::Path<String>,
) -> axum::response::Response {
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    let asked = format!("/static/{name}");
    let Some(asset) = Asset::ALL.into_iter().find(|a| a.path() == asked) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (_, _, content_type, content) = asset.parts();
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        content,
    )
        .into_response()
}

/// The label of a role.
pub fn role_label(lang: Lang, role: Role) -> &'static str {
    match lang {
        Lang::Ja => role.label_ja(),
        Lang::En => role.label_en(),
    }
}

/// A menu entry: label in both languages, where it goes, and what its page needs — the action,
/// on which target — so the menu shows exactly the pages the access rules let the viewer open
/// from the terminal in use.
pub struct MenuItem {
    pub ja: &'static str,
    pub en: &'static str,
    pub href: &'static str,
    /// `None` for a page every account has.
    needs: Option<(Action, On)>,
}

/// The target a menu page acts on, from the viewer's own account.
#[derive(Clone, Copy)]
enum On {
    /// The viewer's area: its municipality, prefecture or the nation.
    Area,
    /// The viewer's own municipality (a page of municipal accounts only).
    OwnMunicipality,
    /// A person of the viewer's municipality.
    OwnPerson,
    /// An inquiry sent from the viewer's municipality.
    OwnInquiry,
}

const fn item(
    ja: &'static str,
    en: &'static str,
    href: &'static str,
    needs: Action,
    on: On,
) -> MenuItem {
    MenuItem {
        ja,
        en,
        href,
        needs: Some((needs, on)),
    }
}

/// Every page a menu may offer, in the order menus show them.
const MENU: [MenuItem; 21] = [
    item(
        "アカウントの利用申請",
        "Apply for accounts",
        "/admin/applications",
        Action::ApplyForAccounts,
        On::OwnMunicipality,
    ),
    item(
        "アカウントの管理",
        "Accounts",
        "/admin/accounts",
        Action::ManageAccounts,
        On::OwnMunicipality,
    ),
    item(
        "接種記録の管理",
        "Vaccination records",
        "/records",
        Action::SearchPeople,
        On::OwnMunicipality,
    ),
    item(
        "対象者の一括登録",
        "Import targets",
        "/targets/import",
        Action::ImportTargets,
        On::OwnMunicipality,
    ),
    item(
        "接種記録の一括登録",
        "Import doses",
        "/doses/import",
        Action::ImportDoses,
        On::OwnMunicipality,
    ),
    item(
        "接種記録のダウンロード",
        "Download doses",
        "/doses/export",
        Action::ExportRecords,
        On::OwnMunicipality,
    ),
    item(
        "接種証明書の発行履歴",
        "Certificates issued",
        "/certificates",
        Action::SearchPeople,
        On::OwnMunicipality,
    ),
    item(
        "重複者の確認",
        "Duplicate people",
        "/duplicates",
        Action::CorrectPerson,
        On::OwnPerson,
    ),
    item(
        "他自治体への接種記録照会",
        "Inquiry to another municipality",
        "/inquiries",
        Action::SendInquiry,
        On::OwnInquiry,
    ),
    item(
        "一括照会",
        "Bulk inquiry",
        "/inquiries/bulk",
        Action::SendInquiry,
        On::OwnInquiry,
    ),
    item(
        "情報提供等の記録",
        "Provision records",
        "/provisions",
        Action::ReadProvisionRecords,
        On::OwnMunicipality,
    ),
    item(
        "確認事項",
        "Terms",
        "/terms",
        Action::ReadTerms,
        On::OwnMunicipality,
    ),
    item(
        "接種状況の統計",
        "Vaccination statistics",
        "/statistics",
        Action::ReadStatistics,
        On::Area,
    ),
    item(
        "操作ログの検索",
        "Search the audit log",
        "/audit",
        Action::ReadAuditLog,
        On::OwnMunicipality,
    ),
    item(
        "バックアップ",
        "Backup",
        "/admin/backup",
        Action::BackupArea,
        On::OwnMunicipality,
    ),
    item(
        "アカウント申請の審査",
        "Account applications",
        "/operator/applications",
        Action::ApproveAccounts,
        On::Area,
    ),
    item(
        "ロック中のアカウント（不正ログインの通知）",
        "Locked accounts (intrusion notices)",
        "/operator/locks",
        Action::ApproveAccounts,
        On::Area,
    ),
    item(
        "接種券の読み取りの異常（会場タブレット）",
        "Unusual coupon reads (site tablets)",
        "/operator/coupon-reads",
        Action::ApproveAccounts,
        On::Area,
    ),
    item(
        "確認事項の公開",
        "Publish terms",
        "/operator/terms",
        Action::PublishTerms,
        On::Area,
    ),
    item(
        "機能の緊急停止",
        "Emergency stop",
        "/operator/functions",
        Action::EmergencyStop,
        On::Area,
    ),
    item(
        "接種登録（タブレット）",
        "Register a dose (tablet)",
        "/tablet",
        Action::RegisterDose,
        On::OwnPerson,
    ),
];

const PASSWORD_ITEM: MenuItem = MenuItem {
    ja: "パスワード変更",
    en: "Change password",
    href: "/password",
    needs: None,
};

/// The menu of a signed-in viewer: the pages its role may open from its terminal, then the
/// password change every account has.
pub fn menu(principal: &Principal) -> Vec<&'static MenuItem> {
    let target = |on: On| -> Option<Target> {
        let own = principal.municipality;
        Some(match on {
            On::Area => match (own, principal.prefecture) {
                (Some(m), _) => Target::Municipality(m),
                (None, Some(p)) => Target::Prefecture(p),
                (None, None) => Target::Nation,
            },
            On::OwnMunicipality => Target::Municipality(own?),
            On::OwnPerson => Target::Person { home: own? },
            On::OwnInquiry => Target::Inquiry {
                requester: own?,
                holder: own?,
            },
        })
    };
    MENU.iter()
        .chain([&PASSWORD_ITEM])
        .filter(|item| match item.needs {
            None => true,
            Some((action, on)) => {
                target(on).is_some_and(|t| decide(principal, action, &t).is_allowed())
            }
        })
        .collect()
}

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
                    li { a href=(m.href) { (if lang == Lang::Ja { m.ja } else { m.en }) } }
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
                            (s.account.display_name) " (" (s.account.user_id) ") · " (role_label(lang, s.account.role))
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
                        (if ja { kind.label_ja() } else { kind.label_en() })
                    }
                    " — " a href="/terms" { (Text::ReadAndAgree.pick(ja)) }
                }
            }
            nav.menu data-role=(signed.account.role) {
                ul {
                    @for item in signed.principal().map(|p| menu(&p)).unwrap_or_default() {
                        li { a href=(item.href) { (if lang == Lang::Ja { item.ja } else { item.en }) } }
                    }
                }
            }
        },
    )
}

pub fn locked_accounts(lang: Lang, signed: &Signed, locked: &[Account]) -> Markup {
    let (title, none, user, until, failures, unlock) = match lang {
        Lang::Ja => (
            "ロック中のアカウント",
            "ロック中のアカウントはありません。",
            "ユーザID",
            "ロック解除予定",
            "連続失敗回数",
            "ロックを解除",
        ),
        Lang::En => (
            "Locked accounts",
            "No account is locked.",
            "User ID",
            "Locked until",
            "Failed logins",
            "Unlock",
        ),
    };
    layout(
        lang,
        title,
        Some(signed),
        html! {
            @if locked.is_empty() { p { (none) } } @else {
                table.locked {
                    tr { th { (user) } th { (until) } th { (failures) } th {} }
                    @for a in locked {
                        tr {
                            td { (a.user_id) }
                            td { (a.locked_until.map(|u| u.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default()) }
                            td { (a.failed_logins) }
                            td {
                                form method="post" action={ "/operator/locks/" (a.user_id) "/unlock" } {
                                    input type="hidden" name="csrf" value=(signed.session.csrf_token);
                                    button.secondary type="submit" { (unlock) }
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

fn status_label(lang: Lang, status: ApplicationStatus) -> &'static str {
    match (lang, status) {
        (Lang::Ja, ApplicationStatus::Pending) => "審査中",
        (Lang::En, ApplicationStatus::Pending) => "Pending",
        (Lang::Ja, ApplicationStatus::Approved) => "承認済",
        (Lang::En, ApplicationStatus::Approved) => "Approved",
        (Lang::Ja, ApplicationStatus::Rejected) => "却下",
        (Lang::En, ApplicationStatus::Rejected) => "Rejected",
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
                        option value=(role) { (role_label(lang, role)) }
                    }
                }
                button.primary type="submit" { (Text::Apply.pick(ja)) }
            }
            table.applications {
                tr { th { "#" } th { (Text::NameAndAffiliation.pick(ja)) } th { (Text::Role.pick(ja)) }
                     th { (Text::Status.pick(ja)) } th { (Text::IssuedUserId.pick(ja)) } }
                @for a in list {
                    tr { td { (a.id) } td { (a.display_name) } td { (role_label(lang, a.role)) }
                         td { (status_label(lang, a.status)) } td { (a.issued_user_id.as_deref().unwrap_or("")) } }
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
                            td { (role_label(lang, a.role)) } td { (a.applicant) }
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
                            (if ja { a.label_ja() } else { a.label_en() }) " (" (a.as_str()) ")"
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
                             td { @if let Some(a) = action { (if ja { a.label_ja() } else { a.label_en() }) } }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use vrs_domain::{MunicipalityCode, PrefectureCode, Terminal};

    /// The menus as each role has had them: the records pages for the municipality, inquiries and
    /// backup only from LG-WAN, the operator's pages for the operator.
    #[test]
    fn the_menu_derived_from_the_access_rules_is_each_roles_menu() {
        let records = [
            "/records",
            "/doses/import",
            "/doses/export",
            "/certificates",
            "/duplicates",
        ];
        let inquiries = ["/inquiries", "/inquiries/bulk"];
        let municipal = ["/provisions", "/terms", "/statistics", "/audit"];
        let operator = [
            "/statistics",
            "/operator/applications",
            "/operator/locks",
            "/operator/coupon-reads",
            "/operator/terms",
            "/operator/functions",
        ];
        let staff = |lgwan: bool| -> Vec<&str> {
            let mut v = records.to_vec();
            if lgwan {
                // The targets file holds My Numbers.
                v.insert(1, "/targets/import");
                v.extend(inquiries);
            }
            v.extend(municipal);
            v
        };
        for terminal in [Terminal::Lgwan, Terminal::Internet] {
            let lgwan = terminal == Terminal::Lgwan;
            for role in Role::ALL {
                let municipal_account = matches!(
                    role,
                    Role::MunicipalAdmin | Role::MunicipalStaff | Role::SiteTablet
                );
                let principal = Principal {
                    user: "someone".into(),
                    role,
                    terminal,
                    municipality: municipal_account
                        .then(|| MunicipalityCode::parse("382060").unwrap()),
                    prefecture: (role == Role::PrefectureViewer)
                        .then(|| PrefectureCode::parse("38").unwrap()),
                    scopes: None,
                };
                let mut expected: Vec<&str> = match role {
                    Role::NationalOperator => operator.to_vec(),
                    Role::PrefectureViewer => vec!["/statistics"],
                    Role::MunicipalAdmin => {
                        let mut v = vec!["/admin/applications", "/admin/accounts"];
                        v.extend(staff(lgwan));
                        if lgwan {
                            v.push("/admin/backup");
                        }
                        v
                    }
                    Role::MunicipalStaff => staff(lgwan),
                    Role::SiteTablet => vec!["/tablet"],
                    Role::CertificateService => vec![],
                };
                expected.push("/password");
                let got: Vec<&str> = menu(&principal).iter().map(|i| i.href).collect();
                assert_eq!(got, expected, "{role:?} on {terminal:?}");
            }
        }
    }
}
