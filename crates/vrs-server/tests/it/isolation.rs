//! The tenant-isolation matrix: every route of the router (from `vrs_server::routes()`, the table the
//! router is built from, so a new route cannot be forgotten), every method, called by every role of
//! 西条市 and by an anonymous visitor, with identifiers of 千代田区. No call may answer 2xx with
//! 千代田区's data (a site tablet reading a 千代田区 coupon learns the municipality, which is its
//! job, but never a name); no response to a tablet, prefecture, national or kiosk session may hold a
//! 12-digit number (a My Number); a route for an audience refuses everyone else.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;
use vrs_store::Areas;

use support::{spawn_app, Browser, TestApp, LGWAN, PASSWORD};
use vrs_core::access::{Action, Role};
use vrs_server::{routes, Audience};
use vrs_store::testkit::TestDb;

/// Text that appears only in 千代田区's data (its administrator as a table cell or a CSV field —
/// the bare user ID is what the caller itself sends in the search form).
const FOREIGN: [&str; 4] = [
    "<td>chiyoda-admin</td>",
    ",\"chiyoda-admin\",",
    "千代田マーカー",
    "131016",
];

struct Caller {
    user_id: Option<&'static str>,
    role: &'static str,
}

/// Whether a caller of `role` is among the route's audience: anyone for a public route, otherwise a
/// signed-in caller whose role the route admits (`Audience::admits`: every role for a page of every
/// account, else the roles the access table's allow table gives the route's actions), so the matrix
/// and the access rules cannot drift apart.
fn allowed(audience: Audience, role: &str) -> bool {
    match (audience, Role::parse(role)) {
        (Audience::Public, _) => true,
        (_, Ok(role)) => audience.admits(role),
        (_, Err(_)) => false,
    }
}

/// Whether the body holds a number of exactly 12 digits (the shape of a My Number); digits after a
/// decimal point (metrics' sums) are not such a number.
fn has_twelve_digits(body: &str) -> bool {
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            let after_point = start > 0 && bytes[start - 1] == b'.';
            if i - start == 12 && !after_point {
                return true;
            }
        } else {
            i += 1;
        }
    }
    false
}

#[test]
fn twelve_digit_numbers_are_found() {
    assert!(has_twelve_digits("番号 123456789018 です"));
    assert!(!has_twelve_digits("1234567890123"));
    assert!(!has_twelve_digits("sum 0.123456789012"));
}

/// A person of 千代田区 whose coupon the tablets may read, and whose personal data no response may hold.
const CHIYODA_NAME: &str = "千代田　秘匿";
const CHIYODA_COUPON: &str = "0000000777";

/// What 千代田区 holds that others must never reach.
struct Foreign {
    application: i64,
    atena: String,
    /// An inquiry 千代田区 sent and a bulk inquiry job it ran.
    inquiry: String,
    batch: String,
}

