//! FHIR: an Immunization resource as JSON, and the patient and immunization IDs of a URL.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = vrs_interop::fhir::read_immunization(&value);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = vrs_interop::fhir::parse_patient_id(text);
        let _ = vrs_interop::fhir::parse_immunization_id(text);
    }
});
