//! Machine clients over real HTTP: an assertion signed with the client's key buys a bearer token
//! at `/oauth/token`; the token reads a coupon, registers a dose and posts a FHIR transaction
//! without a session or a CSRF token; expired, replayed, wrongly signed and removed clients'
//! assertions are refused; scopes narrow what a token does.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use serde_json::{json, Value};
use vrs_crypto::es256::SigningKey;
use vrs_store::{AuditFilter, AuditScope};

use super::support::{ehr_setup, TestApp, INTERNET, LGWAN};

/// A client's key and the JWK Set registered for it.
fn client_key() -> (SigningKey, String) {
    let (key, _) = SigningKey::generate().unwrap();
    let (x, y) = key.public_jwk();
    let jwks = json!({"keys": [{"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": key.kid(),
                                "alg": "ES256", "use": "sig"}]});
    (key, jwks.to_string())
}

/// An assertion of `client` for `aud`, expiring `expires_in` seconds from now.
fn assertion(key: &SigningKey, client: &str, aud: &str, expires_in: i64, jti: &str) -> String {
    let header = json!({"alg": "ES256", "typ": "JWT", "kid": key.kid()});
    let exp = chrono::Utc::now().timestamp() + expires_in;
    let claims = json!({"iss": client, "sub": client, "aud": aud, "exp": exp, "jti": jti});
    let input = format!(
        "{}.{}",
        B64URL.encode(header.to_string()),
        B64URL.encode(claims.to_string())
    );
    let signature = key.sign(input.as_bytes()).unwrap();
    format!("{input}.{}", B64URL.encode(signature))
}

struct Answer {
    status: u16,
    body: Value,
    headers: reqwest::header::HeaderMap,
}

async fn send(r: reqwest::RequestBuilder, from: &str) -> Answer {
    let r = r.header("x-forwarded-for", from).send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| json!({ "text": text }));
    Answer {
        status,
        body,
        headers,
    }
}

async fn token_request(app: &TestApp, form: &[(&str, &str)], from: &str) -> Answer {
    send(
        reqwest::Client::new()
            .post(format!("http://{}/oauth/token", app.address))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(form).unwrap()),
        from,
    )
    .await
}

async fn token_for(app: &TestApp, assertion: &str, scope: Option<&str>, from: &str) -> Answer {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion),
    ];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    token_request(app, &form, from).await
}

fn bearer(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .request(method, format!("http://{}{path}", app.address))
        .header("authorization", format!("Bearer {token}"))
}

/// A refusal of the token endpoint: OAuth's `error` and the API's shape, both.
fn refused(answer: &Answer, status: u16, error: &str) {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_eq!(answer.body["error"], error, "{}", answer.body);
    assert_eq!(answer.body["code"], error, "{}", answer.body);
    for key in ["message_ja", "message_en", "error_description"] {
        assert!(
            answer.body[key].as_str().is_some_and(|m| !m.is_empty()),
            "{key}: {}",
            answer.body
        );
    }
}

