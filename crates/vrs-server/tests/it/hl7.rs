//! HL7 v2.5.1 over real HTTP and over MLLP on SQLite and PostgreSQL: a VXU stores the person's
//! doses (AA) or nothing at all (AE naming the segment and field, AR for what cannot be read); a
//! Z34 query returns exactly the person's doses; MLLP frames split across reads are answered; the
//! caller's municipality comes from its account, never from the message. MLLP runs over TLS and
//! admits only a listed sender's client certificate from a listed network. An AR echoes the control
//! id whenever it can be read, a body too long is answered 200 with an AR, and every answer the
//! server sends passes hl7apy at validation level STRICT.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "hl7/mllp.rs"]
mod mllp;
use crate::support;
use vrs_store::on_both_backends;
use vrs_store::Areas;

use mllp::{
    exchange, mllp_admits_only_listed_senders_over_tls, mllp_answers_messages_split_across_reads,
    mllp_connect, start_mllp,
};

use support::{TestApp, LGWAN, PASSWORD};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vrs_crypto::x509::pem;
use vrs_domain::{DoseSource, MunicipalityCode, Resident};
use vrs_interop::hl7::mllp::{frame, Decoder};
use vrs_interop::hl7::Message;
use vrs_interop::testkit::check_with_hl7apy;

on_both_backends!(
    TestApp:
    a_vxu_stores_all_doses_or_none_and_names_the_problem,
    a_z34_query_returns_exactly_the_persons_doses,
    mllp_answers_messages_split_across_reads,
    an_ar_echoes_the_control_id_whenever_msh_10_can_be_read,
    a_body_too_long_is_answered_200_with_an_ar,
    every_answer_passes_hl7apy_strict,
    mllp_admits_only_listed_senders_over_tls,
);

fn saijo() -> MunicipalityCode {
    MunicipalityCode::parse("382060").unwrap()
}

async fn setup(app: &TestApp) -> (Resident, Resident) {
    support::ehr_setup(app, 21).await
}

fn sex(p: &Resident) -> &'static str {
    match p.sex {
        vrs_domain::Sex::Male => "M",
        vrs_domain::Sex::Female => "F",
    }
}

/// A VXU for `p` (identified by 宛名番号 in `authority`) with one RXA per (dose, date, lot).
fn vxu(control: &str, p: &Resident, authority: &str, doses: &[(u8, &str, &str)]) -> String {
    let mut m = format!(
        "MSH|^~\\&|EHR|Clinic|VRS|382060|20210701090000||VXU^V04^VXU_V04|{control}|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r\
         PID|1||{}^^^{authority}^PI||西条^花子||{}|{}\r",
        p.atena,
        p.birth_date.format("%Y%m%d"),
        sex(p)
    );
    for (i, (n, date, lot)) in doses.iter().enumerate() {
        m.push_str(&format!(
            "ORC|RE||{control}-{i}^EHR\r\
             RXA|0|1|{date}||208^COVID-19 mRNA 30mcg^CVX|0.3|mL||00^New record^NIP001|^山田^太郎|^^^西条市総合体育館||||{lot}||PFR^Pfizer^MVX|||CP|A\r\
             RXR|IM^Intramuscular^HL70162|LD^Left Deltoid^HL70163\r\
             OBX|1|NM|30973-2^Dose number in series^LN|1|{n}||||||F\r"
        ));
    }
    m
}

fn msa(answer: &str) -> (String, String) {
    let m = Message::parse(answer).unwrap();
    let msa = m.segment("MSA").unwrap();
    (msa.field(1).to_owned(), msa.field(2).to_owned())
}

fn errors(answer: &str) -> Vec<String> {
    Message::parse(answer)
        .unwrap()
        .segments
        .iter()
        .filter(|s| s.id == "ERR")
        .map(|s| {
            format!(
                "{}^{}^{} {} {}",
                s.component(2, 1),
                s.component(2, 2),
                s.component(2, 3),
                s.component(3, 1),
                s.field(8)
            )
        })
        .collect()
}

