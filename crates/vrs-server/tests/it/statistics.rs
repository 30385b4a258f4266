//! Statistics over real HTTP on SQLite and PostgreSQL: each role's dashboard with its charts, the
//! scopes each may read (a prefecture never another prefecture, staff never another municipality),
//! suppression in every view that leaves the municipality, the JSON API and CSV downloads.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;
use vrs_store::on_both_backends;
use vrs_store::testkit::code;

use support::{TestApp, INTERNET, LGWAN, PASSWORD};

on_both_backends!(
    TestApp:
    each_role_sees_its_own_scope_with_charts,
    the_page_leads_with_coverage_and_narrows_to_a_range_of_days,
    views_that_leave_the_municipality_suppress_small_counts,
    open_data_is_public_cached_and_limited_per_address,
);

/// People with one or two doses in 西条市 and 松山市 (Ehime) and 千代田区 (Tokyo), counted.
async fn setup(app: &TestApp) {
    for (i, (m, n)) in [("382060", 40), ("382019", 25), ("131016", 30)]
        .into_iter()
        .enumerate()
    {
        support::people_with_doses(app, code(m), n, 60 + i as u64, 5).await;
    }
    let today = chrono::NaiveDate::from_ymd_opt(2022, 6, 1).unwrap();
    vrs_core::statistics::refresh(app.db.store.as_ref(), today)
        .await
        .unwrap();
    app.account("saijo-staff", "municipal_staff", Some("382060"), false)
        .await;
    app.account("op-0001", "national_operator", None, false)
        .await;
    app.prefecture_account("pref-38", "38").await;
    app.prefecture_account("pref-13", "13").await;
}

async fn each_role_sees_its_own_scope_with_charts(app: &TestApp) {
    setup(app).await;
    let staff = app.browser(INTERNET);
    staff.login("saijo-staff", PASSWORD).await;
    let page = staff.get("/statistics").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("西条市"));
    assert_eq!(page.body.matches("<svg").count(), 4, "four charts");
    assert!(
        !page.body.contains("class=\"num suppressed\""),
        "own counts are shown as counted"
    );
    assert_eq!(
        staff.get("/statistics?municipality=131016").await.status,
        403
    );
    assert_eq!(
        staff.get("/statistics?municipality=382019").await.status,
        403
    );
    assert_eq!(staff.get("/statistics?prefecture=38").await.status, 403);

    let pref = app.browser(INTERNET);
    pref.login("pref-38", PASSWORD).await;
    assert!(pref.get("/").await.body.contains("/statistics"));
    let page = pref.get("/statistics").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("愛媛県"));
    assert!(page.body.contains("382060") && page.body.contains("382019"));
    assert!(
        !page.body.contains("131016"),
        "another prefecture's municipality"
    );
    assert_eq!(page.body.matches("<svg").count(), 4);
    assert_eq!(
        pref.get("/statistics?municipality=382060").await.status,
        200
    );
    assert_eq!(
        pref.get("/statistics?municipality=131016").await.status,
        403
    );
    assert_eq!(pref.get("/statistics?prefecture=13").await.status, 403);
    assert_eq!(
        pref.get("/api/v1/statistics?prefecture=13").await.status,
        403
    );
    // A government never reaches a person.
    assert_eq!(pref.get("/records?atena=1").await.status, 403);

    let nation = app.browser(LGWAN);
    nation.login("op-0001", PASSWORD).await;
    let page = nation.get("/statistics").await;
    assert_eq!(page.status, 200);
    for m in ["382060", "382019", "131016"] {
        assert!(page.body.contains(m), "{m}");
    }
    assert_eq!(nation.get("/statistics?prefecture=13").await.status, 200);
    assert_eq!(nation.get("/records?atena=1").await.status, 403);
    // Sorted by the first column (targets), largest first: 西条市 (40) before 千代田区 (30).
    let sorted = nation.get("/statistics?sort=0").await.body;
    let table = &sorted[sorted.find("id=\"table-municipalities\"").unwrap()..];
    assert!(table.find("382060").unwrap() < table.find("131016").unwrap());
    // A malformed code is named.
    let bad = nation.get("/statistics?prefecture=99").await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("prefecture"));
}

