//! HL7 v2 answers as VRS writes them: the RXA of an RSP^K11 complete (end of administration, maker
//! in MVX), acknowledgments that echo the control id whenever it can be read, error locations with
//! three-character segment ids, bounded reasons that never carry a My Number — and every kind of
//! answer passing hl7apy at validation level STRICT.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::NaiveDate;
use vrs_domain::{
    Dose, DoseRecord, DoseSource, LotNumber, MunicipalityCode, Resident, VaccineProduct,
};
use vrs_interop::hl7::{Message, Segment};
use vrs_interop::hl7_messages::{
    ack, read, rsp, AckCode, Header, Incoming, PatientIds, PersonKey, Problem, Refusal,
};
use vrs_interop::testkit::check_with_hl7apy;
use vrs_interop::Synthetic;

const MSH: &str = "MSH|^~\\&|EHR|Clinic|VRS|382060|20210701090000||VXU^V04^VXU_V04|C1|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r";

fn saijo() -> MunicipalityCode {
    MunicipalityCode::parse("382060").unwrap()
}

fn person() -> Resident {
    Synthetic::new(saijo(), 1, 7).next().unwrap()
}

/// A VXU for the synthetic person with one RXA whose RXA-3 is `date`.
fn vxu(control: &str, date: &str) -> String {
    let p = person();
    format!(
        "{}PID|1||{}^^^382060^PI||西条^花子||{}|F\rORC|RE||X-1^EHR\r\
         RXA|0|1|{date}||208^COVID-19 mRNA^CVX|0.3|mL||00^New record^NIP001|^山田^太郎|^^^会場||||FA4597||PFR^Pfizer^MVX|||CP|A\r\
         OBX|1|NM|30973-2^Dose number in series^LN|1|1||||||F\r",
        MSH.replace("|C1|", &format!("|{control}|")),
        p.atena,
        p.birth_date.format("%Y%m%d"),
    )
}

fn dose(p: &Resident, n: u8, on: (i32, u32, u32), product: &str, lot: &str) -> DoseRecord {
    let d = DoseRecord::now(
        Dose {
            municipality: p.municipality,
            atena: p.atena.clone(),
            dose_number: vrs_domain::DoseNumber::from_int(n).unwrap(),
            administered_on: NaiveDate::from_ymd_opt(on.0, on.1, on.2).unwrap(),
            product: VaccineProduct::by_code(product).unwrap(),
            lot_number: LotNumber::parse(lot).unwrap(),
            site_municipality: p.municipality,
            coupon: p.coupon,
        },
        DoseSource::Hl7,
    );
    DoseRecord {
        venue: "西条市総合体育館".into(),
        doctor: "山田　太郎".into(),
        ..d
    }
}

fn query_header(control: &str) -> Header {
    Header {
        control_id: control.into(),
        sending_application: "EHR".into(),
        sending_facility: "Clinic".into(),
        receiving_application: "VRS".into(),
        receiving_facility: "382060".into(),
        processing_id: "P".into(),
    }
}

/// The RSP^K11 to a Z34 query for the synthetic person, found with these doses.
fn history(doses: &[DoseRecord]) -> String {
    let p = person();
    let asked = PatientIds {
        key: PersonKey::Atena(saijo(), p.atena.clone()),
        birth_date: None,
        sex: None,
    };
    rsp(&query_header("Q1"), "Q-Q1", &asked, Some((&p, doses))).to_er7()
}

fn of_id<'a>(m: &'a Message, id: &str) -> Vec<&'a Segment> {
    m.segments.iter().filter(|s| s.id == id).collect()
}

/// The answer to `text`, as the service writes it for a message it refuses.
fn refusal_answer(text: &str) -> String {
    match read(text) {
        Err(Refusal::Reject(h, p)) => ack(h.as_deref(), AckCode::Reject, &p).to_er7(),
        Err(Refusal::Error(h, p)) => ack(Some(&*h), AckCode::Error, &p).to_er7(),
        Ok(m) => panic!("read: {m:?}"),
    }
}

