use vrs_domain::MunicipalityCode;

use super::*;

fn text() -> DoseText<'static> {
    DoseText {
        dose_number: "２",
        administered_on: "令和3年6月22日",
        product: "comirnaty",
        lot_number: "fa4597",
        site: "",
        venue: "西条会場",
        doctor: "",
    }
}

#[test]
fn a_dose_text_is_parsed_or_its_first_bad_field_named() {
    let own = MunicipalityCode::parse("382060").unwrap();
    let statement = parse_statement(&text(), own).unwrap();
    assert_eq!(statement.dose_number, 2);
    assert_eq!(statement.administered_on.to_string(), "2021-06-22");
    assert_eq!(statement.lot_number.as_str(), "FA4597");
    assert_eq!(statement.site, own);
    let bad = |t: DoseText<'static>| parse_statement(&t, own).unwrap_err().field;
    assert_eq!(
        bad(DoseText {
            dose_number: "11",
            ..text()
        }),
        "dose_number"
    );
    assert_eq!(
        bad(DoseText {
            dose_number: "x",
            ..text()
        }),
        "dose_number"
    );
    assert_eq!(
        bad(DoseText {
            administered_on: "2021-02-30",
            ..text()
        }),
        "administered_on"
    );
    assert_eq!(
        bad(DoseText {
            product: "unknown",
            ..text()
        }),
        "product"
    );
    assert_eq!(
        bad(DoseText {
            lot_number: "",
            ..text()
        }),
        "lot_number"
    );
    assert_eq!(
        bad(DoseText {
            site: "131017",
            ..text()
        }),
        "site"
    );
    assert_eq!(
        bad(DoseText {
            venue: "会会会会会会会会会会会会会会会会会会会会会会会会会会会会会会会",
            ..text()
        }),
        "venue"
    );
    let problem = parse_statement(
        &DoseText {
            doctor: "a\u{7}",
            ..text()
        },
        own,
    )
    .unwrap_err();
    assert_eq!(
        (problem.field, problem.label_ja()),
        ("doctor", "接種医師名")
    );
}
