//! Tests of reading `VXU` and `QBP` messages and of writing their `ACK` and `RSP` answers.

use super::*;

const MSH: &str = "MSH|^~\\&|EHR|Clinic|VRS|382060|20210701||VXU^V04^VXU_V04|C1|P|2.5.1\r";

fn vxu(pid3: &str, rxa5: &str) -> String {
    format!(
        "{MSH}PID|1||{pid3}||西条^花子||19500401|F\rORC|RE\r\
             RXA|0|1|20210601||{rxa5}|0.3|mL||00|^山田^太郎|^^^会場||||FA4597||||||CP|A\r\
             OBX|1|NM|30973-2^Dose number in series^LN|1|1||||||F\r"
    )
}

fn problems(text: &str) -> Vec<String> {
    match read(text) {
        Err(Refusal::Error(_, p)) | Err(Refusal::Reject(_, p)) => p
            .iter()
            .map(|p| format!("{}-{} {}", p.segment, p.field, p.code))
            .collect(),
        Ok(m) => panic!("read: {m:?}"),
    }
}

#[test]
fn a_cvx_code_of_several_products_needs_the_vrs_code() {
    let p = problems(&vxu("100001^^^382060^PI", "213^SARS-COV-2 unspecified^CVX"));
    assert_eq!(p, ["RXA-5 103"]);
    let Ok(Incoming::Vxu { doses, patient, .. }) = read(&vxu(
        "100001^^^382060^PI",
        "213^unspecified^CVX^nuvaxovid^ヌバキソビッド筋注^VRS",
    )) else {
        panic!("the VRS code names the product");
    };
    assert_eq!(doses[0].product.code, "nuvaxovid");
    assert_eq!(doses[0].doctor, "山田　太郎");
    assert_eq!(
        patient.key,
        PersonKey::Atena(
            MunicipalityCode::parse("382060").unwrap(),
            AtenaNumber::parse("100001").unwrap()
        )
    );
}

#[test]
fn the_person_needs_an_identifier_of_a_municipality() {
    assert_eq!(problems(&vxu("100001^^^^MR", "208^x^CVX")), ["PID-3 101"]);
    assert_eq!(
        problems(&vxu("100001^^^ABC^PI", "208^x^CVX")),
        ["PID-3 102"]
    );
    assert_eq!(problems(&vxu("", "208^x^CVX")), ["PID-3 101"]);
}

#[test]
fn unsupported_messages_and_queries_are_rejected() {
    let q = "MSH|^~\\&|EHR|C|VRS|382060|2021||QBP^Q11|Q1|P|2.5.1\rQPD|Z44^Forecast^CDCPHINVS|T1|1^^^382060^PI\r";
    assert!(matches!(read(q), Err(Refusal::Reject(Some(_), _))));
    assert_eq!(problems(q), ["QPD-1 103"]);
    let old = MSH.replace("2.5.1", "2.3.1");
    assert_eq!(problems(&old), ["MSH-12 203"]);
    let no_id = MSH.replace("|C1|", "||");
    assert_eq!(problems(&no_id), ["MSH-10 101"]);
}

#[test]
fn the_header_of_an_unreadable_message_comes_from_its_msh() {
    let mut bytes =
        b"\xef\xbb\xbf\r\nMSH|^~\\&|EHR|Clinic|VRS|382060|2021||VXU^V04|C9|T|2.5.1\r".to_vec();
    bytes.extend_from_slice(b"PID|1||\x82\xa0\r");
    let h = header_of(&bytes).unwrap();
    assert_eq!(
        (
            h.control_id.as_str(),
            h.sending_application.as_str(),
            h.processing_id.as_str()
        ),
        ("C9", "EHR", "T")
    );
    // Bytes that are not UTF-8 in a field leave that field empty.
    let h = header_of(b"MSH|^~\\&|E\xff|C|VRS|382060|2021||VXU^V04|C\xfe|P|2.5.1").unwrap();
    assert_eq!(
        (h.control_id.as_str(), h.sending_application.as_str()),
        ("", "")
    );
    assert_eq!(header_of(b"PID|1"), None);
    assert_eq!(header_of(b""), None);
}

#[test]
fn an_ack_names_each_problem_in_an_err_segment() {
    let h = match read(&vxu("", "208^x^CVX")) {
        Err(Refusal::Error(h, _)) => h,
        other => panic!("{other:?}"),
    };
    let text = ack(
        Some(&h),
        AckCode::Error,
        &[Problem::new("RXA", 2, 3, 102, "bad | date")],
    )
    .to_er7();
    let m = Message::parse(&text).unwrap();
    assert_eq!(m.segment("MSA").unwrap().field(2), "C1");
    let err = m.segment("ERR").unwrap();
    assert_eq!(
        (
            err.component(2, 1),
            err.component(2, 2),
            err.component(2, 3)
        ),
        ("RXA", "2", "3")
    );
    assert_eq!(err.field(8), "bad | date");
    assert!(text.contains("bad \\F\\ date"));
}