fn err_segments(answer: &str) -> Vec<Segment> {
    Message::parse(answer)
        .unwrap()
        .segments
        .into_iter()
        .filter(|s| s.id == "ERR")
        .collect()
}

#[test]
fn an_rsp_rxa_gives_the_end_of_administration_as_its_start() {
    let p = person();
    let answer = history(&[
        dose(&p, 1, (2021, 6, 1), "comirnaty", "FA4597"),
        dose(&p, 2, (2021, 6, 22), "comirnaty", "FC3661"),
    ]);
    let m = Message::parse(&answer).unwrap();
    let rxa = of_id(&m, "RXA");
    assert_eq!(rxa.len(), 2);
    for (r, day) in rxa.iter().zip(["20210601", "20210622"]) {
        assert_eq!((r.field(3), r.field(4)), (day, day), "{answer}");
    }
}

#[test]
fn an_rsp_rxa_names_the_maker_in_mvx() {
    let p = person();
    let answer = history(&[
        dose(&p, 1, (2021, 6, 1), "comirnaty", "FA4597"),
        dose(&p, 2, (2021, 7, 1), "spikevax", "3003734"),
        dose(&p, 3, (2022, 4, 1), "nuvaxovid", "4302MF001"),
        dose(&p, 4, (2023, 12, 1), "daichirona-xbb15", "A0001"),
    ]);
    let m = Message::parse(&answer).unwrap();
    let makers: Vec<_> = of_id(&m, "RXA")
        .iter()
        .map(|r| {
            format!(
                "{}^{}^{}",
                r.component(17, 1),
                r.component(17, 2),
                r.component(17, 3)
            )
        })
        .collect();
    assert_eq!(
        makers,
        [
            "PFR^Pfizer/BioNTech^MVX",
            "MOD^Moderna^MVX",
            "NVX^Novavax^MVX",
            // Daiichi Sankyo has no MVX code: "other manufacturer", named in the text.
            "OTH^Daiichi Sankyo^MVX",
        ]
    );
}

#[test]
fn an_ar_echoes_the_control_id_when_msh_10_was_read() {
    // A segment after the MSH that cannot be parsed: AR, and MSA-2 is the control id.
    let text = format!("{}pid|1\r", vxu("C77", "20210601"));
    let answer = refusal_answer(&text);
    let msa = Message::parse(&answer)
        .unwrap()
        .segment("MSA")
        .unwrap()
        .clone();
    assert_eq!((msa.field(1), msa.field(2)), ("AR", "C77"), "{answer}");
    // An unsupported version and message type were already echoed; they still are.
    let old = vxu("C78", "20210601").replace("|2.5.1|", "|2.3.1|");
    let msa = Message::parse(&refusal_answer(&old))
        .unwrap()
        .segment("MSA")
        .unwrap()
        .clone();
    assert_eq!((msa.field(1), msa.field(2)), ("AR", "C78"));
}

#[test]
fn err_2_locates_an_unreadable_segment_by_three_characters() {
    let long_line = format!("this line has no field separator {}", "x".repeat(5000));
    for (line, location) in [
        ("pid|1", "pid^2"),
        (long_line.as_str(), "thi^2"),
        ("ＰＩＤ|1", "???^2"),
        ("X|1", "X??^2"),
    ] {
        let answer = refusal_answer(&format!("{MSH}{line}\r"));
        let err = err_segments(&answer);
        assert_eq!(err.len(), 1, "{answer}");
        let found = format!("{}^{}", err[0].component(2, 1), err[0].component(2, 2));
        assert_eq!(found, location, "{line:.40}");
        assert!(err[0].component(2, 1).chars().count() == 3);
        assert!(answer.len() < 1000, "{} bytes", answer.len());
    }
}

