//! The dashboards in the browser: each role's statistics page draws its charts for its own scope,
//! and anyone opens the open-data dashboard and its map without signing in.

use super::*;

/// 300 people each in 西条市 and 千代田区 with up to two doses, counted by the statistics job.
async fn counted_people(app: &TestApp) {
    for (i, m) in ["382060", "131016"].into_iter().enumerate() {
        let m = vrs_domain::MunicipalityCode::parse(m).unwrap();
        support::people_with_doses(app, m, 300, 80 + i as u64, 4).await;
    }
    vrs_core::statistics::refresh(app.db.store.as_ref(), vrs_core::japan_today())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_sees_its_statistics_dashboard_with_charts() {
    let Some(driver) = chromedriver().await else {
        return;
    };
    let app = spawn_app(TestDb::sqlite().await).await;
    counted_people(&app).await;
    app.account("saijo-staff", "municipal_staff", Some("382060"), false)
        .await;
    app.account("op-0001", "national_operator", None, false)
        .await;
    app.prefecture_account("pref-38", "38").await;
    let client = browser(&driver).await;
    for (user, heading) in [
        ("saijo-staff", "西条市"),
        ("pref-38", "愛媛県"),
        ("op-0001", "全国"),
    ] {
        sign_in(&client, &app, user).await;
        open(&client, &app, "/statistics").await;
        wait_for(&client, "figure.chart svg").await;
        let title = text_of(&client, "main h2").await;
        assert!(title.contains(heading), "{user}: {title}");
        let charts = client
            .find_all(Locator::Css("figure.chart svg"))
            .await
            .unwrap();
        assert_eq!(charts.len(), 4, "{user}");
        // Each chart drew something: a line with at least two points, or bars.
        for id in ["chart-daily", "chart-coverage"] {
            let mut drawn = false;
            for path in client
                .find_all(Locator::Css(&format!("#{id} svg path")))
                .await
                .unwrap()
            {
                drawn |= path
                    .attr("d")
                    .await
                    .unwrap()
                    .unwrap_or_default()
                    .contains('L');
            }
            assert!(drawn, "{user}: {id} drew no line");
        }
        for id in ["chart-ages", "chart-products"] {
            let bars = client
                .find_all(Locator::Css(&format!("#{id} svg rect title")))
                .await
                .unwrap();
            assert!(!bars.is_empty(), "{user}: {id} drew no bar");
        }
        sign_out(&client).await;
    }
    client.close().await.unwrap();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anyone_opens_the_open_data_dashboard_without_signing_in() {
    let Some(driver) = chromedriver().await else {
        return;
    };
    let app = spawn_app(TestDb::sqlite().await).await;
    counted_people(&app).await;
    vrs_core::statistics::opendata::publish(
        app.db.store.as_ref(),
        &vrs_core::statistics::opendata::OpenDataSettings::default(),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let client = browser(&driver).await;
    let page = format!("http://{}/opendata/", app.address);
    client.goto(&page).await.unwrap();
    wait_for(&client, "#open-map svg").await;
    // Not sent to the sign-in page: the dashboard itself, in Japanese.
    assert_eq!(client.current_url().await.unwrap().as_str(), page);
    let title = text_of(&client, "main h2").await;
    assert!(title.contains("オープンデータ"), "{title}");
    assert_eq!(
        client
            .find_all(Locator::Css("figure.chart svg"))
            .await
            .unwrap()
            .len(),
        4,
        "three charts and the map"
    );
    let tiles = client
        .find_all(Locator::Css("#open-map g.tile"))
        .await
        .unwrap();
    assert_eq!(tiles.len(), 47);
    let ehime = client
        .find(Locator::Css("#open-map g.tile[data-prefecture='38'] title"))
        .await
        .unwrap()
        .html(true)
        .await
        .unwrap();
    assert!(
        ehime.starts_with("愛媛県: ") && ehime.ends_with('%'),
        "{ehime}"
    );
    let mut drawn = false;
    for path in client
        .find_all(Locator::Css("#open-daily svg path"))
        .await
        .unwrap()
    {
        drawn |= path
            .attr("d")
            .await
            .unwrap()
            .unwrap_or_default()
            .contains('L');
    }
    assert!(drawn, "the daily chart drew no line");
    // The files are linked from the page, and the page reads in English too.
    let links: Vec<String> = {
        let mut v = Vec::new();
        for a in client
            .find_all(Locator::Css("table.files a"))
            .await
            .unwrap()
        {
            v.push(a.attr("href").await.unwrap().unwrap_or_default());
        }
        v
    };
    assert!(
        links.contains(&"/opendata/daily.ndjson".to_owned()),
        "{links:?}"
    );
    assert!(links.contains(&"/opendata/daily.csv?encoding=shift_jis".to_owned()));
    click(&client, "header a[href^='/lang/en']").await;
    client.goto(&page).await.unwrap();
    let title = text_of(&client, "main h2").await;
    assert!(title.contains("Open data"), "{title}");
    client.close().await.unwrap();
    app.stop().await;
}