async fn setup(app: &TestApp) -> Foreign {
    let chiyoda_code = vrs_domain::MunicipalityCode::parse("131016").unwrap();
    let mut person = vrs_interop::Synthetic::new(chiyoda_code, 1, 1)
        .next()
        .unwrap();
    person.name = vrs_domain::PersonName::parse(CHIYODA_NAME).unwrap();
    person.coupon = vrs_domain::CouponNumber::parse(CHIYODA_COUPON).unwrap();
    let audit = vrs_store::AuditEntry::now("test", "test", "local", "resident.put", "1");
    app.db
        .store
        .area(chiyoda_code)
        .put_resident(&person, &audit)
        .await
        .unwrap();
    let dose = vrs_domain::Dose {
        municipality: chiyoda_code,
        atena: person.atena.clone(),
        dose_number: vrs_domain::DoseNumber::from_int(1).unwrap(),
        administered_on: chrono::NaiveDate::from_ymd_opt(2021, 6, 1).unwrap(),
        product: vrs_domain::VaccineProduct::by_code("comirnaty").unwrap(),
        lot_number: vrs_domain::LotNumber::parse("FA4597").unwrap(),
        site_municipality: chiyoda_code,
        coupon: person.coupon,
    };
    let dose = vrs_store::Registration::new(
        vrs_domain::DoseRecord::now(dose, vrs_domain::DoseSource::Staff),
        "test",
    );
    app.db
        .store
        .area(chiyoda_code)
        .add_dose(&dose, &audit)
        .await
        .unwrap();
    app.account("chiyoda-admin", "municipal_admin", Some("131016"), false)
        .await;
    for (user_id, role, municipality) in [
        ("op-0001", "national_operator", None),
        ("pref-38", "prefecture_viewer", None),
        ("saijo-admin", "municipal_admin", Some("382060")),
        ("saijo-staff", "municipal_staff", Some("382060")),
        ("saijo-tablet", "site_tablet", Some("382060")),
        ("kiosk", "certificate_service", None),
    ] {
        app.account(user_id, role, municipality, false).await;
    }
    // 千代田区's administrator applies for an account and signs in (its own audit entries).
    let chiyoda = app.browser(LGWAN);
    chiyoda.login("chiyoda-admin", PASSWORD).await;
    let csrf = chiyoda.csrf("/admin/applications").await;
    chiyoda
        .post(
            "/admin/applications",
            &[
                ("csrf", &csrf),
                ("display_name", "千代田マーカー"),
                ("role", "municipal_staff"),
            ],
        )
        .await;
    // 千代田区 asks 札幌市 about its person, once alone and once in a bulk job.
    let staff = vrs_core::Actor {
        user: "chiyoda-admin".into(),
        role: "municipal_admin".into(),
        terminal: "lgwan".into(),
    };
    let sapporo = vrs_domain::MunicipalityCode::parse("011002").unwrap();
    let request = vrs_core::inquiry::InquiryRequest {
        my_number: person.my_number.clone(),
        former: sapporo,
        consent: true,
    };
    let answer = vrs_core::inquiry::inquire(app.db.store.as_ref(), &staff, chiyoda_code, &request)
        .await
        .unwrap();
    let file = format!("{},011002,1\n", person.my_number.expose());
    let bulk = vrs_core::inquiry::bulk::inquire_bulk(
        app.db.store.as_ref(),
        &staff,
        chiyoda_code,
        std::io::Cursor::new(file.into_bytes()),
        vrs_interop::EncodingChoice::Auto,
    )
    .await
    .unwrap();
    Foreign {
        application: app.db.store.applications(None).await.unwrap()[0].id,
        atena: person.atena.to_string(),
        inquiry: answer.inquiry_id,
        batch: bulk.job.batch,
    }
}

