//! The sections of the certificate in the order they are printed: title, the vaccinated
//! person, the dose table, the issuer's statement and the 2D codes.

use chrono::NaiveDate;
use vrs_domain::certificate::CertificateKind;
use vrs_domain::{format_wareki, DoseStatement, Manufacturer};

use super::{
    baseline, part, Cell, Composer, Item, Part, BLACK, BOTTOM, CODES_PER_ROW, CODE_GAP, CODE_SIDE,
    CONTENT_WIDTH, DOSE_COLUMNS, GREY, LEADING, MARGIN_X, PAD_Y, PAGE_WIDTH,
};
use crate::pdf::{CertificateDocument, CodeBlock, PdfError};

impl<'a> Composer<'a, '_> {
    pub(super) fn title(&mut self, doc: &CertificateDocument) -> Result<(), PdfError> {
        let centre = PAGE_WIDTH / 2.0;
        let title = "新型コロナウイルス感染症予防接種証明書";
        self.line(part(title, 18.0, BLACK, "title"), centre, true, true)?;
        self.y += 2.0;
        let title_en = "Vaccination Certificate of COVID-19";
        self.line(part(title_en, 12.5, BLACK, "title"), centre, true, false)?;
        self.y += 4.0;
        let kind = kind_label(doc.kind);
        self.line(part(&kind, 10.0, GREY, "kind"), centre, true, false)?;
        self.y += 4.0;
        let (x, y, w) = (MARGIN_X, self.y, CONTENT_WIDTH);
        self.push(Item::Shade {
            x,
            y,
            w,
            h: 1.2,
            grey: BLACK,
        });
        self.y += 2.0;
        Ok(())
    }

    pub(super) fn holder(&mut self, doc: &CertificateDocument) -> Result<(), PdfError> {
        let h = &doc.holder;
        self.heading("接種者", "Vaccinated person")?;
        match doc.kind {
            CertificateKind::Domestic => {
                self.labelled("氏名", "Name", &[part(&h.name_kanji, 13.0, BLACK, "name")])?;
                let kana = &h.name_kana;
                self.labelled(
                    "氏名（カナ）",
                    "Name (kana)",
                    &[part(kana, 10.0, BLACK, "kana")],
                )?;
            }
            CertificateKind::Overseas => {
                let name = part(&h.name_romaji, 13.0, BLACK, "passport name");
                self.labelled("氏名（旅券記載）", "Name (as in passport)", &[name])?;
            }
        }
        let born = format!("{} / {}", format_wareki(h.birth_date), iso(h.birth_date));
        self.labelled(
            "生年月日",
            "Date of birth",
            &[part(&born, 10.0, BLACK, "birth")],
        )?;
        if doc.kind == CertificateKind::Overseas {
            let nationality = h.nationality.as_deref().unwrap_or("");
            let nationality = part(nationality, 10.0, BLACK, "nationality");
            self.labelled("国籍", "Nationality", &[nationality])?;
            let passport = h.passport_number.as_deref().unwrap_or("");
            let passport = part(passport, 10.0, BLACK, "passport number");
            self.labelled("旅券番号", "Passport No.", &[passport])?;
        }
        Ok(())
    }

    fn dose_header(&mut self) -> Result<(), PdfError> {
        let labels = [
            ("接種回", "Dose"),
            ("接種年月日", "Date"),
            ("ワクチン種類", "Vaccine"),
            ("製品名", "Product"),
            ("製造販売業者", "Manufacturer"),
            ("ロット番号", "Lot No."),
        ];
        let mut cells = Vec::new();
        for ((ja, en), width) in labels.into_iter().zip(DOSE_COLUMNS) {
            let parts = [part(ja, 8.5, BLACK, "label"), part(en, 7.0, GREY, "label")];
            cells.push(self.cell(&parts, width, true)?);
        }
        self.row(cells);
        Ok(())
    }

    pub(super) fn doses(&mut self, doses: &[DoseStatement]) -> Result<(), PdfError> {
        self.heading("接種記録", "Vaccination record")?;
        self.dose_header()?;
        for dose in doses {
            let cells = self.dose_cells(dose)?;
            let height = cells.iter().map(Cell::height).fold(0.0, f32::max);
            if self.y + height > BOTTOM {
                self.keep(f32::INFINITY)?;
                self.heading("接種記録（続き）", "Vaccination record (continued)")?;
                self.dose_header()?;
            }
            self.row(cells);
        }
        Ok(())
    }

    fn dose_cells(&self, dose: &DoseStatement) -> Result<Vec<Cell>, PdfError> {
        let p = dose.product;
        let number = format!("{}回目", dose.dose_number);
        let number_en = format!("Dose {}", dose.dose_number);
        let on = dose.administered_on;
        let (date, date_en) = (format_wareki(on), iso(on));
        let (kind, kind_en) = vaccine_type(p.manufacturer);
        let columns: [[Part<'_>; 2]; 6] = [
            [
                part(&number, 9.5, BLACK, "dose"),
                part(&number_en, 7.5, GREY, "dose"),
            ],
            [
                part(&date, 8.5, BLACK, "date"),
                part(&date_en, 8.5, GREY, "date"),
            ],
            [
                part(kind, 8.5, BLACK, "vaccine"),
                part(kind_en, 7.5, GREY, "vaccine"),
            ],
            [
                part(p.name_ja, 8.5, BLACK, "product"),
                part(p.name, 7.5, GREY, "product"),
            ],
            [
                part(p.manufacturer.ledger_name(), 8.5, BLACK, "maker"),
                part(p.manufacturer.name_en(), 7.5, GREY, "maker"),
            ],
            [
                part(dose.lot_number.as_str(), 9.0, BLACK, "lot"),
                part("", 7.5, GREY, "lot"),
            ],
        ];
        columns
            .iter()
            .zip(DOSE_COLUMNS)
            .map(|(parts, width)| self.cell(parts, width, false))
            .collect()
    }

    pub(super) fn issuer(&mut self, doc: &CertificateDocument) -> Result<(), PdfError> {
        let statement = "上記のとおり新型コロナウイルス感染症の予防接種を行ったことを証明します。";
        let statement_en = "This is to certify that the person named above has been vaccinated against COVID-19 as stated above.";
        let mut lines = Vec::new();
        for (text, size) in [(statement, 9.5), (statement_en, 8.5)] {
            for line in self.shaper.wrap(text, size, CONTENT_WIDTH, "statement")? {
                lines.push((line, size));
            }
        }
        let table = 3.0 * (2.0 * PAD_Y + 9.0 * LEADING + 7.5 * LEADING);
        let height = 10.0 + lines.iter().map(|(_, s)| s * LEADING).sum::<f32>() + 6.0 + table;
        self.keep(height)?;
        self.y += 10.0;
        for (line, size) in lines {
            let baseline = baseline(self.y, size);
            self.push(Item::Text {
                x: MARGIN_X,
                baseline,
                size,
                line,
                grey: BLACK,
                bold: false,
            });
            self.y += size * LEADING;
        }
        self.y += 6.0;
        let issued = format!("{} / {}", format_wareki(doc.issued_on), iso(doc.issued_on));
        self.labelled(
            "発行年月日",
            "Date of issue",
            &[part(&issued, 10.0, BLACK, "issue date")],
        )?;
        let id = part(&doc.certificate_id, 10.0, BLACK, "certificate ID");
        self.labelled("証明書ID", "Certificate ID", &[id])?;
        let issuer = [
            part(&doc.issuer_ja, 11.0, BLACK, "issuer"),
            part(&doc.issuer_en, 8.5, GREY, "issuer"),
        ];
        self.labelled("発行者", "Issued by", &issuer)
    }

    pub(super) fn codes(&mut self, codes: &'a [CodeBlock]) -> Result<(), PdfError> {
        for row in codes.chunks(CODES_PER_ROW) {
            let n = row.len() as f32;
            let side = CODE_SIDE.min((CONTENT_WIDTH - (n - 1.0) * CODE_GAP) / n);
            let mut captions = Vec::new();
            for block in row {
                let mut lines = Vec::new();
                for (text, size, grey) in [
                    (&block.caption_ja, 8.5, BLACK),
                    (&block.caption_en, 7.5, GREY),
                ] {
                    for line in self.shaper.wrap(text, size, side, "code caption")? {
                        lines.push((line, size, grey));
                    }
                }
                captions.push(lines);
            }
            let caption_height = captions
                .iter()
                .map(|lines| lines.iter().map(|(_, size, _)| size * LEADING).sum::<f32>())
                .fold(0.0, f32::max);
            self.keep(12.0 + side + caption_height)?;
            self.y += 12.0;
            let row_width = n * side + (n - 1.0) * CODE_GAP;
            let mut x = MARGIN_X + (CONTENT_WIDTH - row_width) / 2.0;
            for (block, lines) in row.iter().zip(captions) {
                self.push(Item::Qr {
                    x,
                    y: self.y,
                    side,
                    code: &block.code,
                });
                let mut top = self.y + side;
                for (line, size, grey) in lines {
                    let lx = x + (side - line.width(size)) / 2.0;
                    let baseline = baseline(top, size);
                    self.push(Item::Text {
                        x: lx,
                        baseline,
                        size,
                        line,
                        grey,
                        bold: false,
                    });
                    top += size * LEADING;
                }
                x += side + CODE_GAP;
            }
            self.y += side + caption_height;
        }
        Ok(())
    }
}

fn iso(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn kind_label(kind: CertificateKind) -> String {
    format!("（{} / {}）", kind.label_ja(), kind.label_en())
}

/// The vaccine type (ワクチン種類) as certificates name it, by maker: every product of a maker
/// in Japan's catalogue shares one platform.
fn vaccine_type(maker: Manufacturer) -> (&'static str, &'static str) {
    match maker {
        Manufacturer::Pfizer
        | Manufacturer::Moderna
        | Manufacturer::DaiichiSankyo
        | Manufacturer::MeijiSeika => ("mRNAワクチン", "COVID-19 mRNA"),
        Manufacturer::AstraZeneca | Manufacturer::Janssen => {
            ("ウイルスベクターワクチン", "COVID-19 viral vector")
        }
        Manufacturer::Novavax => ("組換えタンパクワクチン", "COVID-19 protein subunit"),
    }
}
