//! The printed certificate: its text can be read back out of the PDF in Japanese and English
//! (so the font is embedded with a ToUnicode map), its QR codes decode to the payloads they were
//! made from after the page is rasterised by an independent PDF renderer, it is A4, it names what
//! a domestic or an overseas certificate must, a long dose history flows onto a second page, and
//! the same certificate always gives the same bytes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use chrono::NaiveDate;
use hayro::hayro_interpret::InterpreterSettings;
use hayro::hayro_syntax::Pdf;
use hayro::vello_cpu::color::palette::css::WHITE;
use hayro::{PixmapSettings, RenderCache, RenderSettings};
use qrcode::QrCode;
use rqrr::BitGrid;
use vrs_cert::pdf::{render, CertificateDocument, CodeBlock, Holder, PdfError};
use vrs_domain::certificate::CertificateKind;
use vrs_domain::{DoseNumber, DoseStatement, LotNumber, MunicipalityCode, VaccineProduct};

const ID: &str = "131016-7K3M9Q2XWZ4HC";

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Payloads shaped like the real ones: a SMART Health Card is `shc:/` and digits, an EU DCC is
/// `HC1:` and Base45, a VDS-NC is signed JSON.
fn payloads() -> [String; 3] {
    let shc = format!(
        "shc:/{}",
        (0..1100)
            .map(|i| char::from(b'0' + (i * 7 % 10) as u8))
            .collect::<String>()
    );
    let dcc = format!(
        "HC1:{}",
        (0..520)
            .map(|i| char::from(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"[i * 13 % 45]))
            .collect::<String>()
    );
    let vds = r#"{"data":{"hdr":{"is":"JPN","t":"icao.vacc","v":1},"msg":{"pid":{"dob":"1985-04-01","i":"TK1234567","n":"TAKAHASHI TARO","sex":"M"},"uvci":"URN:UVCI:01:JP:1310167K3M9Q2XWZ4HC","ve":[{"des":"XM68M6","dis":"RA01.0","nam":"Comirnaty","vd":[{"adm":"Chiyoda","ctr":"JPN","dvc":"2021-06-01","lot":"FA5765","seq":1}]}]}},"sig":{"alg":"ES256","cer":"MIIBWDCB_example","sigvl":"c2lnbmF0dXJlLWV4YW1wbGU"}}"#.to_owned();
    [shc, dcc, vds]
}

fn codes(kind: CertificateKind) -> Vec<CodeBlock> {
    let [shc, dcc, vds] = payloads();
    let mut codes = vec![
        CodeBlock {
            caption_ja: "SMART Health Card（国内・海外共通）".into(),
            caption_en: "SMART Health Card".into(),
            code: QrCode::new(shc.as_bytes()).unwrap(),
        },
        CodeBlock {
            caption_ja: "EUデジタルCOVID証明書".into(),
            caption_en: "EU Digital COVID Certificate".into(),
            code: QrCode::new(dcc.as_bytes()).unwrap(),
        },
    ];
    if kind == CertificateKind::Overseas {
        codes.push(CodeBlock {
            caption_ja: "ICAO VDS-NC（海外渡航用）".into(),
            caption_en: "ICAO VDS-NC (for travel)".into(),
            code: QrCode::new(vds.as_bytes()).unwrap(),
        });
    }
    codes
}

fn dose(n: u8, on: NaiveDate, product: &str, lot: &str) -> DoseStatement {
    DoseStatement {
        dose_number: DoseNumber::new(n).unwrap(),
        administered_on: on,
        product: VaccineProduct::by_code(product).unwrap(),
        lot_number: LotNumber::parse(lot).unwrap(),
        site: MunicipalityCode::parse("131016").unwrap(),
        venue: String::new(),
        doctor: String::new(),
    }
}

fn history() -> Vec<DoseStatement> {
    vec![
        dose(1, date(2021, 6, 1), "comirnaty", "FA5765"),
        dose(2, date(2021, 6, 22), "comirnaty", "FC3661"),
        dose(3, date(2022, 2, 10), "spikevax", "3004734"),
        dose(4, date(2022, 11, 5), "spikevax-bivalent-ba4-5", "AAA1234"),
        dose(5, date(2023, 10, 2), "comirnaty-xbb15", "HK5382"),
        dose(6, date(2024, 10, 15), "daichirona-jn1", "D0012A"),
        dose(7, date(2024, 12, 3), "nuvaxovid", "4302MF007"),
    ]
}

fn certificate(kind: CertificateKind, doses: usize) -> CertificateDocument {
    CertificateDocument {
        kind,
        certificate_id: ID.into(),
        issued_on: date(2024, 4, 1),
        issuer_ja: "千代田区長".into(),
        issuer_en: "Mayor of Chiyoda City".into(),
        holder: Holder {
            name_kanji: "髙橋 太郎".into(),
            name_kana: "タカハシ タロウ".into(),
            name_romaji: "TAKAHASHI TARO".into(),
            birth_date: date(1985, 4, 1),
            nationality: Some("JPN".into()),
            passport_number: Some("TK1234567".into()),
        },
        doses: history().into_iter().take(doses).collect(),
        codes: codes(kind),
    }
}

fn text_of(pdf: &[u8]) -> String {
    pdf_extract::extract_text_from_mem(pdf).unwrap()
}

/// A QR code read off a rasterised page: its decoded text and the dark/light modules the
/// reader sampled, row by row.
struct ReadCode {
    text: String,
    modules: Vec<bool>,
}

/// Every QR code found on every page after an independent renderer rasterised it without
/// anti-aliasing at 288 and 360 dpi (as a scanner or a phone camera sees print). rqrr misses a
/// code now and then at one resolution, so what either resolution reads counts.
fn read_codes(pdf: &[u8]) -> Vec<ReadCode> {
    let pdf = Pdf::new(pdf.to_vec()).unwrap();
    let cache = RenderCache::new();
    let crisp = RenderSettings {
        aliasing_threshold: Some(128),
        ..RenderSettings::default()
    };
    let mut found = Vec::new();
    for page in pdf.pages().iter() {
        for scale in [4.0, 5.0] {
            let pixmap = hayro::render(
                page,
                &cache,
                &InterpreterSettings::default(),
                &crisp,
                &PixmapSettings {
                    x_scale: scale,
                    y_scale: scale,
                    bg_color: WHITE,
                },
            );
            let (w, h) = (pixmap.width() as usize, pixmap.height() as usize);
            let rgba = pixmap.data_as_u8_slice();
            let mut image =
                rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| rgba[4 * (y * w + x)]);
            for grid in image.detect_grids() {
                let Ok((_, text)) = grid.decode() else {
                    continue;
                };
                let n = grid.grid.size();
                let modules = (0..n * n).map(|i| grid.grid.bit(i / n, i % n)).collect();
                found.push(ReadCode { text, modules });
            }
        }
    }
    found
}

/// Asserts that every code of `doc` was read back with exactly the modules it was made of (not
/// merely decoded: error correction would hide a misdrawn column, and readers accept mirrored
/// codes) and decodes to its payload.
fn assert_codes_read_back(pdf: &[u8], doc: &CertificateDocument, payloads: &[String]) {
    let read = read_codes(pdf);
    for (block, payload) in doc.codes.iter().zip(payloads) {
        let modules: Vec<bool> = block
            .code
            .to_colors()
            .iter()
            .map(|c| *c == qrcode::Color::Dark)
            .collect();
        let same = read
            .iter()
            .filter(|r| r.modules == modules)
            .collect::<Vec<_>>();
        assert!(
            !same.is_empty(),
            "{}: no code with its modules was read",
            block.caption_en
        );
        assert!(
            same.iter().all(|r| &r.text == payload),
            "{}",
            block.caption_en
        );
    }
    let texts: BTreeSet<&String> = read.iter().map(|r| &r.text).collect();
    assert_eq!(
        texts,
        payloads.iter().collect(),
        "a code was read that is not on the certificate"
    );
}

#[test]
fn japanese_and_english_text_can_be_extracted() {
    let pdf = render(&certificate(CertificateKind::Domestic, 3)).unwrap();
    let text = text_of(&pdf);
    for expected in [
        "新型コロナウイルス感染症予防接種証明書",
        "Vaccination Certificate of COVID-19",
        "日本国内用",
        "髙橋",
        "太郎",
        "タカハシ",
        "昭和60年4月1日",
        "1985-04-01",
        ID,
        "FA5765",
        "FC3661",
        "3004734",
        "コミナティ筋注",
        "Comirnaty",
        "スパイクバックス筋注",
        "Moderna",
        "COVID-19 mRNA",
        "令和3年6月1日",
        "千代田区長",
        "Mayor of Chiyoda City",
        "令和6年4月1日",
        "SMART Health Card",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} not in the text:\n{text}"
        );
    }
    assert!(
        !text.contains("TK1234567"),
        "a domestic certificate shows no passport"
    );
}