async fn post(app: &TestApp, user: &str, body: Vec<u8>) -> (u16, String) {
    let b = app.browser(LGWAN);
    b.login(user, PASSWORD).await;
    let token = b.csrf("/").await;
    let r = b
        .client
        .post(format!("{}/hl7/v2", b.base))
        .header("x-forwarded-for", LGWAN)
        .header("x-csrf-token", token)
        .header("content-type", "x-application/hl7-v2+er7")
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn doses(app: &TestApp, p: &Resident) -> Vec<vrs_domain::DoseRecord> {
    app.db.store.area(saijo()).doses_of(&p.atena).await.unwrap()
}

async fn a_vxu_stores_all_doses_or_none_and_names_the_problem(app: &TestApp) {
    let (a, b) = setup(app).await;
    // A bad date in the second RXA: AE naming RXA 2 field 3, and the good first dose is not stored.
    let bad = vxu(
        "C1",
        &a,
        "382060",
        &[(1, "20210601", "FA4597"), (2, "20211345", "FC3661")],
    );
    let (status, answer) = post(app, "saijo-ehr", bad.into_bytes()).await;
    assert_eq!(status, 200);
    assert_eq!(msa(&answer), ("AE".into(), "C1".into()), "{answer}");
    let errs = errors(&answer);
    assert!(
        errs.iter().any(|e| e.starts_with("RXA^2^3 102")),
        "{errs:?}"
    );
    assert!(doses(app, &a).await.is_empty());
    // A missing dose number: AE naming OBX.
    let no_number = vxu("C2", &a, "382060", &[(1, "20210601", "FA4597")])
        .replace("OBX|1|NM|30973-2", "OBX|1|NM|99999-9");
    let (_, answer) = post(app, "saijo-ehr", no_number.into_bytes()).await;
    assert!(
        errors(&answer).iter().any(|e| e.starts_with("OBX^1^3 101")),
        "{answer}"
    );
    // A second dose too soon after the first: the data-quality rule, nothing stored.
    let soon = vxu(
        "C3",
        &a,
        "382060",
        &[(1, "20210601", "FA4597"), (2, "20210605", "FC3661")],
    );
    let (_, answer) = post(app, "saijo-ehr", soon.into_bytes()).await;
    assert_eq!(msa(&answer).0, "AE", "{answer}");
    assert!(
        errors(&answer).iter().any(|e| e.starts_with("RXA^2")),
        "{answer}"
    );
    assert!(doses(app, &a).await.is_empty());
    // The person of another municipality, and a birth date that is not the record's: unknown.
    let (_, answer) = post(
        app,
        "saijo-ehr",
        vxu("C4", &a, "131016", &[(1, "20210601", "FA4597")]).into_bytes(),
    )
    .await;
    assert!(
        errors(&answer).iter().any(|e| e.starts_with("PID^1^3 204")),
        "{answer}"
    );
    let wrong_birth = vxu("C5", &a, "382060", &[(1, "20210601", "FA4597")])
        .replace(&a.birth_date.format("%Y%m%d").to_string(), "19000101");
    let (_, answer) = post(app, "saijo-ehr", wrong_birth.into_bytes()).await;
    assert!(
        errors(&answer).iter().any(|e| e.starts_with("PID^1^7 204")),
        "{answer}"
    );
    // Unreadable or unsupported: AR.
    let (_, answer) = post(
        app,
        "saijo-ehr",
        b"MSH|^~\\&|A|B|C|D|x||ADT^A01|C6|P|2.5.1\r".to_vec(),
    )
    .await;
    assert_eq!(msa(&answer).0, "AR");
    assert!(
        errors(&answer).iter().any(|e| e.starts_with("MSH^1^9 200")),
        "{answer}"
    );
    let (_, answer) = post(app, "saijo-ehr", vec![0xff, 0xfe, b'M']).await;
    assert_eq!(msa(&answer).0, "AR");
    let (_, answer) = post(app, "saijo-ehr", b"PID|1".to_vec()).await;
    assert_eq!(msa(&answer).0, "AR");
    assert!(doses(app, &a).await.is_empty() && doses(app, &b).await.is_empty());
    // A site tablet may not use the exchange at all.
    let (status, _) = post(
        app,
        "saijo-tablet",
        vxu("C7", &a, "382060", &[(1, "20210601", "FA4597")]).into_bytes(),
    )
    .await;
    assert_eq!(status, 403);

    // The good message: AA, both doses stored as from HL7, with venue and doctor; escapes read.
    let good = vxu(
        "C8",
        &a,
        "382060",
        &[(1, "20210601", "FA4597"), (2, "20210622", "FC3661")],
    )
    .replace("西条市総合体育館", "西条市\\T\\総合体育館");
    let (_, answer) = post(app, "saijo-ehr", good.clone().into_bytes()).await;
    assert_eq!(msa(&answer), ("AA".into(), "C8".into()), "{answer}");
    let stored = doses(app, &a).await;
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|d| d.source == DoseSource::Hl7));
    assert_eq!(stored[0].venue, "西条市&総合体育館");
    assert_eq!(stored[0].doctor, "山田　太郎");
    // The same message again: the dose numbers are taken, nothing changes.
    let (_, answer) = post(app, "saijo-ehr", good.into_bytes()).await;
    assert_eq!(msa(&answer).0, "AE", "{answer}");
    assert_eq!(doses(app, &a).await.len(), 2);
    assert!(doses(app, &b).await.is_empty());
}

