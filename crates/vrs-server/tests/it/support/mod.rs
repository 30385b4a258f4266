//! `spawn_app()`: a server on port 0 over a fresh database (SQLite, or PostgreSQL), and a client
//! with one method per endpoint. Requests say which terminal they come from through the proxy
//! header, which the test server trusts from 127.0.0.1: `10.20.0.5` is on LG-WAN, `203.0.113.9` is
//! on the internet.

#![allow(
    dead_code,
    unused_macros,
    unused_imports,
    clippy::unwrap_used,
    clippy::expect_used
)]

pub mod browser;

use std::net::SocketAddr;
use vrs_store::Areas;

use vrs_server::{AppState, Settings};
use vrs_store::testkit::TestDb;
use vrs_store::{Account, AuditScope};

pub const LGWAN: &str = "10.20.0.5";
pub const INTERNET: &str = "203.0.113.9";
pub const PASSWORD: &str = "Initial-Pass-2026";

pub struct TestApp {
    pub address: SocketAddr,
    pub db: TestDb,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

fn test_settings() -> Settings {
    Settings {
        lgwan_networks: vec!["10.20.0.0/16".parse().unwrap()],
        client_address_header: Some("x-forwarded-for".into()),
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        metrics_networks: vec!["10.20.0.0/16".parse().unwrap()],
        // Cards under the test server's http://127.0.0.1 issuer.
        trial_certificates: true,
        ..Settings::default()
    }
}

pub async fn spawn_app(db: TestDb) -> TestApp {
    spawn_app_with(db, test_settings()).await
}

/// A server that counts this machine (127.0.0.0/8) as an LG-WAN terminal, for a real browser,
/// which cannot say where it comes from through the proxy header (so no proxy is trusted: a
/// trusted proxy inside an LG-WAN network is refused).
pub async fn spawn_app_lgwan_here(db: TestDb) -> TestApp {
    let mut settings = test_settings();
    settings.lgwan_networks.push("127.0.0.0/8".parse().unwrap());
    settings.trusted_proxies.clear();
    spawn_app_with(db, settings).await
}

/// A server with the test settings changed by `change`.
#[allow(dead_code)]
pub async fn spawn_app_configured(db: TestDb, change: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = test_settings();
    change(&mut settings);
    spawn_app_with(db, settings).await
}

/// The header a test sends when it puts a My Number in a URL on purpose (to see it refused).
pub const MY_NUMBER_IN_URL_ON_PURPOSE: &str = "x-test-my-number-in-url";

/// Every request a test server receives has its request target scanned for a My Number: twelve
/// digits that pass the check digit, outside the places a 12-digit 宛名番号 belongs (the
/// `/records/{atena}` path, an `atena` field, a FHIR patient ID `{municipality}-{atena}`, the
/// atena identifier system). One found fails the request with 599 and says where, so no test —
/// and no page or client the tests drive — can put a My Number in a URL unnoticed.
async fn no_my_number_in_the_url(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let target = request.uri().to_string();
    if !request.headers().contains_key(MY_NUMBER_IN_URL_ON_PURPOSE) {
        if let Some(found) = my_number_in(&target) {
            eprintln!("A My Number in a request URL: {found} in {target}");
            return (
                axum::http::StatusCode::from_u16(599).unwrap(),
                format!("test support: a My Number ({found}) in the request URL {target}"),
            )
                .into_response();
        }
    }
    next.run(request).await
}

/// The first My Number-shaped run of digits in a request target, outside the places of a 宛名番号.
pub fn my_number_in(target: &str) -> Option<String> {
    let decoded = percent_decode(target);
    let text = vrs_domain::normalize_digits(&decoded);
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let run = &text[start..i];
        if run.len() == 12
            && vrs_domain::MyNumber::parse(run).is_ok()
            && !atena_place(&text[..start])
        {
            return Some(run.to_owned());
        }
    }
    None
}

/// Whether the text before a run of digits puts it where a 宛名番号 goes.
fn atena_place(before: &str) -> bool {
    let municipality_id = before
        .strip_suffix('-')
        .is_some_and(|b| b.len() >= 6 && b[b.len() - 6..].bytes().all(|c| c.is_ascii_digit()));
    let atena_system = before.strip_suffix('|').is_some_and(|b| {
        b.rsplit(['=', '&', '?'])
            .next()
            .is_some_and(|system| system.starts_with("urn:jp:vrs:atena:"))
    });
    before.ends_with("/records/") || before.ends_with("atena=") || municipality_id || atena_system
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn spawn_app_with(db: TestDb, settings: Settings) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let limits = vrs_server::serve::ServeLimits::of(&settings);
    let state = AppState::new(db.store.clone(), settings);
    let app = vrs_server::router(state).layer(axum::middleware::from_fn(no_my_number_in_the_url));
    tokio::spawn(vrs_server::serve::serve(
        app,
        listener,
        limits,
        None,
        async {
            let _ = rx.await;
        },
    ));
    TestApp {
        address,
        db,
        shutdown: Some(tx),
    }
}

