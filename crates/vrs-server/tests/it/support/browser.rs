//! The browser the page tests drive: headless Chromium over WebDriver (chromedriver +
//! fantoccini), and the few steps every page test takes with it. Under CI (or with
//! `VRS_REQUIRE_BROWSER=1`) a missing Chromium or chromedriver fails the test; elsewhere it is
//! skipped with a message. `.ci/run` installs Debian's `chromium` and `chromium-driver`.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};

use super::{TestApp, PASSWORD};

pub(crate) struct Driver {
    process: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn required() -> bool {
    std::env::var_os("CI").is_some() || std::env::var("VRS_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

/// Starts chromedriver on a free port and waits until it accepts connections.
pub(crate) async fn chromedriver() -> Option<Driver> {
    let found = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let Some(path) = found.filter(|_| std::path::Path::new("/usr/bin/chromium").exists()) else {
        if required() {
            panic!("chromium and chromedriver are required here (CI) but not installed");
        }
        eprintln!("chromium or chromedriver not installed; skipping the browser test");
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let process = Command::new(path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let driver = Driver { process, port };
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Some(driver);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("chromedriver did not start listening on port {port}");
}

pub(crate) async fn browser(driver: &Driver) -> Client {
    browser_with(driver, &[]).await
}

/// A browser session started with `extra` command-line switches (a fake camera, say).
pub(crate) async fn browser_with(driver: &Driver, extra: &[String]) -> Client {
    let mut caps = serde_json::Map::new();
    let user_data = tempfile_dir();
    let mut args: Vec<String> = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
    ]
    .iter()
    .map(|a| (*a).to_owned())
    .collect();
    args.push(format!("--user-data-dir={user_data}"));
    args.extend_from_slice(extra);
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": args,
        }),
    );
    // Two crypto providers are compiled into the test build: name one for the WebDriver client.
    let _ = rustls::crypto::ring::default_provider().install_default();
    ClientBuilder::rustls()
        .expect("a TLS configuration")
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a WebDriver session")
}

fn tempfile_dir() -> String {
    let dir = std::env::temp_dir().join(format!(
        "vrs-chromium-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir.display().to_string()
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

pub(crate) async fn sign_in(client: &Client, app: &TestApp, user_id: &str) {
    open(client, app, "/login").await;
    type_into(client, "user_id", user_id).await;
    type_into(client, "password", PASSWORD).await;
    click(client, "form.card button").await;
    wait_for(client, "nav.menu").await;
}

/// Waits until the element `id` is shown and its text contains `needle`; returns the text.
pub(crate) async fn wait_for_text(client: &Client, id: &str, needle: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut last = String::new();
    while std::time::Instant::now() < deadline {
        if let Ok(element) = client.find(Locator::Id(id)).await {
            if element.is_displayed().await.unwrap_or(false) {
                last = element.text().await.unwrap_or_default();
                if last.contains(needle) {
                    return last;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("#{id} never showed {needle:?}; last text: {last:?}");
}

pub(crate) async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

pub(crate) async fn type_into(client: &Client, id: &str, text: &str) {
    client
        .find(Locator::Id(id))
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
}

/// Opens `path` of the app (`/tablet`, `/statistics?…`) in the browser.
pub(crate) async fn open(client: &Client, app: &TestApp, path: &str) {
    client
        .goto(&format!("http://{}{path}", app.address))
        .await
        .unwrap();
}

/// Waits until the element `css` is on the page, and returns it.
pub(crate) async fn wait_for(client: &Client, css: &str) -> Element {
    client.wait().for_element(Locator::Css(css)).await.unwrap()
}

/// The text of the element `css`.
pub(crate) async fn text_of(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The current value of the form field `id`.
pub(crate) async fn value_of(client: &Client, id: &str) -> Option<String> {
    client
        .find(Locator::Id(id))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
}

/// Signs out through the header's button and waits for the login form.
pub(crate) async fn sign_out(client: &Client) {
    click(client, "header form button").await;
    wait_for(client, "#user_id").await;
}