#[test]
fn a_huge_value_is_not_echoed_whole_in_err_8() {
    let huge = "9".repeat(1_000_000);
    let text = vxu("C1", &huge);
    let answer = refusal_answer(&text);
    assert!(answer.len() < 2000, "the answer has {} bytes", answer.len());
    let err = err_segments(&answer);
    let rxa3 = err
        .iter()
        .find(|e| e.component(2, 1) == "RXA" && e.component(2, 3) == "3")
        .unwrap();
    assert!(rxa3.field(8).chars().count() <= 250, "{}", rxa3.field(8));
    assert!(rxa3.field(8).contains("not shown"), "{}", rxa3.field(8));
    // Letters are quoted up to a few dozen characters, then cut with a marker.
    let text = vxu("C1", &"x".repeat(1_000_000));
    let answer = refusal_answer(&text);
    assert!(answer.len() < 2000, "the answer has {} bytes", answer.len());
    let reason = err_segments(&answer)
        .into_iter()
        .find(|e| e.component(2, 1) == "RXA")
        .unwrap()
        .field(8)
        .to_owned();
    assert!(reason.contains("…"), "{reason}");
    assert!(reason.contains("1000000 characters"), "{reason}");
    assert!(reason.matches('x').count() <= 40, "{reason}");
}

fn user_messages(answer: &str) -> Vec<String> {
    err_segments(answer)
        .iter()
        .map(|e| e.field(8).to_owned())
        .collect()
}

#[test]
fn a_reason_never_carries_a_my_number() {
    let p = person();
    let my_number = p.my_number.expose().to_owned();
    let grouped = format!(
        "{} {} {}",
        &my_number[..4],
        &my_number[4..8],
        &my_number[8..]
    );
    // A My Number where the birth date belongs, plain and grouped: the reason does not repeat it.
    for value in [&my_number, &grouped] {
        let birth = p.birth_date.format("%Y%m%d").to_string();
        let answer = refusal_answer(&vxu("C1", "20210601").replace(&birth, value));
        let messages = user_messages(&answer);
        assert_eq!(messages.len(), 1, "{answer}");
        assert!(messages[0].contains("not shown"), "{messages:?}");
        assert!(!messages[0].contains(&my_number[8..]), "{messages:?}");
    }
    // Whatever a reason says, ERR-8 does not repeat twelve digits.
    let problem = Problem::new(
        "PID",
        1,
        3,
        102,
        &format!("the numbers {my_number}, {grouped} and 1234-5678-9018"),
    );
    let messages = user_messages(&ack(None, AckCode::Error, &[problem]).to_er7());
    assert_eq!(
        messages,
        ["the numbers (12 digits, not shown), (12 digits, not shown) and (12 digits, not shown)"]
    );
}

#[test]
fn over_long_control_ids_and_query_tags_are_refused_not_echoed() {
    let long_id = "C".repeat(1_000_000);
    let answer = refusal_answer(&vxu(&long_id, "20210601"));
    assert!(answer.len() < 2000, "the answer has {} bytes", answer.len());
    let m = Message::parse(&answer).unwrap();
    assert_eq!(m.segment("MSA").unwrap().field(1), "AR");
    assert_eq!(m.segment("MSA").unwrap().field(2), "");
    let err = err_segments(&answer);
    assert_eq!(
        (err[0].component(2, 1), err[0].component(2, 3)),
        ("MSH", "10")
    );
    // A query tag longer than QPD-2 allows (32): AE naming QPD-2.
    let q = format!(
        "MSH|^~\\&|EHR|C|VRS|382060|20210801||QBP^Q11^QBP_Q11|Q9|P|2.5.1\rQPD|Z34^Request Immunization History^CDCPHINVS|{}|100001^^^382060^PI\r",
        "T".repeat(100_000)
    );
    let answer = refusal_answer(&q);
    assert!(answer.len() < 2000, "the answer has {} bytes", answer.len());
    let err = err_segments(&answer);
    assert_eq!(
        (err[0].component(2, 1), err[0].component(2, 3)),
        ("QPD", "2")
    );
}