impl TestApp {
    /// A second server node over the same database, opened separately (its own pool and caches),
    /// as a second `vrs serve` process would. Returns its base URL; it stops with the test runtime.
    pub async fn second_node(&self) -> String {
        let store = self.db.reopen(&self.db.key_hex, false).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(vrs_server::launch(
            AppState::new(store, test_settings()),
            listener,
            std::future::pending(),
        ));
        format!("http://{address}")
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.db.cleanup().await;
    }

    /// Issues a prefecture viewer of prefecture `pref` (e.g. "38") with the known password.
    pub async fn prefecture_account(&self, user_id: &str, pref: &str) {
        let account = Account {
            user_id: user_id.parse().unwrap(),
            role: vrs_domain::Role::PrefectureViewer,
            municipality: None,
            prefecture: Some(vrs_domain::PrefectureCode::parse(pref).unwrap()),
            display_name: user_id.into(),
            password_hash: vrs_crypto::password::hash_password(PASSWORD).unwrap(),
            must_change_password: false,
            failed_logins: 0,
            locked_until: None,
            disabled: false,
            issued_by: "test".into(),
            created_at: chrono::Utc::now(),
        };
        let audit = vrs_store::AuditEntry::now("test", "test", "local", "account.issue", user_id);
        self.db
            .store
            .create_account(&account, AuditScope::National, &audit)
            .await
            .unwrap();
    }

    /// Issues an account with the known initial password.
    pub async fn account(
        &self,
        user_id: &str,
        role: &str,
        municipality: Option<&str>,
        must_change: bool,
    ) {
        let account = Account {
            user_id: user_id.parse().unwrap(),
            role: vrs_domain::Role::parse(role).unwrap(),
            municipality: municipality.map(|m| vrs_domain::MunicipalityCode::parse(m).unwrap()),
            prefecture: None,
            display_name: format!("{user_id} さん"),
            password_hash: vrs_crypto::password::hash_password(PASSWORD).unwrap(),
            must_change_password: must_change,
            failed_logins: 0,
            locked_until: None,
            disabled: false,
            issued_by: "test".into(),
            created_at: chrono::Utc::now(),
        };
        let scope = account
            .municipality
            .map(AuditScope::Area)
            .unwrap_or(AuditScope::National);
        let audit = vrs_store::AuditEntry::now("test", "test", "local", "account.issue", user_id);
        self.db
            .store
            .create_account(&account, scope, &audit)
            .await
            .unwrap();
    }

    /// A browser on a terminal: keeps cookies, does not follow redirects.
    pub fn browser(&self, from: &'static str) -> Browser {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Browser {
            client,
            base: format!("http://{}", self.address),
            from,
        }
    }
}

pub struct Browser {
    pub client: reqwest::Client,
    pub base: String,
    pub from: &'static str,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

impl Browser {
    /// Sends a request built by hand, from this browser's address.
    pub async fn page_of(&self, r: reqwest::RequestBuilder) -> Page {
        self.page(r).await
    }

    async fn page(&self, r: reqwest::RequestBuilder) -> Page {
        let r = r.header("x-forwarded-for", self.from).send().await.unwrap();
        Page {
            status: r.status().as_u16(),
            location: r
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_owned()),
            body: r.text().await.unwrap(),
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        self.page(self.client.get(format!("{}{path}", self.base)))
            .await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        self.page(self.client.post(format!("{}{path}", self.base)).form(form))
            .await
    }

    /// A GET whose URL holds a My Number on purpose, to see the server refuse it.
    pub async fn get_my_number_in_url(&self, path: &str) -> Page {
        self.page(
            self.client
                .get(format!("{}{path}", self.base))
                .header(MY_NUMBER_IN_URL_ON_PURPOSE, "1"),
        )
        .await
    }

    /// A JSON request with extra headers.
    pub async fn json(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Page {
        let mut r = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_owned());
        for (name, value) in headers {
            r = r.header(*name, *value);
        }
        self.page(r).await
    }

    /// A multipart form (a file upload): text fields and one file.
    pub async fn upload(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        file_field: &str,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> Page {
        let mut form = reqwest::multipart::Form::new();
        for (name, value) in fields {
            form = form.text(name.to_string(), value.to_string());
        }
        let part = reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_owned());
        form = form.part(file_field.to_owned(), part);
        self.page(
            self.client
                .post(format!("{}{path}", self.base))
                .multipart(form),
        )
        .await
    }

