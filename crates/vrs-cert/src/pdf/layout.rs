//! Where everything goes on the certificate's A4 pages: the title, the holder, the table of doses,
//! the issuer's statement, the 2D codes and a footer with the certificate ID on every page.
//!
//! Layout is separate from writing the PDF: it produces a list of positioned items per page
//! (points, origin top left, y down), measured with the real font, and flows onto a further page
//! only when the content does not fit (a dose table split over pages repeats its header; the
//! issuer's block and each row of codes are kept whole). The sections themselves are in
//! `layout/sections.rs`.

mod sections;

use super::text::{Line, Shaper};
use super::{CertificateDocument, PdfError};

/// A4 portrait, in points.
pub(super) const PAGE_WIDTH: f32 = 595.28;
pub(super) const PAGE_HEIGHT: f32 = 841.89;
const MARGIN_X: f32 = 48.0;
const TOP: f32 = 44.0;
/// Content stops here; the footer sits below.
const BOTTOM: f32 = PAGE_HEIGHT - 58.0;
const CONTENT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN_X;
/// Line height as a multiple of the font size.
const LEADING: f32 = 1.3;
/// Padding inside a table cell.
const PAD_X: f32 = 5.0;
const PAD_Y: f32 = 3.0;
/// The label column of the holder and issuer tables.
const LABEL_WIDTH: f32 = 150.0;
/// The dose table's columns: 接種回, 接種年月日, ワクチン種類, 製品名, 製造販売業者, ロット番号.
const DOSE_COLUMNS: [f32; 6] = [42.0, 80.0, 84.0, 120.0, 88.0, CONTENT_WIDTH - 414.0];
/// The largest a QR code is printed (side, quiet zone included), and the gap between codes.
const CODE_SIDE: f32 = 170.0;
const CODE_GAP: f32 = 16.0;
const CODES_PER_ROW: usize = 3;

const BLACK: u8 = 0;
const GREY: u8 = 85;
const SHADE: u8 = 236;

/// Something drawn on a page.
pub(super) enum Item<'a> {
    Text {
        x: f32,
        baseline: f32,
        size: f32,
        line: Line,
        grey: u8,
        bold: bool,
    },
    /// A filled rectangle.
    Shade {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        grey: u8,
    },
    /// A rectangle's outline.
    Frame {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        width: f32,
    },
    /// A QR code with its quiet zone, `side` points square, top left at `x`, `y`.
    Qr {
        x: f32,
        y: f32,
        side: f32,
        code: &'a qrcode::QrCode,
    },
}

pub(super) struct Page<'a> {
    pub items: Vec<Item<'a>>,
}

/// One piece of text in a cell: what, how big, how dark, which field (for errors).
struct Part<'t> {
    text: &'t str,
    size: f32,
    grey: u8,
    field: &'static str,
}

fn part<'t>(text: &'t str, size: f32, grey: u8, field: &'static str) -> Part<'t> {
    Part {
        text,
        size,
        grey,
        field,
    }
}

/// A table cell's text, wrapped to the cell's width.
struct Cell {
    lines: Vec<(Line, f32, u8)>,
    width: f32,
    shade: bool,
}

impl Cell {
    fn height(&self) -> f32 {
        2.0 * PAD_Y
            + self
                .lines
                .iter()
                .map(|(_, size, _)| size * LEADING)
                .sum::<f32>()
    }
}

/// Lays the certificate out on as many pages as it needs.
pub(super) fn lay_out<'a>(
    doc: &'a CertificateDocument,
    shaper: &Shaper,
) -> Result<Vec<Page<'a>>, PdfError> {
    let mut c = Composer {
        shaper,
        pages: vec![Page { items: Vec::new() }],
        y: TOP,
    };
    c.title(doc)?;
    c.holder(doc)?;
    c.doses(&doc.doses)?;
    c.issuer(doc)?;
    c.codes(&doc.codes)?;
    c.footers(&doc.certificate_id)?;
    Ok(c.pages)
}

struct Composer<'a, 's> {
    shaper: &'s Shaper,
    pages: Vec<Page<'a>>,
    /// Top of the free space on the current page.
    y: f32,
}

