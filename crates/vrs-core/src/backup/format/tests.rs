//! Tests of the backup file's manifest and sections, written and read back.

use super::*;
use crate::backup::check::check_section;
use vrs_domain::MunicipalityCode;

fn area() -> AuditScope {
    AuditScope::Area(MunicipalityCode::parse("382060").unwrap())
}

/// A section with one row in `audit_heads` and every other table empty, written as a snapshot
/// writes it.
fn section() -> Vec<u8> {
    section_of(FORMAT, true)
}

/// The same, as a file of `format` holds it, with or without the chain head.
fn section_of(format: u32, with_head: bool) -> Vec<u8> {
    let mut w = SectionWriter::of_format(true, format);
    w.area(
        area(),
        vec![CarriedKey {
            version: 1,
            wrapped: vec![1, 2, 3],
        }],
    )
    .unwrap();
    for t in tables_of(area()).iter().filter(|t| !added_after(format, t)) {
        let heads = with_head && t.name == "audit_heads";
        w.table(t, u64::from(heads)).unwrap();
        if heads {
            w.row(&[
                Cell::Text("382060".into()),
                Cell::Int(3),
                Cell::Bytes(vec![7; 32]),
            ])
            .unwrap();
        }
    }
    // The writer leaves out the columns later formats added (format 1 had no moved_in_from).
    w.take().remove(0).plaintext
}

#[test]
fn an_area_round_trips_through_its_section() {
    let back = decode_area(area(), FORMAT, section()).unwrap();
    assert_eq!(back.rows("audit_heads").len(), 1);
    assert_eq!(back.rows("audit_heads")[0][1], Cell::Int(3));
    assert_eq!(back.keys[0].wrapped, vec![1, 2, 3]);
    assert_eq!(AreaManifest::of(&back).chain_heads["382060"].0, 3);
}

#[test]
fn a_section_that_does_not_fit_the_schema_is_named() {
    let text = String::from_utf8(section()).unwrap();
    let cases = [
        (
            text.replace("[\"382060\",3,", "[\"382060\",\"three\","),
            "audit_heads row 1, column seq",
        ),
        (
            text.replace("\"seq\"", "\"sequence\""),
            "audit_log has columns",
        ),
        (text.replace("[\"382060\",3,", "[3,"), "audit_heads row 1"),
        (
            text.replace("\"audit_heads\"", "\"audit_tails\""),
            "audit_tails came where audit_heads",
        ),
        (
            text.replacen("382060", "131016", 1),
            "the section says area 131016",
        ),
        (
            text.replace("\"rows\":1", "\"rows\":2"),
            "audit_heads row 2",
        ),
    ];
    for (bad, says) in cases {
        let err = decode_area(area(), FORMAT, bad.into_bytes()).unwrap_err();
        assert!(err.contains(says), "{says}: {err}");
    }
}

#[test]
fn a_format_4_section_reads_without_the_kanji_index() {
    let old = section_of(4, true);
    let text = String::from_utf8(old.clone()).unwrap();
    assert!(text.contains("\"birth_index\"") && !text.contains("kanji_birth_index"));
    assert_eq!(
        decode_area(area(), 4, old.clone())
            .unwrap()
            .rows("audit_heads")
            .len(),
        1
    );
    let err = decode_area(area(), FORMAT, old).unwrap_err();
    assert!(err.contains("table residents has columns"), "{err}");
}

#[test]
fn a_format_1_section_reads_without_the_carried_terms() {
    let back = decode_area(area(), 1, section_of(1, true)).unwrap();
    assert!(back.rows("terms_versions").is_empty());
    assert_eq!(back.rows("audit_heads").len(), 1);
    // Checked against its manifest (a section without chain entries, so without a head).
    let old = section_of(1, false);
    let back = decode_area(area(), 1, old.clone()).unwrap();
    // Its manifest, as format 1 wrote it, lists no carried table.
    let mut listed = AreaManifest::of(&back).rows;
    listed.remove("terms_versions");
    let checked = check_section(
        area(),
        1,
        old.clone(),
        &AreaManifest {
            rows: listed,
            ..AreaManifest::of(&back)
        },
    );
    assert!(checked.is_ok(), "{checked:?}");
    // Read as format 2 it lacks what format 2 added, named.
    let err = decode_area(area(), 2, old).unwrap_err();
    assert!(err.contains("table residents has columns"), "{err}");
    let no_terms = String::from_utf8(section_of(2, false))
        .unwrap()
        .lines()
        .filter(|l| !l.contains("\"terms_versions\""))
        .collect::<Vec<_>>()
        .join("\n");
    let err = decode_area(area(), 2, no_terms.into_bytes()).unwrap_err();
    assert!(
        err.contains("terms_agreements came where terms_versions"),
        "{err}"
    );
}
