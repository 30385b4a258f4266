//! Writes laid-out pages as a PDF with krilla: text as embedded, subset font glyphs (with a
//! ToUnicode map, so the text can be searched and copied), lines and shading as vector fills,
//! and each QR code as one vector path of dark squares inside its white quiet zone.
//!
//! The document's metadata carries no clock time: its creation date is the issue date and its
//! ID the certificate ID, so the same certificate always gives the same bytes.

use chrono::{Datelike, NaiveDate};
use krilla::color::luma;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::{DateTime, Metadata};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, FillRule, Stroke};
use krilla::surface::Surface;
use krilla::text::Font;
use krilla::{Document, SerializeSettings};

use super::layout::{Item, Page, PAGE_HEIGHT, PAGE_WIDTH};
use super::text::Shaper;
use super::{CertificateDocument, PdfError};

/// A QR code's quiet zone, in modules on each side (ISO/IEC 18004).
const QUIET_ZONE: usize = 4;

pub(super) fn write(
    doc: &CertificateDocument,
    shaper: &Shaper,
    pages: &[Page<'_>],
) -> Result<Vec<u8>, PdfError> {
    let settings = SerializeSettings {
        enable_tagging: false,
        ..SerializeSettings::default()
    };
    let mut document = Document::new_with(settings);
    document.set_metadata(metadata(doc));
    let font = shaper.font();
    for page in pages {
        let size = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT)
            .ok_or_else(|| PdfError::Write("invalid page size".into()))?;
        let mut pdf_page = document.start_page_with(size);
        let mut surface = pdf_page.surface();
        for item in &page.items {
            draw(&mut surface, item, &font);
        }
        surface.finish();
        pdf_page.finish();
    }
    document
        .finish()
        .map_err(|e| PdfError::Write(format!("{e:?}")))
}

fn metadata(doc: &CertificateDocument) -> Metadata {
    Metadata::new()
        .title(format!(
            "新型コロナウイルス感染症予防接種証明書 {}",
            doc.certificate_id
        ))
        .language("ja".into())
        .creator("VRS".into())
        .creation_date(date_time(doc.issued_on))
        .document_id(doc.certificate_id.clone())
}

fn date_time(date: NaiveDate) -> DateTime {
    // Certificates are issued from 2021 on: the year fits a u16 and month and day a u8.
    DateTime::new(u16::try_from(date.year()).unwrap_or(2021))
        .month(date.month() as u8)
        .day(date.day() as u8)
}

fn fill(grey: u8) -> Fill {
    Fill {
        paint: luma::Color::new(grey).into(),
        opacity: NormalizedF32::ONE,
        rule: FillRule::NonZero,
    }
}

fn draw(surface: &mut Surface<'_>, item: &Item<'_>, font: &Font) {
    match item {
        Item::Text {
            x,
            baseline,
            size,
            line,
            grey,
            bold,
        } => {
            surface.set_fill(Some(fill(*grey)));
            // Bold is the regular face with a thin outline of the same colour.
            surface.set_stroke(bold.then(|| Stroke {
                paint: luma::Color::new(*grey).into(),
                width: size * 0.035,
                ..Stroke::default()
            }));
            surface.draw_glyphs(
                Point::from_xy(*x, *baseline),
                &line.glyphs,
                font.clone(),
                &line.text,
                *size,
                false,
            );
            surface.set_stroke(None);
        }
        Item::Shade { x, y, w, h, grey } => {
            if let Some(rect) = Rect::from_xywh(*x, *y, *w, *h) {
                let mut path = PathBuilder::new();
                path.push_rect(rect);
                if let Some(path) = path.finish() {
                    surface.set_fill(Some(fill(*grey)));
                    surface.draw_path(&path);
                }
            }
        }
        Item::Frame { x, y, w, h, width } => {
            if let Some(rect) = Rect::from_xywh(*x, *y, *w, *h) {
                let mut path = PathBuilder::new();
                path.push_rect(rect);
                if let Some(path) = path.finish() {
                    surface.set_fill(None);
                    surface.set_stroke(Some(Stroke {
                        width: *width,
                        ..Stroke::default()
                    }));
                    surface.draw_path(&path);
                    surface.set_stroke(None);
                }
            }
        }
        Item::Qr { x, y, side, code } => draw_qr(surface, *x, *y, *side, code),
    }
}

/// The code's dark modules as one path: each horizontal run of dark modules in a row is one
/// rectangle, so the printer gets few, exact shapes and no seams between neighbours.
fn draw_qr(surface: &mut Surface<'_>, x: f32, y: f32, side: f32, code: &qrcode::QrCode) {
    let n = code.width();
    let module = side / (n + 2 * QUIET_ZONE) as f32;
    let (left, top) = (
        x + QUIET_ZONE as f32 * module,
        y + QUIET_ZONE as f32 * module,
    );
    // The quiet zone is painted white, so the code reads on tinted paper or a dark viewer too.
    if let Some(rect) = Rect::from_xywh(x, y, side, side) {
        let mut path = PathBuilder::new();
        path.push_rect(rect);
        if let Some(path) = path.finish() {
            surface.set_fill(Some(fill(255)));
            surface.draw_path(&path);
        }
    }
    let colors = code.to_colors();
    let mut path = PathBuilder::new();
    for (row, modules) in colors.chunks(n).enumerate() {
        let mut col = 0;
        while col < n {
            if modules[col] != qrcode::Color::Dark {
                col += 1;
                continue;
            }
            let start = col;
            while col < n && modules[col] == qrcode::Color::Dark {
                col += 1;
            }
            let rx = left + start as f32 * module;
            let ry = top + row as f32 * module;
            if let Some(rect) = Rect::from_xywh(rx, ry, (col - start) as f32 * module, module) {
                path.push_rect(rect);
            }
        }
    }
    if let Some(path) = path.finish() {
        surface.set_fill(Some(fill(0)));
        surface.draw_path(&path);
    }
}