#[test]
fn every_qr_code_reads_back_module_for_module_after_rasterising() {
    let doc = certificate(CertificateKind::Overseas, 2);
    let pdf = render(&doc).unwrap();
    assert_codes_read_back(&pdf, &doc, &payloads());
}

#[test]
fn qr_modules_are_large_enough_to_print() {
    // The largest code (the SMART Health Card) still gets at least 0.33 mm per module when
    // three codes share a row.
    let doc = certificate(CertificateKind::Overseas, 2);
    let widest = doc.codes.iter().map(|c| c.code.width()).max().unwrap();
    let side_pt = (595.28 - 96.0 - 2.0 * 16.0) / 3.0;
    let module_mm = side_pt / (widest + 8) as f32 * 25.4 / 72.0;
    assert!(module_mm >= 0.33, "{module_mm} mm per module");
}

#[test]
fn the_page_is_a4() {
    let pdf = render(&certificate(CertificateKind::Domestic, 2)).unwrap();
    let pdf = Pdf::new(pdf).unwrap();
    assert_eq!(pdf.pages().len(), 1);
    let media_box = pdf.pages()[0].media_box();
    let (w, h) = (media_box.x1 - media_box.x0, media_box.y1 - media_box.y0);
    // 210 × 297 mm.
    assert!(
        (w - 595.28).abs() < 0.5 && (h - 841.89).abs() < 0.5,
        "{w} × {h}"
    );
}

