//! FHIR R4 over real HTTP on SQLite and PostgreSQL: a dose goes out as an Immunization and comes
//! back as the same dose; creates and transactions store all or nothing under the dose rules, with
//! an OperationOutcome naming each element refused; reads and searches stay in the caller's
//! municipality; every refusal is an OperationOutcome. Every resource the server sends is checked
//! with an offline FHIR R4 validator built from the official StructureDefinitions (required
//! elements, unknown elements, types and ranges), and the count of resources checked is printed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;
use vrs_store::on_both_backends;
use vrs_store::Areas;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use octofhir_fhirschema::{get_schemas, FhirValidator, FhirVersion, InMemorySchemaProvider};
use serde_json::{json, Value};
use support::{Browser, TestApp, LGWAN, PASSWORD};
use vrs_domain::{
    Dose, DoseRecord, DoseSource, LotNumber, MunicipalityCode, Resident, VaccineProduct,
};
use vrs_interop::fhir::{immunization, read_immunization};

on_both_backends!(
    TestApp:
    a_dose_round_trips_and_bad_resources_store_nothing,
    reads_and_searches_stay_in_the_municipality,
    searches_page_honour_token_systems_and_refuse_unknown_elements_and_xml,
);

fn saijo() -> MunicipalityCode {
    MunicipalityCode::parse("382060").unwrap()
}

async fn setup(app: &TestApp) -> (Resident, Resident) {
    support::ehr_setup(app, 31).await
}

fn resource(p: &Resident, n: u8, day: u32, lot: &str) -> Value {
    let d = DoseRecord::now(
        Dose {
            municipality: p.municipality,
            atena: p.atena.clone(),
            dose_number: vrs_domain::DoseNumber::from_int(n).unwrap(),
            administered_on: chrono::NaiveDate::from_ymd_opt(2021, 6, day).unwrap(),
            product: VaccineProduct::by_code("comirnaty").unwrap(),
            lot_number: LotNumber::parse(lot).unwrap(),
            site_municipality: p.municipality,
            coupon: p.coupon,
        },
        DoseSource::Tablet,
    );
    let mut v = immunization(&DoseRecord {
        venue: "西条市総合体育館".into(),
        doctor: "山田　太郎".into(),
        ..d
    });
    v.as_object_mut().unwrap().remove("id");
    v
}

async fn signed_in(app: &TestApp, user: &str) -> Browser {
    let b = app.browser(LGWAN);
    b.login(user, PASSWORD).await;
    b
}

async fn send(
    b: &Browser,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let posting = method != reqwest::Method::GET;
    let mut r = b
        .client
        .request(method, format!("{}{path}", b.base))
        .header("x-forwarded-for", LGWAN)
        .header("accept", "application/fhir+json");
    if posting {
        // The session's token where the session has pages (a tablet's has none to give).
        if let Some(token) = support::hidden(&b.get("/").await.body, "csrf") {
            r = r.header("x-csrf-token", token);
        }
    }
    if let Some(body) = body {
        r = r
            .header("content-type", "application/fhir+json")
            .body(body.to_string());
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("application/fhir+json"), "{path}: {ct}");
    let value: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_valid(&value).await;
    (status, value)
}

/// The offline FHIR R4 validator (octofhir-fhirschema, with its embedded R4 schemas).
fn validator() -> &'static FhirValidator {
    static V: OnceLock<FhirValidator> = OnceLock::new();
    V.get_or_init(|| {
        let map = get_schemas(FhirVersion::R4)
            .iter()
            .map(|(k, v)| (k.clone(), Arc::new(v.clone())))
            .collect();
        FhirValidator::new(Arc::new(InMemorySchemaProvider::from_map(map)))
    })
}

static CHECKED: AtomicUsize = AtomicUsize::new(0);

/// Fails when `resource` is not valid FHIR R4 (a Bundle's entries are checked one by one too).
async fn assert_valid(resource: &Value) {
    let kind = resource["resourceType"].as_str().unwrap().to_owned();
    let result = validator().validate(resource, vec![kind.clone()]).await;
    assert!(
        result.valid,
        "{kind} is not valid FHIR R4: {:?}\n{resource}",
        result.errors
    );
    CHECKED.fetch_add(1, Ordering::Relaxed);
    if kind == "Bundle" {
        for e in resource["entry"].as_array().cloned().unwrap_or_default() {
            if e["resource"].is_object() {
                Box::pin(assert_valid(&e["resource"])).await;
            }
        }
    }
}

