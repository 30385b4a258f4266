//! The inquiry pages: the single inquiry with its answer, the bulk inquiry job, and the provision
//! records. No page shows a My Number: the form field is write-only and answers name people by
//! the own municipality's 宛名番号.

use maud::{html, Markup};
use vrs_core::inquiry::InquiryAnswer;
use vrs_core::inquiry_bulk::{BulkOutcome, BulkReport};
use vrs_domain::{format_wareki, VaccineProduct};
use vrs_store::{InquiryJob, ProvidedDose, ProvisionRecord};

use crate::i18n::Lang;
use crate::pages::layout;
use crate::session::Signed;

fn jst(at: chrono::DateTime<chrono::Utc>) -> String {
    (at + chrono::Duration::hours(9))
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn doses_table(ja: bool, doses: &[ProvidedDose]) -> Markup {
    let tr = |j: &'static str, e: &'static str| if ja { j } else { e };
    html! {
        table.doses {
            tr {
                th { (tr("接種回", "Dose")) } th { (tr("接種日", "Date")) } th { (tr("ワクチン", "Vaccine")) }
                th { (tr("メーカー", "Maker")) } th { (tr("ロット番号", "Lot")) }
                th { (tr("接種券番号", "Coupon")) } th { (tr("接種地", "Site")) }
            }
            @for d in doses {
                @let product = VaccineProduct::by_code(&d.product_code);
                tr {
                    td { (d.dose_number) }
                    td { (format_wareki(d.administered_on)) "（" (d.administered_on) "）" }
                    td { (product.map_or(d.product_code.as_str(), |p| if ja { p.name_ja } else { p.name })) }
                    td { (product.map_or("", |p| if ja { p.ledger_maker_name() } else { p.manufacturer.name_en() })) }
                    td { (d.lot_number) }
                    td { (d.coupon.as_str()) }
                    td { (d.site_municipality.info().full_name()) }
                }
            }
        }
    }
}

fn answer(signed: &Signed, a: &InquiryAnswer) -> Markup {
    let ja = signed.lang == Lang::Ja;
    let tr = |j: &'static str, e: &'static str| if ja { j } else { e };
    html! {
        section.card #answer data-found=(a.found) {
            h3 { (tr("照会結果", "Answer")) }
            p { (tr("照会番号", "Inquiry ID")) ": " span #inquiry-id { (a.inquiry_id) } }
            p { (tr("照会先", "Asked")) ": " (a.former.info().full_name()) "（" (a.former) "）　"
                (tr("同意の根拠", "Consent basis")) ": " (if ja { a.consent.label_ja() } else { a.consent.label_en() }) }
            @if !a.found {
                p.notice #not-found { (tr("該当する接種記録はありません。", "No record found.")) }
            } @else if a.doses.is_empty() {
                p.notice #no-doses { (tr("該当者はいますが、接種記録はありません。", "The person is there, with no dose recorded.")) }
            } @else {
                (doses_table(ja, &a.doses))
                @if let Some(atena) = &a.own_atena {
                    form method="post" action={ "/inquiries/" (a.inquiry_id) "/register" } {
                        input type="hidden" name="csrf" value=(signed.session.csrf_token);
                        p { (tr("自自治体の宛名番号", "Own atena number")) ": " (atena) }
                        button #register type="submit" { (tr("この接種記録を自自治体に登録する", "Register these doses in our records")) }
                    }
                } @else {
                    p.notice { (tr("この個人番号の対象者は自自治体にまだいません。対象者を取り込んでから再度照会すると登録できます。",
                        "Nobody with this My Number is among our targets yet: import the person, then inquire again to register.")) }
                }
            }
        }
    }
}

pub fn inquiry(
    signed: &Signed,
    result: Option<&InquiryAnswer>,
    error: Option<&str>,
    recent: &[ProvisionRecord],
) -> Markup {
    let ja = signed.lang == Lang::Ja;
    let tr = |j: &'static str, e: &'static str| if ja { j } else { e };
    let body = html! {
        @if let Some(a) = result { (answer(signed, a)) }
        form.card #inquiry-form method="post" action="/inquiries" autocomplete="off" {
            @if let Some(e) = error { p.error role="alert" #error { (e) } }
            p { (tr("転入者の個人番号と転出元の自治体コードを入力します。照会先の自治体の記録だけが検索されます。",
                "Enter the mover's My Number and the code of the municipality they moved from. Only that municipality's records are searched.")) }
            input type="hidden" name="csrf" value=(signed.session.csrf_token);
            label for="my_number" { (tr("個人番号", "My Number")) }
            input #my_number name="my_number" inputmode="numeric" autocomplete="off" required;
            label for="former_municipality" { (tr("転出元自治体コード（6桁）", "Former municipality code (6 digits)")) }
            input #former_municipality name="former_municipality" inputmode="numeric" required;
            label {
                input #consent type="checkbox" name="consent" value="1";
                (tr(" 本人の同意を確認しました（双方が「本人同意を要しない接種記録照会に係る確認事項」に同意している場合は不要）",
                    " The person consented (not needed when both municipalities agreed to the no-consent inquiry terms)"))
            }
            button #send type="submit" { (tr("照会する", "Inquire")) }
        }
        p { a href="/inquiries/bulk" { (tr("一括照会", "Bulk inquiry")) } "　" a href="/provisions" { (tr("情報提供等の記録", "Provision records")) } }
        h3 { (tr("最近の照会", "Recent inquiries")) }
        (records_table(ja, recent))
    };
    layout(
        signed.lang,
        tr(
            "他自治体への接種記録照会",
            "Inquiry to another municipality",
        ),
        Some(signed),
        body,
    )
}

fn records_table(ja: bool, records: &[ProvisionRecord]) -> Markup {
    let tr = |j: &'static str, e: &'static str| if ja { j } else { e };
    html! {
        @if records.is_empty() {
            p #no-records { (tr("記録はありません。", "No records.")) }
        } @else {
            table #records {
                tr {
                    th { (tr("照会番号", "Inquiry ID")) } th { (tr("区分", "Side")) } th { (tr("日時", "When")) }
                    th { (tr("相手自治体", "Other municipality")) } th { (tr("照会者", "Asked by")) }
                    th { (tr("同意の根拠", "Consent basis")) } th { (tr("宛名番号", "Atena number")) }
                    th { (tr("結果", "Result")) } th { (tr("提供した接種回", "Doses provided")) }
                }
                @for r in records {
                    tr data-side=(r.side.as_str()) {
                        td { (r.inquiry_id) }
                        td { (if ja { r.side.label_ja() } else { r.side.as_str() }) }
                        td { (jst(r.at)) }
                        td { (r.counterpart.info().full_name()) "（" (r.counterpart) "）" }
                        td { (r.actor) }
                        td { (if ja { r.consent.label_ja() } else { r.consent.label_en() }) }
                        td { (r.atena.as_ref().map(ToString::to_string).unwrap_or_default()) }
                        td { (if r.found { tr("該当あり", "found") } else { tr("該当なし", "not found") }) }
                        td { (r.doses.iter().map(|d| d.dose_number.to_string()).collect::<Vec<_>>().join(",")) }
                    }
                }
            }
        }
    }
}

