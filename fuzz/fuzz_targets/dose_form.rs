//! A dose as a tablet, the staff form or the API states it: seven fields (dose number, date,
//! product, lot, site, venue, doctor), read by `vrs_core::doses::parse_statement`. The input is
//! split at ASCII unit separators (0x1F) into the fields, so every field can hold any text,
//! including tabs and newlines. An accepted statement written back as text (its date as typed;
//! dates are the `identifiers` target's) is accepted again and reads the same.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vrs_core::doses::{parse_statement, DoseText};
use vrs_domain::MunicipalityCode;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut fields = text.split('\x1f');
    let mut next = || fields.next().unwrap_or("");
    let form = DoseText {
        dose_number: next(),
        administered_on: next(),
        product: next(),
        lot_number: next(),
        site: next(),
        venue: next(),
        doctor: next(),
    };
    let own = MunicipalityCode::parse("382060").expect("西条市");
    let Ok(statement) = parse_statement(&form, own) else {
        return;
    };
    let (number, site) = (
        statement.dose_number.to_string(),
        statement.site.to_string(),
    );
    let again = DoseText {
        dose_number: &number,
        administered_on: form.administered_on,
        product: statement.product.code,
        lot_number: statement.lot_number.as_str(),
        site: &site,
        venue: &statement.venue,
        doctor: &statement.doctor,
    };
    assert_eq!(parse_statement(&again, own).as_ref(), Ok(&statement));
});