    /// The bytes of a download.
    pub async fn download(&self, path: &str) -> (u16, Vec<u8>) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .header("x-forwarded-for", self.from)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
    }

    /// The CSRF token of the form on `path`.
    pub async fn csrf(&self, path: &str) -> String {
        let page = self.get(path).await;
        hidden(&page.body, "csrf")
            .unwrap_or_else(|| panic!("no csrf field on {path}: {}", page.body))
    }

    pub async fn healthz(&self) -> Page {
        self.get("/healthz").await
    }

    pub async fn login(&self, user_id: &str, password: &str) -> Page {
        let csrf = self.csrf("/login").await;
        self.post(
            "/login",
            &[
                ("user_id", user_id),
                ("password", password),
                ("csrf", &csrf),
            ],
        )
        .await
    }

    pub async fn change_password(&self, current: &str, new: &str) -> Page {
        let csrf = self.csrf("/password").await;
        self.post(
            "/password",
            &[
                ("csrf", &csrf),
                ("current", current),
                ("new", new),
                ("again", new),
            ],
        )
        .await
    }

    pub async fn logout(&self) -> Page {
        let csrf = self.csrf("/").await;
        self.post("/logout", &[("csrf", &csrf)]).await
    }
}

/// The value of a hidden input named `name`.
pub fn hidden(body: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body.find(&marker)? + marker.len();
    let end = body[start..].find('"')? + start;
    Some(body[start..end].to_owned())
}

/// `count` synthetic people of `municipality` (from `seed`): the k-th has `k % 3` doses of
/// Comirnaty, dose n given `21 n + k % spread` days after 2021-06-01. Not yet counted.
pub async fn people_with_doses(
    app: &TestApp,
    municipality: vrs_domain::MunicipalityCode,
    count: u64,
    seed: u64,
    spread: u64,
) {
    let m = municipality;
    let audit = vrs_store::AuditEntry::now("test", "test", "local", "resident.put", "x");
    let people: Vec<_> = vrs_interop::Synthetic::new(m, count, seed).collect();
    let mut doses = Vec::new();
    for (k, p) in people.iter().enumerate() {
        app.db.store.area(m).put_resident(p, &audit).await.unwrap();
        for n in 1..=(k % 3) as u8 {
            doses.push(vrs_domain::DoseRecord::now(
                vrs_domain::Dose {
                    municipality: m,
                    atena: p.atena.clone(),
                    dose_number: vrs_domain::DoseNumber::from_int(n).unwrap(),
                    administered_on: chrono::NaiveDate::from_ymd_opt(2021, 6, 1).unwrap()
                        + chrono::Days::new(u64::from(n) * 21 + k as u64 % spread),
                    product: vrs_domain::VaccineProduct::by_code("comirnaty").unwrap(),
                    lot_number: vrs_domain::LotNumber::parse("FA4597").unwrap(),
                    site_municipality: m,
                    coupon: p.coupon,
                },
                vrs_domain::DoseSource::Csv,
            ));
        }
    }
    app.db
        .store
        .area(m)
        .add_doses(&doses, "t", &audit)
        .await
        .unwrap();
}

/// Two residents of 西条市 (from synthetic `seed`), the staff account `saijo-ehr` a health record
/// system signs in as, and the site tablet `saijo-tablet`; for the interoperability tests.
pub async fn ehr_setup(app: &TestApp, seed: u64) -> (vrs_domain::Resident, vrs_domain::Resident) {
    let saijo = vrs_domain::MunicipalityCode::parse("382060").unwrap();
    let audit = vrs_store::AuditEntry::now("test", "test", "local", "resident.put", "x");
    let mut people = vrs_interop::Synthetic::new(saijo, 2, seed);
    let (a, b) = (people.next().unwrap(), people.next().unwrap());
    for p in [&a, &b] {
        app.db
            .store
            .area(saijo)
            .put_resident(p, &audit)
            .await
            .unwrap();
    }
    app.account("saijo-ehr", "municipal_staff", Some("382060"), false)
        .await;
    app.account("saijo-tablet", "site_tablet", Some("382060"), false)
        .await;
    (a, b)
}

/// `on_both_backends!(TestApp: …)`: each case gets a server over a fresh database of each backend.
impl vrs_store::testkit::Fixture for TestApp {
    async fn open(db: TestDb) -> Self {
        spawn_app(db).await
    }

    async fn close(self) {
        self.stop().await;
    }
}