fn expressions(outcome: &Value) -> Vec<String> {
    assert_eq!(outcome["resourceType"], "OperationOutcome", "{outcome}");
    outcome["issue"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|i| i["expression"].as_array().cloned().unwrap_or_default())
        .map(|e| e.as_str().unwrap().to_owned())
        .collect()
}

async fn stored(app: &TestApp, p: &Resident) -> Vec<DoseRecord> {
    app.db.store.area(saijo()).doses_of(&p.atena).await.unwrap()
}

async fn a_dose_round_trips_and_bad_resources_store_nothing(app: &TestApp) {
    use reqwest::Method;
    let (a, b) = setup(app).await;
    let ehr = signed_in(app, "saijo-ehr").await;

    // Malformed: 400 naming the elements; refused by the rules or the records: 422; nothing stored.
    let mut bad = resource(&a, 1, 1, "FA4597");
    bad["lotNumber"] = json!("");
    bad["protocolApplied"][0]["doseNumberPositiveInt"] = json!(0);
    let (status, outcome) = send(&ehr, Method::POST, "/fhir/Immunization", Some(&bad)).await;
    assert_eq!(status, 400);
    assert_eq!(
        expressions(&outcome),
        [
            "Immunization.lotNumber",
            "Immunization.protocolApplied.doseNumber"
        ]
    );
    let (status, _) = send(
        &ehr,
        Method::POST,
        "/fhir/Immunization",
        Some(&json!("not a resource")),
    )
    .await;
    assert_eq!(status, 400);
    let mut elsewhere = resource(&a, 1, 1, "FA4597");
    elsewhere["patient"]["reference"] = json!(format!("Patient/131016-{}", a.atena));
    let (status, outcome) = send(&ehr, Method::POST, "/fhir/Immunization", Some(&elsewhere)).await;
    assert_eq!(status, 422, "{outcome}");
    assert_eq!(outcome["issue"][0]["code"], "not-found");
    let mut future = resource(&a, 1, 1, "FA4597");
    future["occurrenceDateTime"] = json!("2099-01-01");
    let (status, outcome) = send(&ehr, Method::POST, "/fhir/Immunization", Some(&future)).await;
    assert_eq!(status, 422, "a dose in the future: {outcome}");
    assert_eq!(outcome["issue"][0]["code"], "business-rule");
    assert!(stored(app, &a).await.is_empty());

    // Created: 201 with its location, stored as from FHIR.
    let r = ehr
        .client
        .post(format!("{}/fhir/Immunization", ehr.base))
        .header("x-forwarded-for", LGWAN)
        .header("x-csrf-token", ehr.csrf("/records").await)
        .header("content-type", "application/fhir+json")
        .body(resource(&a, 1, 1, "FA4597").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let path = location[location.find("/fhir/").unwrap()..].to_owned();
    let created: Value = r.json().await.unwrap();
    assert_valid(&created).await;
    assert!(
        location.starts_with("http")
            && location.ends_with(&format!("/fhir/Immunization/382060-{}-1", a.atena)),
        "{location}"
    );
    let doses = stored(app, &a).await;
    assert_eq!(doses.len(), 1);
    assert_eq!(doses[0].source, DoseSource::Fhir);

    // Round trip: the stored dose read as FHIR reads back as the same dose.
    let (status, read) = send(&ehr, Method::GET, &path, None).await;
    assert_eq!(status, 200);
    let back = read_immunization(&read).unwrap().record(a.coupon);
    assert_eq!(back.dose, doses[0].dose);
    assert_eq!(
        (back.venue.as_str(), back.doctor.as_str()),
        ("西条市総合体育館", "山田　太郎")
    );

    // A transaction with one bad entry stores nothing; the good one stores both.
    let entry =
        |v: Value| json!({"request": {"method": "POST", "url": "Immunization"}, "resource": v});
    let mut second_bad = resource(&b, 1, 3, "FA4597");
    second_bad["occurrenceDateTime"] = json!("yesterday");
    let tx = json!({"resourceType": "Bundle", "type": "transaction",
                    "entry": [entry(resource(&a, 2, 22, "FC3661")), entry(second_bad)]});
    let (status, outcome) = send(&ehr, Method::POST, "/fhir", Some(&tx)).await;
    assert_eq!(status, 400);
    assert_eq!(
        expressions(&outcome),
        ["Bundle.entry[1].resource.occurrence"]
    );
    assert_eq!(stored(app, &a).await.len(), 1);
    let tx = json!({"resourceType": "Bundle", "type": "transaction",
                    "entry": [entry(resource(&a, 2, 22, "FC3661")), entry(resource(&b, 1, 3, "FA4597"))]});
    let (status, response) = send(&ehr, Method::POST, "/fhir", Some(&tx)).await;
    assert_eq!(status, 200, "{response}");
    assert_eq!(response["type"], "transaction-response");
    assert_eq!(
        response["entry"][1]["response"]["location"],
        format!("Immunization/382060-{}-1", b.atena)
    );
    assert_eq!(stored(app, &a).await.len(), 2);
    assert_eq!(stored(app, &b).await.len(), 1);
    // The same again: the dose numbers are taken; nothing changes.
    let (status, _) = send(&ehr, Method::POST, "/fhir", Some(&tx)).await;
    assert_eq!(status, 422);
    assert_eq!(stored(app, &a).await.len(), 2);

    // Who may: a tablet is refused and nobody without a session; both as OperationOutcomes.
    let tablet = signed_in(app, "saijo-tablet").await;
    let (status, outcome) = send(
        &tablet,
        Method::POST,
        "/fhir/Immunization",
        Some(&resource(&b, 2, 24, "FC3661")),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    let anonymous = app.browser(LGWAN);
    let (status, outcome) = send(&anonymous, Method::GET, &path, None).await;
    assert_eq!(status, 401);
    assert_eq!(outcome["issue"][0]["code"], "login");
    let (status, outcome) = send(&anonymous, Method::GET, "/fhir/Observation/1", None).await;
    assert_eq!(
        (status, outcome["issue"][0]["code"].as_str()),
        (404, Some("not-supported"))
    );
    let (status, cap) = send(&anonymous, Method::GET, "/fhir/metadata", None).await;
    assert_eq!(
        (status, cap["resourceType"].as_str()),
        (200, Some("CapabilityStatement"))
    );
}

async fn reads_and_searches_stay_in_the_municipality(app: &TestApp) {
    use reqwest::Method;
    let (a, b) = setup(app).await;
    let ehr = signed_in(app, "saijo-ehr").await;
    for v in [
        resource(&a, 1, 1, "FA4597"),
        resource(&a, 2, 22, "FC3661"),
        resource(&b, 1, 5, "FA4597"),
    ] {
        assert_eq!(
            send(&ehr, Method::POST, "/fhir/Immunization", Some(&v))
                .await
                .0,
            201
        );
    }
    let (status, p) = send(
        &ehr,
        Method::GET,
        &format!("/fhir/Patient/382060-{}", a.atena),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(p["birthDate"], a.birth_date.to_string());
    assert!(
        !p.to_string().contains(a.my_number.expose()),
        "no My Number in a Patient"
    );
    let (status, _) = send(
        &ehr,
        Method::GET,
        &format!("/fhir/Patient/131016-{}", a.atena),
        None,
    )
    .await;
    assert_eq!(status, 404);

    let search = format!(
        "/fhir/Patient?identifier=urn:jp:vrs:coupon:382060|{}",
        b.coupon
    );
    let (_, found) = send(&ehr, Method::GET, &search, None).await;
    assert_eq!(found["total"], 1);
    assert_eq!(
        found["entry"][0]["resource"]["id"],
        format!("382060-{}", b.atena)
    );
    let (status, _) = send(
        &ehr,
        Method::GET,
        "/fhir/Patient?identifier=http://example.org|1",
        None,
    )
    .await;
    assert_eq!(status, 400);

    // By kana name and birth date; by My Number only from LG-WAN (here LG-WAN), never from the
    // internet.
    let kana = a.name_kana.as_str().replace('　', "");
    let search = format!("/fhir/Patient?name={kana}&birthdate={}", a.birth_date);
    let (_, found) = send(&ehr, Method::GET, &search, None).await;
    assert_eq!(
        found["entry"][0]["resource"]["id"],
        format!("382060-{}", a.atena),
        "{found}"
    );
    // By My Number only with POST /fhir/Patient/_search: the number stays out of the URL.
    let identifier = format!("urn:jp:mynumber|{}", a.my_number.expose());
    let form = serde_urlencoded::to_string([("identifier", identifier.as_str())]).unwrap();
    let search_post =
        |b: &Browser, from: &'static str, token: String, content_type: &'static str| {
            let request = b
                .client
                .post(format!("{}/fhir/Patient/_search", b.base))
                .header("x-forwarded-for", from)
                .header("x-csrf-token", token)
                .header("content-type", content_type)
                .body(form.clone());
            async move {
                let r = request.send().await.unwrap();
                let status = r.status().as_u16();
                let value: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
                (status, value)
            }
        };
    let token = ehr.csrf("/records").await;
    // A FHIR write carries the session's CSRF token and a JSON media type.
    let write = |token: Option<String>, content_type: &'static str| {
        let mut r = ehr
            .client
            .post(format!("{}/fhir/Immunization", ehr.base))
            .header("x-forwarded-for", LGWAN)
            .header("content-type", content_type)
            .body("{\"resourceType\": \"Immunization\"}");
        if let Some(t) = token {
            r = r.header("x-csrf-token", t);
        }
        async move { r.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(write(None, "application/fhir+json").await, 403);
    assert_eq!(write(Some(token.clone()), "text/plain").await, 415);
    assert_eq!(
        write(Some(token.clone()), "application/x-www-form-urlencoded").await,
        415
    );
    assert_eq!(
        write(Some(token.clone()), "application/fhir+json").await,
        400
    );
    let form_type = "application/x-www-form-urlencoded";
    let (status, found) = search_post(&ehr, LGWAN, token.clone(), form_type).await;
    assert_eq!((status, found["total"].as_u64()), (200, Some(1)), "{found}");
    assert_valid(&found).await;
    assert_eq!(
        found["entry"][0]["resource"]["id"],
        format!("382060-{}", a.atena)
    );
    let (status, _) = search_post(&ehr, LGWAN, "forged".into(), form_type).await;
    assert_eq!(status, 403);
    let (status, refused) = search_post(&ehr, LGWAN, token.clone(), "application/json").await;
    assert_eq!(status, 415, "{refused}");
    // The same search in a URL is refused, naming the way that works, and the number is not
    // repeated.
    let in_url = ehr
        .get_my_number_in_url(&format!("/fhir/Patient?identifier={identifier}"))
        .await;
    assert_eq!(in_url.status, 400, "{}", in_url.body);
    assert!(
        in_url.body.contains("/fhir/Patient/_search"),
        "{}",
        in_url.body
    );
    assert!(
        !in_url.body.contains(a.my_number.expose()),
        "{}",
        in_url.body
    );
    // Never from the internet.
    let outside = app.browser(support::INTERNET);
    outside.login("saijo-ehr", PASSWORD).await;
    let outside_token = outside.csrf("/records").await;
    let (status, _) = search_post(&outside, support::INTERNET, outside_token, form_type).await;
    assert_eq!(status, 403);
    let (status, _) = send(&ehr, Method::GET, "/fhir/Patient?name=xyz", None).await;
    assert_eq!(status, 400);

    let by = |q: &str| format!("/fhir/Immunization?patient=Patient/382060-{}{q}", a.atena);
    let (_, all) = send(&ehr, Method::GET, &by(""), None).await;
    assert_eq!(all["total"], 2, "exactly the person's doses");
    let (_, later) = send(&ehr, Method::GET, &by("&date=ge2021-06-10"), None).await;
    assert_eq!(later["total"], 1);
    assert_eq!(later["entry"][0]["resource"]["lotNumber"], "FC3661");
    let (_, coded) = send(
        &ehr,
        Method::GET,
        &by("&vaccine-code=http://hl7.org/fhir/sid/cvx|207"),
        None,
    )
    .await;
    assert_eq!(coded["total"], 0);
    let (status, _) = send(&ehr, Method::GET, &by("&date=yesterday"), None).await;
    assert_eq!(status, 400);
    let (_, other) = send(
        &ehr,
        Method::GET,
        &format!("/fhir/Immunization?patient=Patient/131016-{}", a.atena),
        None,
    )
    .await;
    assert_eq!(other["total"], 0);
    eprintln!(
        "FHIR R4 resources validated so far: {}",
        CHECKED.load(Ordering::Relaxed)
    );
}

/// FHIR's own rules, read from the R4 specification against our answers: searchsets page with
/// `_count` and `next` and name their parameters in `self`; a token `system|code` matches only that
/// system; an element Immunization does not have is refused, not stored; XML is 406.
async fn searches_page_honour_token_systems_and_refuse_unknown_elements_and_xml(app: &TestApp) {
    use reqwest::Method;
    let (a, _) = setup(app).await;
    let ehr = signed_in(app, "saijo-ehr").await;
    for (n, date) in [(1, "2021-06-01"), (2, "2021-06-22"), (3, "2021-12-01")] {
        let mut dose = resource(&a, n, 1, "FA4597");
        dose["occurrenceDateTime"] = json!(date);
        let (status, created) = send(&ehr, Method::POST, "/fhir/Immunization", Some(&dose)).await;
        assert_eq!(status, 201, "{created}");
    }
    let patient = format!("Patient/382060-{}", a.atena);

    // Paging: two of three, a next link naming the search, then the last one.
    let (status, first) = send(
        &ehr,
        Method::GET,
        &format!("/fhir/Immunization?patient={patient}&_count=2"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["total"], 3);
    assert_eq!(first["entry"].as_array().unwrap().len(), 2);
    let link = |bundle: &Value, relation: &str| {
        bundle["link"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["relation"] == relation)
            .map(|l| l["url"].as_str().unwrap().to_owned())
    };
    let own = link(&first, "self").unwrap();
    assert!(
        own.starts_with("http") && own.contains("patient=Patient%2F382060-"),
        "{own}"
    );
    assert!(
        own.contains("_count=2") && own.contains("_offset=0"),
        "{own}"
    );
    assert!(first["entry"][0]["fullUrl"]
        .as_str()
        .unwrap()
        .starts_with("http"));
    let next = link(&first, "next").unwrap();
    let (status, second) = send(
        &ehr,
        Method::GET,
        &next[next.find("/fhir/").unwrap()..],
        None,
    )
    .await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["entry"].as_array().unwrap().len(), 1);
    assert!(link(&second, "next").is_none());
    let (status, bad) = send(
        &ehr,
        Method::GET,
        &format!("/fhir/Immunization?patient={patient}&_count=many"),
        None,
    )
    .await;
    assert_eq!(
        (status, bad["resourceType"].as_str()),
        (400, Some("OperationOutcome"))
    );

    // Token search: the system counts.
    for (token, expected) in [
        ("208", 3),
        ("http://hl7.org/fhir/sid/cvx|208", 3),
        ("http://hl7.org/fhir/sid/cvx|", 3),
        ("urn:jp:vrs:product|comirnaty", 3),
        ("urn:foo|208", 0),
        ("http://snomed.info/sct|208", 0),
        ("|208", 0),
        ("http://hl7.org/fhir/sid/cvx|207", 0),
    ] {
        let query =
            serde_urlencoded::to_string([("patient", patient.as_str()), ("vaccine-code", token)])
                .unwrap();
        let (status, found) = send(
            &ehr,
            Method::GET,
            &format!("/fhir/Immunization?{query}"),
            None,
        )
        .await;
        assert_eq!(status, 200, "{found}");
        assert_eq!(found["total"], expected, "vaccine-code={token}");
    }

    // An element Immunization does not have: 400 naming it, nothing stored.
    let mut bogus = resource(&a, 4, 1, "FA4597");
    bogus["occurrenceDateTime"] = json!("2022-06-01");
    bogus["bogusElement"] = json!(1);
    let (status, outcome) = send(&ehr, Method::POST, "/fhir/Immunization", Some(&bogus)).await;
    assert_eq!(status, 400, "{outcome}");
    assert_eq!(expressions(&outcome), ["Immunization.bogusElement"]);
    assert_eq!(stored(app, &a).await.len(), 3);

    // A method the resource does not offer: 405, still an OperationOutcome.
    let (status, outcome) = send(
        &ehr,
        Method::DELETE,
        &format!("/fhir/Immunization/382060-{}-1", a.atena),
        None,
    )
    .await;
    assert_eq!(
        (status, outcome["issue"][0]["code"].as_str()),
        (405, Some("not-supported")),
        "{outcome}"
    );

    // JSON only: XML asked for by Accept or _format is 406, as an OperationOutcome in JSON.
    for (path, accept) in [
        (
            format!("/fhir/Immunization?patient={patient}"),
            "application/fhir+xml",
        ),
        (
            format!("/fhir/Immunization?patient={patient}&_format=xml"),
            "*/*",
        ),
        ("/fhir/metadata".to_owned(), "application/xml"),
    ] {
        let r = ehr
            .client
            .get(format!("{}{path}", ehr.base))
            .header("x-forwarded-for", LGWAN)
            .header("accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 406, "{path} {accept}");
        let outcome: Value = r.json().await.unwrap();
        assert_eq!(outcome["resourceType"], "OperationOutcome");
    }
}