pub fn bulk(
    signed: &Signed,
    report: Option<&BulkReport>,
    error: Option<&str>,
    jobs: &[InquiryJob],
) -> Markup {
    let ja = signed.lang == Lang::Ja;
    let tr = |j: &'static str, e: &'static str| if ja { j } else { e };
    let body = html! {
        @if let Some(r) = report {
            section.card #bulk-report {
                h3 { (tr("一括照会の結果", "Bulk inquiry results")) " " (r.job.batch) }
                p #bulk-counts {
                    (tr("行数", "Rows")) " " (r.job.rows) "　" (tr("該当あり", "found")) " " (r.job.found) "　"
                    (tr("該当なし", "not found")) " " (r.job.not_found) "　" (tr("照会不可", "refused")) " " (r.job.refused) "　"
                    (tr("入力誤り", "invalid")) " " (r.job.invalid)
                }
                p { a #bulk-download href={ "/inquiries/bulk/" (r.job.batch) "/download" } { (tr("結果をダウンロード（CSV）", "Download the results (CSV)")) } }
                table #bulk-rows {
                    tr { th { (tr("行", "Line")) } th { (tr("転出元", "Former municipality")) } th { (tr("結果", "Result")) } th { (tr("詳細", "Detail")) } }
                    @for row in &r.rows {
                        tr data-line=(row.line) {
                            td { (row.line) }
                            td { (row.former.map(|f| f.to_string()).unwrap_or_default()) }
                            @match &row.outcome {
                                BulkOutcome::Found { doses, .. } => {
                                    td { (tr("該当あり", "found")) }
                                    td { (doses.iter().map(|d| d.dose_number.to_string()).collect::<Vec<_>>().join(",")) }
                                }
                                BulkOutcome::NotFound => { td { (tr("該当なし", "not found")) } td {} }
                                BulkOutcome::Refused(m) => { td { (tr("照会不可", "refused")) } td { (m) } }
                                BulkOutcome::Invalid(p) => { td { (tr("入力誤り", "invalid")) } td { (p.join(" / ")) } }
                            }
                        }
                    }
                }
            }
        }
        form.card method="post" action="/inquiries/bulk" enctype="multipart/form-data" {
            @if let Some(e) = error { p.error role="alert" #error { (e) } }
            p { (tr("個人番号・転出元自治体コード・本人同意（1または空欄）の3列のCSV（UTF-8またはShift_JIS、見出し行は任意）。各行に単独の照会と同じ規則が適用されます。",
                "A CSV of My Number, former municipality code and consent (1 or empty), UTF-8 or Shift_JIS, header optional. Each row follows the rules of a single inquiry.")) }
            input type="hidden" name="csrf" value=(signed.session.csrf_token);
            label { (tr("ファイル", "File")) input type="file" name="file" accept=".csv,text/csv" required; }
            label { (tr("文字コード", "Encoding"))
                select name="encoding" {
                    option value="auto" selected { (tr("自動判定", "Detect")) }
                    option value="cp932" { "Shift_JIS (CP932)" }
                    option value="utf-8" { "UTF-8" }
                }
            }
            button type="submit" { (tr("一括照会する", "Run the bulk inquiry")) }
        }
        h3 { (tr("これまでの一括照会", "Earlier bulk inquiries")) }
        @if jobs.is_empty() {
            p { (tr("ありません。", "None.")) }
        } @else {
            table #bulk-jobs {
                tr { th { (tr("バッチ", "Batch")) } th { (tr("日時", "When")) } th { (tr("照会者", "By")) } th { (tr("行数", "Rows")) } th { (tr("該当あり", "Found")) } th {} }
                @for j in jobs {
                    tr {
                        td { (j.batch) } td { (jst(j.created_at)) } td { (j.created_by) } td { (j.rows) } td { (j.found) }
                        td { a href={ "/inquiries/bulk/" (j.batch) "/download" } { "CSV" } }
                    }
                }
            }
        }
    };
    layout(
        signed.lang,
        tr("一括照会", "Bulk inquiry"),
        Some(signed),
        body,
    )
}