pub async fn machine_clients_get_tokens_by_signed_assertion_and_act_within_their_scopes(
    app: &TestApp,
) {
    let (a, b) = ehr_setup(app, 41).await;
    let store = app.db.store.as_ref();
    let operator = vrs_core::Actor::command_line();
    let (site_key, site_jwks) = client_key();
    let (city_key, city_jwks) = client_key();
    vrs_core::clients::register(
        store,
        &operator,
        &"saijo-tablet".parse().unwrap(),
        &site_jwks,
        "coupons.read doses.write",
    )
    .await
    .unwrap();
    vrs_core::clients::register(
        store,
        &operator,
        &"saijo-ehr".parse().unwrap(),
        &city_jwks,
        "system/Immunization.write system/Patient.read targets.import",
    )
    .await
    .unwrap();
    // A scope the role cannot use, a private key, a key that is not a key: refused at registration.
    let tablet: vrs_domain::UserId = "saijo-tablet".parse().unwrap();
    for (jwks, scopes) in [
        (site_jwks.as_str(), "certificates.issue"),
        (
            r#"{"kty":"EC","crv":"P-256","x":"AA","y":"AA","d":"AA"}"#,
            "doses.write",
        ),
        (r#"{"kty":"oct","k":"c2VjcmV0"}"#, "doses.write"),
        ("not json", "doses.write"),
    ] {
        assert!(
            vrs_core::clients::register(store, &operator, &tablet, jwks, scopes)
                .await
                .is_err(),
            "{jwks} {scopes}"
        );
    }

    // Discovery: the SMART configuration and the CapabilityStatement name the token endpoint.
    let config = send(
        reqwest::Client::new().get(format!(
            "http://{}/fhir/.well-known/smart-configuration",
            app.address
        )),
        INTERNET,
    )
    .await;
    assert_eq!(config.status, 200);
    let aud = config.body["token_endpoint"].as_str().unwrap().to_owned();
    assert!(aud.ends_with("/oauth/token"), "{aud}");
    assert_eq!(
        config.body["token_endpoint_auth_methods_supported"],
        json!(["private_key_jwt"])
    );
    let capability = send(
        reqwest::Client::new().get(format!("http://{}/fhir/metadata", app.address)),
        INTERNET,
    )
    .await;
    assert_eq!(
        capability.body["rest"][0]["security"]["extension"][0]["extension"][0]["valueUri"],
        json!(aud)
    );
    assert!(capability.body["implementation"]["url"].is_string());

    // The site's system: a token for its two scopes, from the internet like a tablet.
    let granted = token_for(
        app,
        &assertion(&site_key, "saijo-tablet", &aud, 120, "s-1"),
        None,
        INTERNET,
    )
    .await;
    assert_eq!(granted.status, 200, "{}", granted.body);
    assert_eq!(granted.body["token_type"], "bearer");
    assert_eq!(granted.body["scope"], "coupons.read doses.write");
    assert_eq!(granted.body["expires_in"], 300);
    assert_eq!(granted.headers["cache-control"], "no-store");
    let site = granted.body["access_token"].as_str().unwrap().to_owned();

    let ocr = format!("11382060{}", a.coupon);
    let coupon = send(
        bearer(
            app,
            reqwest::Method::GET,
            &format!("/api/v1/coupons/{ocr}"),
            &site,
        ),
        INTERNET,
    )
    .await;
    assert_eq!(coupon.status, 200, "{}", coupon.body);
    assert_eq!(coupon.body["next_dose_number"], 1);
    let dose = json!({"coupon": ocr, "dose_number": 1, "administered_on": "2021-06-01",
                      "product": "comirnaty", "lot_number": "FA4597", "venue": "西条市総合体育館"});
    let registered = send(
        bearer(app, reqwest::Method::POST, "/api/v1/doses", &site)
            .header("idempotency-key", "oauth-test-1")
            .json(&dose),
        INTERNET,
    )
    .await;
    assert!(
        (200..300).contains(&registered.status),
        "{}",
        registered.body
    );
    let saijo = vrs_domain::MunicipalityCode::parse("382060").unwrap();
    let by_client = store
        .audit_search(
            AuditScope::Area(saijo),
            &AuditFilter {
                actor: Some("saijo-tablet".into()),
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let actions: Vec<&str> = by_client.iter().map(|e| e.entry.action.as_str()).collect();
    assert!(actions.contains(&"client.token"), "{actions:?}");
    assert!(actions.contains(&"dose.register"), "{actions:?}");

    // A narrower token: coupons only. Registering is refused naming the scope it needs.
    let narrow = token_for(
        app,
        &assertion(&site_key, "saijo-tablet", &aud, 120, "s-2"),
        Some("coupons.read"),
        INTERNET,
    )
    .await;
    assert_eq!(narrow.body["scope"], "coupons.read", "{}", narrow.body);
    let narrow = narrow.body["access_token"].as_str().unwrap().to_owned();
    let dose2 = json!({"coupon": ocr, "dose_number": 2, "administered_on": "2021-06-22",
                       "product": "comirnaty", "lot_number": "FA4597"});
    let out_of_scope = send(
        bearer(app, reqwest::Method::POST, "/api/v1/doses", &narrow)
            .header("idempotency-key", "oauth-test-2")
            .json(&dose2),
        INTERNET,
    )
    .await;
    assert_eq!(out_of_scope.status, 403, "{}", out_of_scope.body);
    assert_eq!(out_of_scope.body["code"], "insufficient_scope");
    assert!(
        out_of_scope.body["message_en"]
            .as_str()
            .unwrap()
            .contains("doses.write"),
        "{}",
        out_of_scope.body
    );
    // A scope the client is not registered for.
    refused(
        &token_for(
            app,
            &assertion(&site_key, "saijo-tablet", &aud, 120, "s-3"),
            Some("coupons.read statistics.read"),
            INTERNET,
        )
        .await,
        400,
        "invalid_scope",
    );

    // The municipality's system: a FHIR transaction from LG-WAN, no session, no CSRF token.
    let city = token_for(
        app,
        &assertion(&city_key, "saijo-ehr", &aud, 120, "c-1"),
        None,
        LGWAN,
    )
    .await;
    let city = city.body["access_token"].as_str().unwrap().to_owned();
    let d = vrs_domain::DoseRecord::now(
        vrs_domain::Dose {
            municipality: saijo,
            atena: b.atena.clone(),
            dose_number: vrs_domain::DoseNumber::from_int(1).unwrap(),
            administered_on: chrono::NaiveDate::from_ymd_opt(2021, 6, 3).unwrap(),
            product: vrs_domain::VaccineProduct::by_code("comirnaty").unwrap(),
            lot_number: vrs_domain::LotNumber::parse("FA4597").unwrap(),
            site_municipality: saijo,
            coupon: b.coupon,
        },
        vrs_domain::DoseSource::Tablet,
    );
    let mut immunization = vrs_interop::fhir::immunization(&d);
    immunization.as_object_mut().unwrap().remove("id");
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "POST", "url": "Immunization"}, "resource": immunization}]});
    let posted = send(
        bearer(app, reqwest::Method::POST, "/fhir", &city)
            .header("content-type", "application/fhir+json")
            .body(bundle.to_string()),
        LGWAN,
    )
    .await;
    assert_eq!(posted.status, 200, "{}", posted.body);
    assert_eq!(posted.body["type"], "transaction-response");
    // The municipality's registry system uploads its targets file: all or nothing.
    let mut csv = Vec::new();
    vrs_interop::write_targets(
        &mut csv,
        vrs_interop::Encoding::Cp932,
        vrs_interop::Synthetic::new(saijo, 5, 77),
    )
    .unwrap();
    let upload = |body: Vec<u8>, content_type: &'static str| {
        send(
            bearer(
                app,
                reqwest::Method::POST,
                "/api/v1/targets?name=registry.csv",
                &city,
            )
            .header("content-type", content_type)
            .body(body),
            LGWAN,
        )
    };
    let mut with_bad_row = csv.clone();
    with_bad_row.extend_from_slice(b"not,a,row\r\n");
    let bad_file = upload(with_bad_row, "text/csv").await;
    assert_eq!(bad_file.status, 422, "{}", bad_file.body);
    assert_eq!(bad_file.body["code"], "rows_refused");
    assert_eq!(bad_file.body["problems"][0]["line"], 7, "{}", bad_file.body);
    let imported = upload(csv.clone(), "text/csv; charset=shift_jis").await;
    assert_eq!(imported.status, 200, "{}", imported.body);
    assert_eq!(imported.body["encoding"], "cp932");
    // (Two of the generated people are the two already there.) Had the refused upload stored its
    // good rows, they would be unchanged now.
    let stored = &imported.body["stored"];
    assert_eq!(
        (
            stored["added"].as_u64(),
            stored["updated"].as_u64(),
            stored["unchanged"].as_u64()
        ),
        (Some(3), Some(2), Some(0)),
        "{}",
        imported.body
    );
    assert_eq!(upload(csv, "application/json").await.status, 415);

    // The city's token does not read coupons (its scopes do not grant it).
    let not_coupons = send(
        bearer(
            app,
            reqwest::Method::GET,
            &format!("/api/v1/coupons/{ocr}"),
            &city,
        ),
        LGWAN,
    )
    .await;
    assert_eq!(not_coupons.status, 403, "{}", not_coupons.body);

    // Refused assertions: 401 invalid_client, in both shapes.
    let replayed = assertion(&site_key, "saijo-tablet", &aud, 120, "s-4");
    assert_eq!(token_for(app, &replayed, None, INTERNET).await.status, 200);
    refused(
        &token_for(app, &replayed, None, INTERNET).await,
        401,
        "invalid_client",
    );
    let expired = assertion(&site_key, "saijo-tablet", &aud, -600, "s-5");
    refused(
        &token_for(app, &expired, None, INTERNET).await,
        401,
        "invalid_client",
    );
    let too_long = assertion(&site_key, "saijo-tablet", &aud, 3600, "s-6");
    refused(
        &token_for(app, &too_long, None, INTERNET).await,
        401,
        "invalid_client",
    );
    let wrong_key = assertion(&city_key, "saijo-tablet", &aud, 120, "s-7");
    refused(
        &token_for(app, &wrong_key, None, INTERNET).await,
        401,
        "invalid_client",
    );
    let wrong_aud = assertion(
        &site_key,
        "saijo-tablet",
        "https://elsewhere.example/token",
        120,
        "s-8",
    );
    refused(
        &token_for(app, &wrong_aud, None, INTERNET).await,
        401,
        "invalid_client",
    );
    let unknown = assertion(&site_key, "nobody", &aud, 120, "s-9");
    refused(
        &token_for(app, &unknown, None, INTERNET).await,
        401,
        "invalid_client",
    );
    refused(
        &token_for(app, "not.a.jws!", None, INTERNET).await,
        401,
        "invalid_client",
    );
    refused(
        &token_request(app, &[("grant_type", "password")], INTERNET).await,
        400,
        "unsupported_grant_type",
    );
    refused(
        &token_request(app, &[("grant_type", "client_credentials")], INTERNET).await,
        400,
        "invalid_request",
    );
    let as_json = send(
        reqwest::Client::new()
            .post(format!("http://{}/oauth/token", app.address))
            .json(&json!({"grant_type": "client_credentials"})),
        INTERNET,
    )
    .await;
    assert_eq!(as_json.status, 415, "{}", as_json.body);
    assert_eq!(as_json.body["code"], "unsupported_media_type");

    // Removing the client: its tokens stop at once and it gets no new one.
    vrs_core::clients::remove(store, &operator, &"saijo-tablet".parse().unwrap())
        .await
        .unwrap();
    let after = send(
        bearer(
            app,
            reqwest::Method::GET,
            &format!("/api/v1/coupons/{ocr}"),
            &site,
        ),
        INTERNET,
    )
    .await;
    assert_eq!(after.status, 401, "{}", after.body);
    assert_eq!(after.body["code"], "invalid_token");
    assert!(after.headers["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    let revoked = assertion(&site_key, "saijo-tablet", &aud, 120, "s-10");
    refused(
        &token_for(app, &revoked, None, INTERNET).await,
        401,
        "invalid_client",
    );
    // A made-up token, and a header that is not a bearer token.
    let made_up = send(
        bearer(
            app,
            reqwest::Method::GET,
            &format!("/api/v1/coupons/{ocr}"),
            "made-up",
        ),
        INTERNET,
    )
    .await;
    assert_eq!(made_up.status, 401);
    let basic = send(
        reqwest::Client::new()
            .get(format!("http://{}/api/v1/coupons/{ocr}", app.address))
            .header("authorization", "Basic c2Fpam86cGFzcw=="),
        INTERNET,
    )
    .await;
    assert_eq!(basic.status, 401, "{}", basic.body);
    assert_eq!(basic.body["code"], "invalid_token");
}