/// The part of a page from `from` to the end of the next `</section>` or `</form>`.
fn part<'a>(body: &'a str, from: &str) -> &'a str {
    let start = body
        .find(from)
        .unwrap_or_else(|| panic!("{from} in the page"));
    let rest = &body[start..];
    let end = ["</section>", "</form>"]
        .iter()
        .filter_map(|e| rest.find(e))
        .min()
        .unwrap_or(rest.len());
    &rest[..end]
}

async fn the_page_leads_with_coverage_and_narrows_to_a_range_of_days(app: &TestApp) {
    setup(app).await;
    let staff = app.browser(INTERNET);
    staff.login("saijo-staff", PASSWORD).await;
    // 西条市: 40 targets; 26 with at least one dose, 13 with two.
    let page = staff.get("/statistics").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let headline = part(&page.body, "id=\"headline\"");
    assert!(headline.contains("65.0%"), "{headline}");
    assert!(headline.contains("32.5%"), "{headline}");
    assert!(headline.contains("26 / 40") && headline.contains("13 / 40"));
    // The 接種率 beside each "at least n doses" column of the coverage table, totals included.
    let coverage = part(&page.body, "id=\"table-coverage\"");
    assert_eq!(coverage.matches("<th class=\"rate\">").count(), 2);
    assert!(
        coverage.contains("<td class=\"num rate\">65.0%</td>"),
        "{coverage}"
    );
    // Every day of the campaign by default: doses on 2021-06-22 … 2021-07-17.
    let daily = part(&page.body, "id=\"table-daily\"");
    assert!(daily.contains("2021-06-22") && daily.contains("2021-07-17"));

    // From 令和3年7月1日: the June days leave the daily table; coverage stays the whole campaign.
    let july = staff
        .get("/statistics?from=%E4%BB%A4%E5%92%8C3%E5%B9%B47%E6%9C%881%E6%97%A5&to=2021-07-14")
        .await;
    assert_eq!(july.status, 200, "{}", july.body);
    let daily = part(&july.body, "id=\"table-daily\"");
    assert!(!daily.contains("2021-06-2"), "{daily}");
    assert!(daily.contains("2021-07-13") && daily.contains("2021-07-14"));
    assert!(
        !daily.contains("2021-07-15"),
        "the last day is included, no later"
    );
    assert!(part(&july.body, "id=\"headline\"").contains("65.0%"));
    // The form keeps what was typed.
    assert!(part(&july.body, "form class=\"card range\"").contains("value=\"2021-07-14\""));

    // A day that cannot be read, and an end before the start, are named at their field.
    for (query, field, words) in [
        ("from=2021-02-30", "range-from", "暦にない日付です"),
        (
            "from=2021-07-10&to=2021-07-01",
            "range-to",
            "終了日が開始日より前です",
        ),
    ] {
        let bad = staff.get(&format!("/statistics?{query}")).await;
        assert_eq!(bad.status, 200, "{query}: the page is drawn with the error");
        let form = part(&bad.body, "form class=\"card range\"");
        assert!(
            form.contains(&format!("id=\"{field}\"")) && form.contains("aria-invalid=\"true\""),
            "{query}: {form}"
        );
        assert!(form.contains("field-error"), "{query}: {form}");
        assert!(form.contains(words), "{query}: {form}");
        // The page still shows every day.
        assert!(part(&bad.body, "id=\"table-daily\"").contains("2021-06-22"));
    }
}

