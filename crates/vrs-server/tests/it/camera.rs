//! The tablet's camera in a real Chromium: a fake camera shows a coupon's QR code (its OCR line);
//! the page reads it on the device, fills the OCR field and checks the coupon at once. A code that
//! is not a coupon is said so, and without a camera the page says to type the line.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use vrs_store::Areas;

use fantoccini::{Client, Locator};

use crate::support::browser::{
    browser_with, chromedriver, click, open, sign_in, wait_for, wait_for_text,
};
use crate::support::{spawn_app, TestApp};
use vrs_store::testkit::TestDb;

/// Two frames of YUV4MPEG2 video (4:2:0, 640×480, the format Chromium's fake camera plays in a
/// loop): the QR code of `text`, dark on light, eight pixels a module, in the middle.
fn qr_video(text: &str) -> Vec<u8> {
    let code = qrcode::QrCode::new(text.as_bytes()).unwrap();
    let modules = code.width();
    let colors = code.to_colors();
    let (w, h, scale, quiet) = (640usize, 480usize, 8usize, 4usize);
    let size = (modules + 2 * quiet) * scale;
    let (x0, y0) = ((w - size) / 2, (h - size) / 2);
    let mut luma = vec![235u8; w * h];
    for row in 0..modules {
        for col in 0..modules {
            if colors[row * modules + col] != qrcode::Color::Dark {
                continue;
            }
            for dy in 0..scale {
                let y = y0 + (row + quiet) * scale + dy;
                let x = x0 + (col + quiet) * scale;
                luma[y * w + x..y * w + x + scale].fill(16);
            }
        }
    }
    let mut out = format!("YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg\n").into_bytes();
    for _ in 0..2 {
        out.extend_from_slice(b"FRAME\n");
        out.extend_from_slice(&luma);
        out.resize(out.len() + w * h / 2, 128);
    }
    out
}

/// A browser whose camera shows `video` (none: a browser with no camera at all).
async fn tablet_browser(
    driver: &crate::support::browser::Driver,
    app: &TestApp,
    video: Option<&std::path::Path>,
) -> Client {
    let mut switches = vec!["--use-fake-ui-for-media-stream".to_owned()];
    if let Some(video) = video {
        switches.push("--use-fake-device-for-media-stream".to_owned());
        switches.push(format!(
            "--use-file-for-fake-video-capture={}",
            video.display()
        ));
    }
    let client = browser_with(driver, &switches).await;
    sign_in(&client, app, "saijo-tablet").await;
    open(&client, app, "/tablet").await;
    wait_for(&client, "#ocr").await;
    client
}

async fn video_file(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(".y4m").tempfile().unwrap();
    file.write_all(&qr_video(text)).unwrap();
    file.flush().unwrap();
    file
}

async fn start_camera(client: &Client) {
    click(client, "#camera").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tablet_reads_the_coupon_from_the_camera() {
    let Some(driver) = chromedriver().await else {
        return;
    };
    let app = spawn_app(TestDb::sqlite().await).await;
    let chiyoda = vrs_domain::MunicipalityCode::parse("131016").unwrap();
    let p = vrs_interop::Synthetic::new(chiyoda, 1, 9).next().unwrap();
    app.db
        .store
        .area(chiyoda)
        .put_resident(
            &p,
            &vrs_store::AuditEntry::now("test", "test", "local", "resident.put", "x"),
        )
        .await
        .unwrap();
    app.account("saijo-tablet", "site_tablet", Some("382060"), false)
        .await;

    // The coupon's QR code: the line is read, typed into the field and the coupon checked.
    let line = format!("11131016{}", p.coupon.as_str());
    let video = video_file(&line).await;
    let client = tablet_browser(&driver, &app, Some(video.path())).await;
    start_camera(&client).await;
    let info = wait_for_text(&client, "coupon-info", p.coupon.as_str()).await;
    assert!(!info.is_empty());
    let state = client
        .execute(
            "return [document.getElementById('ocr').value, \
             document.getElementById('camera-view').hidden, \
             document.getElementById('camera-view').srcObject === null || \
             document.getElementById('camera-view').srcObject.getTracks().every((t) => t.readyState === 'ended')];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        state,
        serde_json::json!([line, true, true]),
        "the line is in the field and the camera is off again"
    );
    client.close().await.unwrap();

    // A QR code that is not a coupon's line: said so, nothing checked.
    let video = video_file("https://example.org/not-a-coupon").await;
    let client = tablet_browser(&driver, &app, Some(video.path())).await;
    start_camera(&client).await;
    wait_for_text(&client, "ocr-feedback", "接種券のOCRラインではありません").await;
    assert!(!client
        .find(Locator::Id("step-dose"))
        .await
        .unwrap()
        .is_displayed()
        .await
        .unwrap());
    client.close().await.unwrap();

    // No camera at all: the page says to type the line and the field takes it.
    let client = tablet_browser(&driver, &app, None).await;
    start_camera(&client).await;
    wait_for_text(&client, "ocr-feedback", "OCRラインを入力してください").await;
    let focused = client
        .execute("return document.activeElement.id;", vec![])
        .await
        .unwrap();
    assert_eq!(focused, serde_json::json!("ocr"));
    client.close().await.unwrap();
    app.stop().await;
}