#[test]
fn an_overseas_certificate_shows_the_passport_name_nationality_and_number() {
    let pdf = render(&certificate(CertificateKind::Overseas, 2)).unwrap();
    let text = text_of(&pdf);
    for expected in [
        "海外用",
        "For overseas use",
        "TAKAHASHI TARO",
        "JPN",
        "TK1234567",
        "旅券番号",
        "Passport No.",
        "Nationality",
        "1985-04-01",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} not in the text:\n{text}"
        );
    }
    assert!(
        !text.contains("髙橋"),
        "the overseas certificate uses the passport name"
    );
}

#[test]
fn seven_doses_flow_onto_a_second_a4_page_with_every_lot_and_code() {
    let doc = certificate(CertificateKind::Overseas, 7);
    let pdf = render(&doc).unwrap();
    let parsed = Pdf::new(pdf.clone()).unwrap();
    assert_eq!(parsed.pages().len(), 2);
    for page in parsed.pages().iter() {
        let media_box = page.media_box();
        assert!((media_box.y1 - media_box.y0 - 841.89).abs() < 0.5);
    }
    let text = text_of(&pdf);
    for dose in &doc.doses {
        let lot = dose.lot_number.as_str();
        assert!(text.contains(lot), "lot {lot} missing");
        assert!(text.contains(&format!("{}回目", dose.dose_number)));
    }
    assert!(text.contains("1 / 2") && text.contains("2 / 2"));
    assert_codes_read_back(&pdf, &doc, &payloads());
}

#[test]
fn four_doses_still_fit_on_one_page() {
    let pdf = render(&certificate(CertificateKind::Overseas, 4)).unwrap();
    assert_eq!(Pdf::new(pdf).unwrap().pages().len(), 1);
}

#[test]
fn the_same_certificate_gives_the_same_bytes() {
    let doc = certificate(CertificateKind::Domestic, 3);
    assert_eq!(render(&doc).unwrap(), render(&doc).unwrap());
}

#[test]
fn only_the_glyphs_used_are_embedded() {
    let pdf = render(&certificate(CertificateKind::Domestic, 3)).unwrap();
    // The whole font is over 3 MB; a subset of a few hundred glyphs is a small fraction.
    assert!(pdf.len() < 200_000, "{} bytes", pdf.len());
}

#[test]
fn a_character_the_font_lacks_is_refused_not_printed_as_a_box() {
    let mut doc = certificate(CertificateKind::Domestic, 1);
    doc.holder.name_kanji = "\u{20BB7}田 花子".into(); // 𠮷 (tsuchi-yoshi), outside JIS
    assert_eq!(
        render(&doc),
        Err(PdfError::UnsupportedCharacter {
            character: '\u{20BB7}',
            field: "name"
        })
    );
}

#[test]
fn a_certificate_without_doses_is_refused() {
    let doc = certificate(CertificateKind::Domestic, 0);
    assert_eq!(render(&doc), Err(PdfError::NoDoses));
}

/// Writes sample certificates to the temp directory for a person to look at
/// (`pdftoppm -png -r 100 <file> page`).
#[test]
fn writes_sample_certificates_for_review() {
    let dir = std::env::temp_dir();
    for (name, kind, doses) in [
        ("vrs-certificate-domestic.pdf", CertificateKind::Domestic, 3),
        ("vrs-certificate-overseas.pdf", CertificateKind::Overseas, 4),
        (
            "vrs-certificate-seven-doses.pdf",
            CertificateKind::Overseas,
            7,
        ),
    ] {
        let pdf = render(&certificate(kind, doses)).unwrap();
        std::fs::write(dir.join(name), &pdf).unwrap();
    }
}
