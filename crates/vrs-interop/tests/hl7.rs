//! HL7 v2 answers as VRS writes them: the RXA of an RSP^K11 complete (end of administration, maker
//! in MVX).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::NaiveDate;
use vrs_domain::{
    Dose, DoseRecord, DoseSource, LotNumber, MunicipalityCode, Resident, VaccineProduct,
};
use vrs_interop::hl7::{Message, Segment};
use vrs_interop::hl7_messages::{rsp, Header, PatientIds, PersonKey};
use vrs_interop::Synthetic;

fn saijo() -> MunicipalityCode {
    MunicipalityCode::parse("382060").unwrap()
}

fn person() -> Resident {
    Synthetic::new(saijo(), 1, 7).next().unwrap()
}

fn dose(p: &Resident, n: u8, on: (i32, u32, u32), product: &str, lot: &str) -> DoseRecord {
    let d = DoseRecord::now(
        Dose {
            municipality: p.municipality,
            atena: p.atena.clone(),
            dose_number: n,
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