pub fn provisions(
    signed: &Signed,
    side: &str,
    from: &str,
    to: &str,
    records: &[ProvisionRecord],
) -> Markup {
    let ja = signed.lang == Lang::Ja;
    let tr = |j: &'static str, e: &'static str| if ja { j } else { e };
    let query = format!("side={side}&from={from}&to={to}");
    let body = html! {
        form.card.search method="get" action="/provisions" {
            label { (tr("区分", "Side"))
                select name="side" {
                    option value="" selected[side.is_empty()] { (tr("すべて", "Both")) }
                    option value="inquired" selected[side == "inquired"] { (tr("照会（自自治体が照会）", "Inquired (we asked)")) }
                    option value="provided" selected[side == "provided"] { (tr("提供（自自治体の記録を提供）", "Provided (our records given)")) }
                }
            }
            label { (tr("期間（開始日）", "From")) input name="from" value=(from) placeholder="令和8年11月1日 / 2026-11-01"; }
            label { (tr("期間（終了日）", "To")) input name="to" value=(to); }
            button type="submit" { (tr("表示", "Show")) }
        }
        p {
            a #download href={ "/provisions/download?" (query) } { (tr("CSVダウンロード（Shift_JIS）", "Download CSV (Shift_JIS)")) } "　"
            a href={ "/provisions/download?" (query) "&encoding=utf-8" } { (tr("CSVダウンロード（UTF-8）", "Download CSV (UTF-8)")) }
        }
        (records_table(ja, records))
    };
    layout(
        signed.lang,
        tr("情報提供等の記録", "Provision records"),
        Some(signed),
        body,
    )
}