async fn views_that_leave_the_municipality_suppress_small_counts(app: &TestApp) {
    setup(app).await;
    let pref = app.browser(INTERNET);
    pref.login("pref-38", PASSWORD).await;
    let api = pref.get("/api/v1/statistics?municipality=382019").await;
    assert_eq!(api.status, 200, "{}", api.body);
    let json: serde_json::Value = serde_json::from_str(&api.body).unwrap();
    assert_eq!(json["suppressed_below"], 10);
    let text = json["tables"].to_string();
    assert!(text.contains("\"<10\""), "{text}");
    // No number below 10 other than 0 is published.
    for table in json["tables"].as_object().unwrap().values() {
        for row in table["rows"].as_array().unwrap() {
            for c in row["cells"].as_array().unwrap() {
                if let Some(n) = c.as_u64() {
                    assert!(n == 0 || n >= 10, "{n} published in {table}");
                }
            }
        }
    }
    // The municipality itself sees its counts.
    let staff = app.browser(INTERNET);
    staff.login("saijo-staff", PASSWORD).await;
    let own: serde_json::Value =
        serde_json::from_str(&staff.get("/api/v1/statistics").await.body).unwrap();
    assert!(own["suppressed_below"].is_null());
    assert!(!own["tables"].to_string().contains("<10"));
    // The prefecture's view of 西条市 against 西条市's own counts: `"<10"` exactly where the true
    // count is 1–9, `"x"` for a cell hidden to protect one (never a count of 1–9), numbers as counted.
    let published: serde_json::Value = serde_json::from_str(
        &pref
            .get("/api/v1/statistics?municipality=382060")
            .await
            .body,
    )
    .unwrap();
    let (mut small, mut hidden) = (0, 0);
    for (name, table) in published["tables"].as_object().unwrap() {
        let truth = &own["tables"][name];
        for (row, true_row) in table["rows"]
            .as_array()
            .unwrap()
            .iter()
            .zip(truth["rows"].as_array().unwrap())
        {
            for (c, t) in row["cells"]
                .as_array()
                .unwrap()
                .iter()
                .zip(true_row["cells"].as_array().unwrap())
            {
                let t = t.as_u64().unwrap();
                match c.as_str() {
                    Some("<10") => {
                        small += 1;
                        assert!((1..10).contains(&t), "{name}: <10 for {t}");
                    }
                    Some("x") => {
                        hidden += 1;
                        assert!(!(1..10).contains(&t), "{name}: x for {t}");
                    }
                    Some(other) => panic!("{name}: unknown mark {other}"),
                    None => assert_eq!(c.as_u64(), Some(t), "{name}"),
                }
            }
        }
    }
    assert!(small > 0 && hidden > 0, "{small} small, {hidden} hidden");
    let page = pref.get("/statistics?municipality=382060").await;
    assert!(page.body.contains("「X」と表示します"), "{}", page.body);
    // CSV downloads, in CP932 by default.
    let (status, bytes) = pref.download("/statistics/download?table=coverage").await;
    assert_eq!(status, 200);
    let (csv, _, bad) = encoding_rs::SHIFT_JIS.decode(&bytes);
    assert!(!bad);
    assert!(csv.starts_with("年齢区分（現在）,対象者数"), "{csv}");
    assert!(csv.contains("<10"));
    let unknown = pref.get("/statistics/download?table=people").await;
    assert_eq!(unknown.status, 422);
}