/// A Z34 query for the person with identifier `key` (of `kind`) and birth date `birth`
/// (`YYYYMMDD`; empty for none).
fn z34(control: &str, key: &str, kind: &str, birth: &str) -> String {
    format!(
        "MSH|^~\\&|EHR|Clinic|VRS|382060|20210801||QBP^Q11^QBP_Q11|{control}|P|2.5.1|||ER|AL|||||Z34^CDCPHINVS\r\
         QPD|Z34^Request Immunization History^CDCPHINVS|Q-{control}|{key}^^^382060^{kind}|||{birth}\r\
         RCP|I|5^RD&Records&HL70126\r"
    )
}

fn birth(p: &Resident) -> String {
    p.birth_date.format("%Y%m%d").to_string()
}

async fn a_z34_query_returns_exactly_the_persons_doses(app: &TestApp) {
    let (a, b) = setup(app).await;
    let good = vxu(
        "V1",
        &a,
        "382060",
        &[(1, "20210601", "FA4597"), (2, "20210622", "FC3661")],
    );
    assert_eq!(
        msa(&post(app, "saijo-ehr", good.into_bytes()).await.1).0,
        "AA"
    );
    let other = vxu("V2", &b, "382060", &[(1, "20210603", "FA4597")]);
    assert_eq!(
        msa(&post(app, "saijo-ehr", other.into_bytes()).await.1).0,
        "AA"
    );

    for (key, kind) in [(a.atena.to_string(), "PI"), (a.coupon.to_string(), "VN")] {
        let (_, answer) = post(
            app,
            "saijo-ehr",
            z34("Q1", &key, kind, &birth(&a)).into_bytes(),
        )
        .await;
        let m = Message::parse(&answer).unwrap();
        assert_eq!(m.msh().component(9, 1), "RSP");
        assert_eq!(m.msh().component(9, 2), "K11");
        assert_eq!(m.segment("QAK").unwrap().field(2), "OK");
        assert_eq!(m.segment("QAK").unwrap().field(1), "Q-Q1");
        assert_eq!(m.segment("PID").unwrap().field(3), a.atena.as_str());
        let rxa: Vec<_> = m.segments.iter().filter(|s| s.id == "RXA").collect();
        assert_eq!(rxa.len(), 2, "{answer}");
        assert_eq!(rxa[0].field(3), "20210601");
        // Given at one time: the end of administration is its start.
        assert_eq!(rxa[0].field(4), "20210601");
        assert_eq!(rxa[1].field(4), "20210622");
        assert_eq!(rxa[1].field(15), "FC3661");
        assert_eq!(rxa[0].component(5, 4), "comirnaty");
        assert_eq!(
            (rxa[0].component(17, 1), rxa[0].component(17, 3)),
            ("PFR", "MVX")
        );
        let numbers: Vec<_> = m
            .segments
            .iter()
            .filter(|s| s.id == "OBX")
            .map(|s| s.field(5))
            .collect();
        assert_eq!(numbers, ["1", "2"]);
    }
    // Without the birth date a query is refused (AE, naming QPD-6): an identifier alone would
    // let a sender walk the 宛名番号.
    let (_, answer) = post(
        app,
        "saijo-ehr",
        z34("Q4", a.atena.as_str(), "PI", "").into_bytes(),
    )
    .await;
    assert_eq!(msa(&answer), ("AE".into(), "Q4".into()), "{answer}");
    assert!(
        answer.contains("QPD-6") || answer.contains("QPD^1^6"),
        "{answer}"
    );
    assert!(!answer.contains("RXA"), "{answer}");
    // A wrong birth date finds nobody.
    let (_, answer) = post(
        app,
        "saijo-ehr",
        z34("Q5", a.atena.as_str(), "PI", "19000101").into_bytes(),
    )
    .await;
    assert_eq!(
        Message::parse(&answer)
            .unwrap()
            .segment("QAK")
            .unwrap()
            .field(2),
        "NF"
    );
    // Nobody: NF and no person.
    let (_, answer) = post(
        app,
        "saijo-ehr",
        z34("Q2", "999999", "PI", "19500101").into_bytes(),
    )
    .await;
    let m = Message::parse(&answer).unwrap();
    assert_eq!(m.segment("QAK").unwrap().field(2), "NF");
    assert!(m.segment("PID").is_none() && m.segment("RXA").is_none());
    // Another municipality's code answers as nobody.
    let (_, answer) = post(
        app,
        "saijo-ehr",
        z34("Q3", a.atena.as_str(), "PI", &birth(&a))
            .replace("^382060^PI", "^131016^PI")
            .into_bytes(),
    )
    .await;
    assert_eq!(
        Message::parse(&answer)
            .unwrap()
            .segment("QAK")
            .unwrap()
            .field(2),
        "NF"
    );
}