async fn call(b: &Browser, method: &str, path: &str, csrf: &str) -> support::Page {
    match method {
        "GET" => b.get(path).await,
        _ => {
            b.post(
                path,
                &[
                    ("csrf", csrf),
                    ("display_name", "x"),
                    ("role", "municipal_staff"),
                    ("user_id", "chiyoda-admin"),
                    ("password", "wrong-password-1A"),
                    ("current", "x"),
                    ("new", "x"),
                    ("again", "x"),
                    ("dose_number", "2"),
                    ("administered_on", "2021-07-01"),
                    ("product", "comirnaty"),
                    ("lot_number", "FC3661"),
                    ("reason", "x"),
                    ("moved_out_on", "2021-08-01"),
                    ("version", "1"),
                    ("read", "1"),
                    ("stop", "0"),
                ],
            )
            .await
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_route_answers_any_role_with_another_municipalitys_data() {
    let app = spawn_app(TestDb::sqlite().await).await;
    let foreign = setup(&app).await;
    let foreign_atena = foreign.atena.clone();
    let callers = [
        Caller {
            user_id: None,
            role: "anonymous",
        },
        Caller {
            user_id: Some("op-0001"),
            role: "national_operator",
        },
        Caller {
            user_id: Some("pref-38"),
            role: "prefecture_viewer",
        },
        Caller {
            user_id: Some("saijo-admin"),
            role: "municipal_admin",
        },
        Caller {
            user_id: Some("saijo-staff"),
            role: "municipal_staff",
        },
        Caller {
            user_id: Some("saijo-tablet"),
            role: "site_tablet",
        },
        Caller {
            user_id: Some("kiosk"),
            role: "certificate_service",
        },
    ];
    let mut calls = 0;
    for route in routes() {
        for method in route.methods {
            // Signing out or changing the password would end the caller's session mid-matrix;
            // those two are exercised by their own tests.
            if matches!(route.path, "/logout" | "/password") && *method == "POST" {
                continue;
            }
            let id = if route.path.starts_with("/inquiries/") {
                foreign.inquiry.clone()
            } else if route.path.starts_with("/fhir/Patient") {
                format!("131016-{}", foreign.atena)
            } else if route.path.starts_with("/fhir/Immunization") {
                format!("131016-{}-1", foreign.atena)
            } else {
                foreign.application.to_string()
            };
            let path = route
                .path
                .replace("{id}", &id)
                .replace("{batch}", &foreign.batch)
                .replace("{kind}", "use")
                .replace("{function}", "kiosk_issuance")
                .replace("{code}", "en")
                .replace("{reference}", &format!("131016-{CHIYODA_COUPON}"))
                .replace("{atena}", &foreign_atena)
                .replace("{n}", "1")
                .replace("{user}", "chiyoda-admin")
                + &if route.path.starts_with("/audit") {
                    "?actor=chiyoda-admin".to_owned()
                } else if route.path == "/records" {
                    format!("?atena={foreign_atena}")
                } else if route.path.contains("statistics") {
                    // Another municipality's statistics, asked for by code.
                    format!(
                        "?municipality=131016{}",
                        if route.path.ends_with("download") {
                            "&table=daily"
                        } else {
                            ""
                        }
                    )
                } else if route.path == "/fhir/Patient" {
                    format!("?identifier=urn:jp:vrs:atena:131016|{foreign_atena}")
                } else if route.path == "/fhir/Immunization" {
                    format!("?patient=Patient/131016-{foreign_atena}")
                } else if route.path == "/doses/export/download" {
                    "?format=csv&encoding=utf-8".to_owned()
                } else {
                    String::new()
                };
            for caller in &callers {
                let b = app.browser(LGWAN);
                let mut csrf = String::new();
                if let Some(user_id) = caller.user_id {
                    b.login(user_id, PASSWORD).await;
                    csrf = b.csrf("/").await;
                }
                let mut page = call(&b, method, &path, &csrf).await;
                calls += 1;
                // A searchset's `self` and `next` links repeat the caller's own search parameters
                // (the other municipality's IDs it asked for); what it found is in the entries.
                if let Ok(mut bundle) = serde_json::from_str::<serde_json::Value>(&page.body) {
                    if bundle["resourceType"] == "Bundle" {
                        if let Some(b) = bundle.as_object_mut() {
                            b.remove("link");
                        }
                        page.body = bundle.to_string();
                    }
                }
                let who = format!("{method} {path} as {}", caller.role);
                assert!(
                    !page.body.contains(CHIYODA_NAME),
                    "{who} answered with a name"
                );
                if (200..300).contains(&page.status) {
                    // The operator decides every municipality's applications, and a site tablet
                    // reads the coupons of every municipality: that is their job.
                    // …and the nation reads every municipality's statistics (counts only).
                    let operator_on_applications = caller.role == "national_operator"
                        && (route.path.starts_with("/operator/")
                            || route.audience.actions().contains(&Action::ReadStatistics));
                    let tablet_on_coupons = !route.audience.actions().is_empty()
                        && route.audience.admits(Role::SiteTablet);
                    if !operator_on_applications && !tablet_on_coupons {
                        let ids = [foreign.inquiry.as_str(), foreign.batch.as_str()];
                        // The list of every municipality a form offers is the public master
                        // list, not another municipality's data.
                        let body =
                            match (page.body.find("<datalist"), page.body.find("</datalist>")) {
                                (Some(from), Some(to)) => {
                                    format!("{}{}", &page.body[..from], &page.body[to..])
                                }
                                _ => page.body.clone(),
                            };
                        for marker in FOREIGN.iter().chain(&ids) {
                            assert!(
                                !body.contains(marker),
                                "{who} answered with {marker}: {}",
                                page.body
                            );
                        }
                    }
                }
                if !allowed(route.audience, caller.role) && route.audience != Audience::Public {
                    assert!(
                        !(200..300).contains(&page.status),
                        "{who} is not for this role but answered {}",
                        page.status
                    );
                }
                if matches!(
                    caller.role,
                    "site_tablet"
                        | "prefecture_viewer"
                        | "national_operator"
                        | "certificate_service"
                ) {
                    assert!(
                        !has_twelve_digits(&page.body),
                        "{who} holds a 12-digit number"
                    );
                }
            }
        }
    }
    assert!(calls > 100, "the matrix made only {calls} calls");
    // Nothing any caller sent changed 千代田区's person or dose.
    let chiyoda_code = vrs_domain::MunicipalityCode::parse("131016").unwrap();
    let atena = vrs_domain::AtenaNumber::parse(&foreign_atena).unwrap();
    let doses = app
        .db
        .store
        .area(chiyoda_code)
        .doses_of(&atena)
        .await
        .unwrap();
    assert_eq!(doses.len(), 1);
    assert_eq!(doses[0].dose.lot_number.as_str(), "FA4597");
    let person = app
        .db
        .store
        .area(chiyoda_code)
        .resident(&atena)
        .await
        .unwrap();
    assert_eq!((person.moved_out_on, person.deceased_on), (None, None));
    eprintln!(
        "tenant-isolation matrix: {calls} calls over {} routes",
        routes().len()
    );
    app.stop().await;
}
