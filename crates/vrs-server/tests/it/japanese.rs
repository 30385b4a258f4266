//! Japanese all the way through: every page a role's menu offers, rendered in Japanese (the
//! default), carries no English sentence. Codes, numbers, product names and the language switch
//! are not sentences; three English words in a row are.

use crate::support::{ehr_setup, Browser, TestApp, LGWAN, PASSWORD};
use vrs_store::on_both_backends;

on_both_backends!(
    TestApp:
    every_menu_page_speaks_japanese,
    records_and_an_import_with_problems_speak_japanese,
);

/// The visible text of a page: what lies between tags, outside scripts and styles, and the
/// placeholders and labels a screen reader reads.
fn visible_text(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        let text = &rest[..open];
        if !text.trim().is_empty() {
            out.push(text.trim().to_owned());
        }
        let after = &rest[open..];
        let tag_end = after.find('>').map_or(after.len(), |i| i + 1);
        let tag = &after[..tag_end];
        for attribute in ["placeholder=\"", "aria-label=\"", "title=\""] {
            if let Some(start) = tag.find(attribute) {
                let value = &tag[start + attribute.len()..];
                if let Some(end) = value.find('"') {
                    out.push(value[..end].to_owned());
                }
            }
        }
        rest = &after[tag_end..];
        for skipped in ["<script", "<style"] {
            if tag.starts_with(skipped) {
                let close = format!("</{}>", &skipped[1..]);
                rest = rest.find(&close).map_or("", |i| &rest[i..]);
            }
        }
    }
    out
}

/// Names the Japanese pages keep as they are: the certificate formats.
const NAMES: [&str; 3] = [
    "SMART Health Cards",
    "SMART Health Card",
    "EU Digital COVID Certificate",
];

/// An English sentence: three words of two or more Latin letters in a row, names aside.
fn english_sentence(text: &str) -> Option<String> {
    let text = NAMES
        .iter()
        .fold(text.to_owned(), |t, name| t.replace(name, " "));
    let decoded = text
        .replace("&amp;", "&")
        .replace("&#39;", "'")
        .replace("&quot;", "\"");
    let mut run = Vec::new();
    for word in decoded
        .split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ',' | '.' | ':' | ';' | '/'))
    {
        let is_word = word.len() >= 2 && word.chars().all(|c| c.is_ascii_alphabetic() || c == '\'');
        if is_word {
            run.push(word);
            if run.len() >= 3 {
                return Some(run.join(" "));
            }
        } else if !word.is_empty() {
            run.clear();
        }
    }
    None
}

/// The English sentences of a page, each with where it was.
fn english_of(label: &str, body: &str) -> Vec<String> {
    visible_text(body)
        .into_iter()
        .filter_map(|text| {
            english_sentence(&text).map(|sentence| format!("{label}: {sentence:?} in {text:?}"))
        })
        .collect()
}

fn assert_japanese(mut found: Vec<String>) {
    found.sort();
    found.dedup();
    assert!(
        found.is_empty(),
        "English on Japanese pages:\n{}",
        found.join("\n")
    );
}

async fn get_japanese(browser: &Browser, path: &str, found: &mut Vec<String>) -> String {
    let page = browser.get(path).await;
    found.extend(english_of(path, &page.body));
    page.body
}

async fn records_and_an_import_with_problems_speak_japanese(app: &TestApp) {
    let (a, b) = ehr_setup(app, 7).await;
    let staff = app.browser(LGWAN);
    staff.login("saijo-ehr", PASSWORD).await;
    let mut found = Vec::new();
    // A person's page, a search that finds them, one that finds nobody, and a refused field.
    get_japanese(&staff, &format!("/records/{}", a.atena), &mut found).await;
    let kana = a.name_kana.as_str().to_owned();
    for query in [
        format!("kana={kana}&birth={}", a.birth_date),
        format!("kana={kana}&birth=1900-01-01"),
        format!("coupon={}", b.coupon),
        format!("kana={kana}&birth=R99.13.40"),
    ] {
        let url = format!("/records?{}", query.replace(' ', "%20"));
        get_japanese(&staff, &url, &mut found).await;
    }
    // A dose file with a problem in every column, and one naming a coupon nobody holds.
    let csrf = staff.csrf("/doses/import").await;
    let file = format!(
        "接種券番号,接種回,接種日,ワクチン,ロット番号,接種自治体コード,接種会場名,接種医師名\r\n\
         12345,11,2021-13-01,XYZ,FA_1,382061,{},{}\r\n\
         9999999999,1,2021-06-01,comirnaty,FA4597,382060,,\r\n\
         {},2,2021-06-01,comirnaty,FA4597,382060,,\r\n",
        "会".repeat(31),
        "医".repeat(21),
        a.coupon
    );
    let page = staff
        .upload(
            "/doses/import",
            &[("csrf", &csrf), ("encoding", "utf-8")],
            "file",
            "doses.csv",
            file.into_bytes(),
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.body.contains("暦にない日付です"), "{}", page.body);
    found.extend(english_of("/doses/import (problems)", &page.body));
    assert_japanese(found);
}

async fn every_menu_page_speaks_japanese(app: &TestApp) {
    let accounts = [
        ("op-0001", "national_operator", None),
        ("saijo-admin", "municipal_admin", Some("382060")),
        ("saijo-staff", "municipal_staff", Some("382060")),
        ("saijo-tablet", "site_tablet", Some("382060")),
    ];
    let mut found = Vec::new();
    for (user, role, municipality) in accounts {
        app.account(user, role, municipality, false).await;
        let browser = app.browser(LGWAN);
        browser.login(user, PASSWORD).await;
        let home = browser.get("/").await;
        let menu: Vec<String> = home
            .body
            .split("href=\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .filter(|href| {
                href.starts_with('/')
                    && !href.starts_with("/lang/")
                    && !href.starts_with("/static/")
            })
            .map(str::to_owned)
            .collect();
        assert!(menu.len() > 1, "{role}: {}", home.body);
        for path in std::iter::once("/".to_owned()).chain(menu) {
            let page = browser.get(&path).await;
            found.extend(english_of(&format!("{role} {path}"), &page.body));
        }
    }
    assert_japanese(found);
}

#[test]
fn a_sentence_is_three_english_words() {
    assert_eq!(
        english_sentence("the date is empty").as_deref(),
        Some("the date is")
    );
    assert_eq!(english_sentence("SMART Health Card ファイル"), None);
    assert_eq!(
        english_sentence("生年月日: the date is empty").as_deref(),
        Some("the date is")
    );
    assert_eq!(english_sentence("not_found 404 Comirnaty"), None);
    assert_eq!(english_sentence("ワクチン: Comirnaty (Pfizer)"), None);
    assert_eq!(
        visible_text("<p title=\"a b\">x<script>var a = 'the big one';</script>y</p>"),
        ["a b", "x", "y"]
    );
}