/// A signed-in session of `user` posting ER7 bodies.
async fn session(app: &TestApp, user: &str) -> support::Browser {
    let b = app.browser(LGWAN);
    b.login(user, PASSWORD).await;
    b
}

async fn send(b: &support::Browser, body: Vec<u8>) -> (u16, String, String) {
    let token = b.csrf("/").await;
    let r = b
        .client
        .post(format!("{}/hl7/v2", b.base))
        .header("x-forwarded-for", LGWAN)
        .header("x-csrf-token", token)
        .header("content-type", "x-application/hl7-v2+er7")
        .body(body)
        .send()
        .await
        .unwrap();
    let media = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (r.status().as_u16(), media, r.text().await.unwrap())
}

/// A VXU whose PID carries a name in Shift_JIS (CP932): not UTF-8, though its MSH is.
fn cp932_vxu(control: &str, p: &Resident) -> Vec<u8> {
    let text = vxu(control, p, "382060", &[(1, "20210601", "FA4597")]);
    let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(&text);
    bytes.into_owned()
}

async fn an_ar_echoes_the_control_id_whenever_msh_10_can_be_read(app: &TestApp) {
    let (a, _) = setup(app).await;
    let b = session(app, "saijo-ehr").await;
    // Over HTTP a session's message carries its CSRF token and the ER7 media type: a cross-site
    // form can send neither.
    let token = b.csrf("/").await;
    let raw = |token: Option<&str>, content_type: &'static str| {
        let mut r = b
            .client
            .post(format!("{}/hl7/v2", b.base))
            .header("x-forwarded-for", LGWAN)
            .header("content-type", content_type)
            .body(cp932_vxu("R0", &a));
        if let Some(t) = token {
            r = r.header("x-csrf-token", t.to_owned());
        }
        async move { r.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(raw(None, "x-application/hl7-v2+er7").await, 403);
    assert_eq!(raw(Some("forged"), "x-application/hl7-v2+er7").await, 403);
    // Without a session or token: 401, and still an ER7 AR echoing the control ID (never the
    // sign-in page's redirect).
    let anonymous = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/hl7/v2", b.base))
        .header("x-forwarded-for", LGWAN)
        .header("content-type", "x-application/hl7-v2+er7")
        .body(cp932_vxu("R0", &a))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    assert!(anonymous.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("x-application/hl7-v2+er7"));
    let ack = anonymous.text().await.unwrap();
    assert!(ack.contains("MSA|AR|R0"), "{ack}");
    assert!(ack.contains("sign_in"), "{ack}");
    // A method HL7 over HTTP does not take: 405, still an AR.
    let get = b
        .client
        .get(format!("{}/hl7/v2", b.base))
        .header("x-forwarded-for", LGWAN)
        .send()
        .await
        .unwrap();
    assert_eq!(get.status().as_u16(), 405);
    assert!(get.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("x-application/hl7-v2+er7"));
    assert!(get.text().await.unwrap().contains("MSA|AR"));
    assert_eq!(raw(Some(&token), "text/plain").await, 415);
    assert_eq!(
        raw(Some(&token), "application/x-www-form-urlencoded").await,
        415
    );
    assert_eq!(
        raw(Some(&token), "application/hl7-v2; charset=utf-8").await,
        200
    );
    // Not UTF-8 after a readable MSH.
    let (status, _, answer) = send(&b, cp932_vxu("R1", &a)).await;
    assert_eq!(status, 200);
    assert_eq!(msa(&answer), ("AR".into(), "R1".into()), "{answer}");
    // A segment that cannot be parsed after a readable MSH.
    let broken = format!(
        "{}pid|1\r",
        vxu("R2", &a, "382060", &[(1, "20210601", "FA4597")])
    );
    let (_, _, answer) = send(&b, broken.into_bytes()).await;
    assert_eq!(msa(&answer), ("AR".into(), "R2".into()), "{answer}");
    assert_eq!(
        errors(&answer),
        ["pid^7^ 102 segment 7: the segment id \"pid\" is not three upper-case letters or digits"]
    );
    // Nothing readable: nothing to echo.
    let (_, _, answer) = send(&b, b"PID|1".to_vec()).await;
    assert_eq!(msa(&answer), ("AR".into(), String::new()), "{answer}");
    assert!(doses(app, &a).await.is_empty());

    // Over MLLP, as an account that is disabled.
    app.db
        .exec("UPDATE accounts SET disabled = TRUE WHERE user_id = 'saijo-ehr'")
        .await
        .unwrap();
    let mllp = start_mllp(app, "127.0.0.0/8", 4).await;
    let mut stream = mllp_connect(&mllp, Some(&mllp.sender)).await.unwrap();
    let message = vxu("R3", &a, "382060", &[(1, "20210601", "FA4597")]);
    let answer = exchange(&mut stream, &frame(&message), 1).await;
    assert_eq!(msa(&answer), ("AR".into(), "R3".into()), "{answer}");
    assert!(doses(app, &a).await.is_empty());
}

/// A VXU padded with NTE segments (notes) to at least `size` bytes.
fn vxu_of_size(control: &str, p: &Resident, size: usize) -> Vec<u8> {
    let mut text = vxu(control, p, "382060", &[(1, "20210601", "FA4597")]);
    let note = format!("NTE|1||{}\r", "x".repeat(1000));
    while text.len() < size {
        text.push_str(&note);
    }
    text.into_bytes()
}

async fn a_body_too_long_is_answered_200_with_an_ar(app: &TestApp) {
    let (a, _) = setup(app).await;
    let b = session(app, "saijo-ehr").await;
    let (status, media, answer) = send(&b, vxu_of_size("BIG1", &a, 2 << 20)).await;
    assert_eq!(status, 200, "{answer}");
    assert!(media.starts_with("x-application/hl7-v2+er7"), "{media}");
    assert_eq!(msa(&answer), ("AR".into(), "BIG1".into()), "{answer}");
    assert_eq!(
        errors(&answer),
        ["MSH^1^ 207 the message is longer than 1048576 bytes; none of it was processed"]
    );
    assert!(answer.len() < 1000, "{} bytes", answer.len());
    assert!(doses(app, &a).await.is_empty());
    // Just within the limit, the message is read (and stored).
    let (status, _, answer) = send(&b, vxu_of_size("BIG2", &a, (1 << 20) - 1100)).await;
    assert_eq!(status, 200);
    assert_eq!(msa(&answer), ("AA".into(), "BIG2".into()), "{answer}");
    assert_eq!(doses(app, &a).await.len(), 1);
}

async fn every_answer_passes_hl7apy_strict(app: &TestApp) {
    let (a, b) = setup(app).await;
    let s = session(app, "saijo-ehr").await;
    let one = |control: &str, p: &Resident| vxu(control, p, "382060", &[(1, "20210601", "FA4597")]);
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("AA", one("H1", &a).into_bytes()),
        (
            "AE: a bad date and a missing dose number",
            vxu("H2", &b, "382060", &[(1, "20211345", "FA4597")])
                .replace("30973-2", "99999-9")
                .into_bytes(),
        ),
        ("AE: a dose number taken", one("H3", &a).into_bytes()),
        (
            "AE: unknown person",
            vxu("H4", &b, "131016", &[(1, "20210601", "FA4597")]).into_bytes(),
        ),
        (
            "AE: a huge value",
            one("H5", &b)
                .replace("FA4597", &"x".repeat(1_000_000))
                .into_bytes(),
        ),
        (
            "AR: unsupported type",
            b"MSH|^~\\&|A|B|C|D|20210701||ADT^A01^ADT_A01|H6|P|2.5.1\r".to_vec(),
        ),
        ("AR: not UTF-8", cp932_vxu("H7", &b)),
        (
            "AR: a bad segment id",
            format!("{}{}\r", one("H8", &b), "y".repeat(100_000)).into_bytes(),
        ),
        ("AR: too long", vxu_of_size("H9", &b, 2 << 20)),
        ("AR: no MSH", b"PID|1".to_vec()),
        (
            "RSP: Z32",
            z34("H10", a.atena.as_str(), "PI", &birth(&a)).into_bytes(),
        ),
        (
            "RSP: Z33",
            z34("H11", "999999", "PI", "19500101").into_bytes(),
        ),
    ];
    let mut answers = Vec::new();
    for (name, body) in bodies {
        let (status, _, answer) = send(&s, body).await;
        assert_eq!(status, 200, "{name}");
        answers.push((name.to_owned(), answer));
    }
    let Some(findings) = check_with_hl7apy(&answers) else {
        return;
    };
    assert_eq!(findings.len(), answers.len());
    for (f, (_, text)) in findings.iter().zip(&answers) {
        // Nothing can be echoed in MSA-2 (required) when no control id was read.
        let expected: Vec<String> = if f.name == "AR: no MSH" {
            vec!["hl7apy: Error: Missing required child MSA.MSA_2".to_owned()]
        } else {
            Vec::new()
        };
        assert_eq!(
            f.problems,
            expected,
            "{}:\n{}",
            f.name,
            text.replace('\r', "\n")
        );
    }
}