async fn open_data_is_public_cached_and_limited_per_address(app: &TestApp) {
    setup(app).await;
    let anyone = reqwest::Client::new();
    let url = |path: &str| format!("http://{}{path}", app.address);
    let get = |path: &str, from: &str| {
        anyone
            .get(url(path))
            .header("x-forwarded-for", from.to_owned())
    };
    let bare = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(url("/opendata"))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 308);
    assert_eq!(bare.headers()["location"], "/opendata/");
    // Before the first release: the page says so, the files are 404.
    let page = get("/opendata/", INTERNET).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("まだ公開されていません"));
    assert_eq!(
        get("/opendata/summary.json", INTERNET)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    vrs_core::statistics::opendata::publish(
        app.db.store.as_ref(),
        &vrs_core::statistics::opendata::OpenDataSettings::default(),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let page = get("/opendata/", INTERNET).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let body = page.text().await.unwrap();
    assert!(body.contains("CC BY 4.0") && body.contains("/opendata/daily.ndjson"));
    assert!(body.matches("<svg").count() >= 4, "charts and the map");
    assert!(!body.contains("382060") && !body.contains("西条市"));

    let summary = get("/opendata/summary.json", INTERNET)
        .send()
        .await
        .unwrap();
    assert_eq!(summary.status(), 200);
    let h = summary.headers().clone();
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(h["cache-control"], "public, max-age=300");
    assert_eq!(h["access-control-allow-origin"], "*");
    let etag = h["etag"].to_str().unwrap().to_owned();
    let modified = h["last-modified"].to_str().unwrap().to_owned();
    assert!(
        etag.starts_with('"') && modified.ends_with(" GMT"),
        "{etag} {modified}"
    );
    let json: serde_json::Value = summary.json().await.unwrap();
    assert_eq!(json["licence"]["name"], "CC BY 4.0");
    assert!(json["nation"]["doses"]
        .as_u64()
        .is_some_and(|n| n % 10 == 0 && n > 0));

    // Conditional requests: the same tag or date is 304 without a body; another tag is 200.
    let again = get("/opendata/summary.json", INTERNET)
        .header("if-none-match", etag.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"], etag.as_str());
    assert!(again.bytes().await.unwrap().is_empty());
    let since = get("/opendata/summary.json", INTERNET)
        .header("if-modified-since", modified)
        .send()
        .await
        .unwrap();
    assert_eq!(since.status(), 304);
    let other = get("/opendata/summary.json", INTERNET)
        .header("if-none-match", "\"another\"")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);

    // The records as NDJSON and CSV, in UTF-8 or Shift_JIS; another encoding is refused.
    let ndjson = get("/opendata/daily.ndjson", INTERNET)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ndjson.headers()["content-type"],
        "application/x-ndjson; charset=utf-8"
    );
    // Sent part by part as stored, with its length: the bytes the release holds.
    let stored =
        vrs_core::statistics::opendata::read_published(app.db.store.as_ref(), "daily.ndjson")
            .await
            .unwrap()
            .unwrap();
    assert_eq!(
        ndjson.headers()["content-length"],
        stored.len().to_string().as_str()
    );
    let first = ndjson.text().await.unwrap();
    assert_eq!(first.as_bytes(), stored.as_slice());
    let record: serde_json::Value = serde_json::from_str(first.lines().next().unwrap()).unwrap();
    assert!(record["date"].is_string() && record.get("municipality").is_none());
    let sjis = get("/opendata/daily.csv?encoding=shift_jis", INTERNET)
        .send()
        .await
        .unwrap();
    assert_eq!(
        sjis.headers()["content-type"],
        "text/csv; charset=Shift_JIS"
    );
    let bytes = sjis.bytes().await.unwrap();
    let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&bytes);
    assert!(!bad && text.contains("愛媛県"), "{text}");
    assert_eq!(
        get("/opendata/daily.csv?encoding=latin1", INTERNET)
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    // Municipality level is off unless the operator turns it on.
    assert_eq!(
        get("/opendata/municipalities.ndjson", INTERNET)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // At most 120 requests a minute from one address; the next waits (and another address does not).
    let crowd = "203.0.113.77";
    for i in 0..120 {
        let r = get("/opendata/summary.json", crowd).send().await.unwrap();
        assert_eq!(r.status(), 200, "request {i}");
    }
    let refused = get("/opendata/summary.json", crowd).send().await.unwrap();
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(
        get("/opendata/summary.json", INTERNET)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}