impl<'a> Composer<'a, '_> {
    fn push(&mut self, item: Item<'a>) {
        if let Some(page) = self.pages.last_mut() {
            page.items.push(item);
        }
    }

    /// Starts a new page unless `height` still fits on this one. A new page opens with the
    /// certificate's title, so a loose second sheet still says what it belongs to (the footer
    /// carries the certificate ID).
    fn keep(&mut self, height: f32) -> Result<(), PdfError> {
        if self.y + height <= BOTTOM || self.y <= TOP {
            return Ok(());
        }
        self.pages.push(Page { items: Vec::new() });
        self.y = TOP;
        let title = "新型コロナウイルス感染症予防接種証明書（続き） / Vaccination Certificate of COVID-19 (continued)";
        self.line(part(title, 9.5, GREY, "title"), MARGIN_X, false, false)?;
        self.y += 2.0;
        let (x, y, w) = (MARGIN_X, self.y, CONTENT_WIDTH);
        self.push(Item::Shade {
            x,
            y,
            w,
            h: 0.6,
            grey: GREY,
        });
        Ok(())
    }

    /// One line of text with its top at the cursor; `x` is the left edge, or the centre when
    /// `centred`. Moves the cursor below it.
    fn line(&mut self, p: Part<'_>, x: f32, centred: bool, bold: bool) -> Result<(), PdfError> {
        let line = self.shaper.shape(p.text, p.field)?;
        let x = if centred {
            x - line.width(p.size) / 2.0
        } else {
            x
        };
        self.push(Item::Text {
            x,
            baseline: baseline(self.y, p.size),
            size: p.size,
            line,
            grey: p.grey,
            bold,
        });
        self.y += p.size * LEADING;
        Ok(())
    }

    fn cell(&self, parts: &[Part<'_>], width: f32, shade: bool) -> Result<Cell, PdfError> {
        let mut lines = Vec::new();
        for p in parts.iter().filter(|p| !p.text.is_empty()) {
            for line in self
                .shaper
                .wrap(p.text, p.size, width - 2.0 * PAD_X, p.field)?
            {
                lines.push((line, p.size, p.grey));
            }
        }
        Ok(Cell {
            lines,
            width,
            shade,
        })
    }

    /// Draws a table row of cells side by side at the cursor and moves below it.
    fn row(&mut self, cells: Vec<Cell>) {
        let height = cells.iter().map(Cell::height).fold(0.0, f32::max);
        let mut x = MARGIN_X;
        for cell in cells {
            let (w, y) = (cell.width, self.y);
            if cell.shade {
                self.push(Item::Shade {
                    x,
                    y,
                    w,
                    h: height,
                    grey: SHADE,
                });
            }
            self.push(Item::Frame {
                x,
                y,
                w,
                h: height,
                width: 0.6,
            });
            let mut top = y + PAD_Y;
            for (line, size, grey) in cell.lines {
                let baseline = baseline(top, size);
                self.push(Item::Text {
                    x: x + PAD_X,
                    baseline,
                    size,
                    line,
                    grey,
                    bold: false,
                });
                top += size * LEADING;
            }
            x += w;
        }
        self.y += height;
    }

    fn heading(&mut self, ja: &str, en: &str) -> Result<(), PdfError> {
        self.y += 10.0;
        let text = format!("{ja} / {en}");
        self.line(part(&text, 10.5, BLACK, "heading"), MARGIN_X, false, true)?;
        self.y += 2.0;
        Ok(())
    }

    /// A label / value row of the holder and issuer tables.
    fn labelled(&mut self, ja: &str, en: &str, value: &[Part<'_>]) -> Result<(), PdfError> {
        let label = self.cell(
            &[part(ja, 9.0, BLACK, "label"), part(en, 7.5, GREY, "label")],
            LABEL_WIDTH,
            true,
        )?;
        let value = self.cell(value, CONTENT_WIDTH - LABEL_WIDTH, false)?;
        self.row(vec![label, value]);
        Ok(())
    }

    /// The certificate ID and "page n / N" at the foot of every page.
    fn footers(&mut self, certificate_id: &str) -> Result<(), PdfError> {
        let total = self.pages.len();
        let id = format!("証明書ID / Certificate ID: {certificate_id}");
        let id = self.shaper.shape(&id, "certificate ID")?;
        let y = baseline(PAGE_HEIGHT - 40.0, 7.5);
        for (i, page) in self.pages.iter_mut().enumerate() {
            let number = self
                .shaper
                .shape(&format!("{} / {}", i + 1, total), "page")?;
            let x = PAGE_WIDTH - MARGIN_X - number.width(7.5);
            let rule = Item::Shade {
                x: MARGIN_X,
                y: PAGE_HEIGHT - 44.0,
                w: CONTENT_WIDTH,
                h: 0.5,
                grey: GREY,
            };
            page.items.push(rule);
            let id = id.clone();
            page.items.push(Item::Text {
                x: MARGIN_X,
                baseline: y,
                size: 7.5,
                line: id,
                grey: GREY,
                bold: false,
            });
            page.items.push(Item::Text {
                x,
                baseline: y,
                size: 7.5,
                line: number,
                grey: GREY,
                bold: false,
            });
        }
        Ok(())
    }
}

/// The baseline of a line whose box (`size` × [`LEADING`]) starts at `top`. The font's ascent
/// is 0.88 em; the rest of the leading is split above and below.
fn baseline(top: f32, size: f32) -> f32 {
    top + size * ((LEADING - 1.0) / 2.0 + 0.88)
}