/// Every kind of answer VRS writes, built by its own code.
fn every_kind_of_answer() -> Vec<(String, String)> {
    let p = person();
    let good = vxu("G1", "20210601");
    let Ok(Incoming::Vxu { header, .. }) = read(&good) else {
        panic!("the VXU reads");
    };
    let mut out = vec![
        ("AA".to_owned(), ack(Some(&header), AckCode::Accept, &[]).to_er7()),
        (
            "AE: a bad date".to_owned(),
            refusal_answer(&vxu("E1", "20211345")),
        ),
        (
            "AE: a huge date".to_owned(),
            refusal_answer(&vxu("E2", &"x".repeat(1_000_000))),
        ),
        (
            "AE: several problems and separators in reasons".to_owned(),
            refusal_answer(
                &vxu("E3", "2021-06-01")
                    .replace("^PI||", "^XX||")
                    .replace("FA4597", "FA_4597"),
            ),
        ),
        (
            "AE: a data-quality rule".to_owned(),
            ack(
                Some(&header),
                AckCode::Error,
                &[Problem::new("RXA", 2, 0, 207, "the interval is too short")],
            )
            .to_er7(),
        ),
        (
            "AR: unsupported type".to_owned(),
            refusal_answer(&good.replace("VXU^V04^VXU_V04", "ADT^A01^ADT_A01")),
        ),
        (
            "AR: unsupported version".to_owned(),
            refusal_answer(&good.replace("|2.5.1|", "|2.3.1|")),
        ),
        (
            "AR: a bad segment id".to_owned(),
            refusal_answer(&format!("{good}{}\r", "y".repeat(100_000))),
        ),
        (
            "AR: a control id too long".to_owned(),
            refusal_answer(&vxu(&"C".repeat(300), "20210601")),
        ),
        (
            "AR: no control id".to_owned(),
            refusal_answer(&good.replace("|G1|", "||")),
        ),
        (
            "AR: unsupported query".to_owned(),
            refusal_answer(
                "MSH|^~\\&|EHR|C|VRS|382060|20210801||QBP^Q11^QBP_Q11|Q8|T|2.5.1\rQPD|Z44^Forecast^CDCPHINVS|T1|1^^^382060^PI\r",
            ),
        ),
        (
            "Z32 with doses of every maker kind".to_owned(),
            history(&[
                dose(&p, 1, (2021, 6, 1), "comirnaty", "FA4597"),
                dose(&p, 2, (2021, 7, 1), "spikevax", "3003734"),
                dose(&p, 3, (2021, 9, 1), "vaxzevria", "ABV1234"),
                dose(&p, 4, (2022, 4, 1), "nuvaxovid", "4302MF001"),
                dose(&p, 5, (2022, 6, 1), "jcovden", "XD955"),
                dose(&p, 6, (2023, 12, 1), "daichirona-xbb15", "A0001"),
                dose(&p, 7, (2024, 10, 1), "kostaive-jn1", "K0001"),
            ]),
        ),
        ("Z32 without doses".to_owned(), history(&[])),
    ];
    let asked = PatientIds {
        key: PersonKey::Coupon(saijo(), p.coupon),
        birth_date: None,
        sex: None,
    };
    out.push((
        "Z33: nobody".to_owned(),
        rsp(&query_header("Q2"), "Q-Q2", &asked, None).to_er7(),
    ));
    out.push((
        "AR: no MSH".to_owned(),
        refusal_answer("PID|1||100001^^^382060^PI\r"),
    ));
    out
}

/// Answers to messages whose control id cannot be read leave MSA-2 (required) empty: there is
/// nothing to echo, and anything else there would name a message that was never sent.
const NOTHING_TO_ECHO: &[&str] = &[
    "AR: a control id too long",
    "AR: no control id",
    "AR: no MSH",
];

#[test]
fn every_kind_of_answer_passes_hl7apy_strict() {
    let answers = every_kind_of_answer();
    let Some(findings) = check_with_hl7apy(&answers) else {
        return;
    };
    assert_eq!(findings.len(), answers.len());
    for f in findings {
        let expected: Vec<String> = if NOTHING_TO_ECHO.contains(&f.name.as_str()) {
            vec!["hl7apy: Error: Missing required child MSA.MSA_2".to_owned()]
        } else {
            Vec::new()
        };
        let text = &answers.iter().find(|(n, _)| *n == f.name).unwrap().1;
        assert_eq!(
            f.problems,
            expected,
            "{}:\n{}",
            f.name,
            text.chars()
                .take(3000)
                .collect::<String>()
                .replace('\r', "\n")
        );
    }
}
