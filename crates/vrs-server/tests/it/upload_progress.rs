//! An upload in a real Chromium shows its progress: the targets page sends a file of 30,000 targets,
//! the bar and its words say the file is being sent and then checked and imported, and the report
//! takes the page's place when the import is done.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};
use vrs_store::Areas;

use fantoccini::Locator;

use crate::support::browser::{
    browser, chromedriver, click, open, sign_in, type_into, wait_for_text,
};
use crate::support::spawn_app_lgwan_here;
use vrs_store::testkit::TestDb;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_targets_upload_shows_its_progress_then_its_report() {
    let Some(driver) = chromedriver().await else {
        return;
    };
    let app = spawn_app_lgwan_here(TestDb::sqlite().await).await;
    app.account("saijo-staff", "municipal_staff", Some("382060"), false)
        .await;
    let saijo = vrs_domain::MunicipalityCode::parse("382060").unwrap();
    let mut file = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    let rows = vrs_interop::write_targets(
        &mut file,
        vrs_interop::Encoding::Utf8,
        vrs_interop::Synthetic::new(saijo, 30_000, 11),
    )
    .unwrap();
    assert_eq!(rows, 30_000);

    let client = browser(&driver).await;
    sign_in(&client, &app, "saijo-staff").await;
    open(&client, &app, "/targets/import").await;
    type_into(&client, "file", &file.path().display().to_string()).await;
    click(&client, "form.card button[type=submit]").await;

    // Until the report is there, every word under the button is the progress's own.
    let mut said = Vec::<String>::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let now = client
            .execute(
                "const s = document.querySelector('.upload-status'); \
                 return [s ? s.textContent : null, document.getElementById('report') !== null];",
                vec![],
            )
            .await
            .unwrap();
        if let Some(text) = now[0].as_str().filter(|t| !t.is_empty()) {
            if said.last().map(String::as_str) != Some(text) {
                said.push(text.to_owned());
            }
        }
        if now[1] == serde_json::Value::Bool(true) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no report; the page said {said:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        said.iter()
            .any(|t| t.contains("ファイルを確認して取り込んでいます")),
        "the page never said the file was being imported: {said:?}"
    );
    assert!(
        said.iter()
            .all(|t| t.starts_with("送信中") || t.contains("取り込んでいます")),
        "{said:?}"
    );
    // The report took the page's place: the rows stored, and the form again for the next file.
    let report = wait_for_text(&client, "report", "30000").await;
    assert!(!report.is_empty());
    assert_eq!(
        app.db.store.area(saijo).count_residents().await.unwrap(),
        30_000
    );
    assert!(client.find(Locator::Id("file")).await.is_ok());
    client.close().await.unwrap();
    app.stop().await;
}
