//! The record-management pages: person search and one person's record with their doses. Dates are
//! shown in 和暦 and Western form; the My Number appears only masked, and only on LG-WAN sessions.

use maud::{html, Markup};
use vrs_domain::{format_wareki, DoseRecord, Resident, VaccineProduct};

use crate::i18n::Lang;
use crate::pages::layout;
use crate::records::SearchQuery;
use crate::session::Signed;

fn date(d: chrono::NaiveDate) -> String {
    format!("{}（{d}）", format_wareki(d))
}

pub fn search(
    signed: &Signed,
    q: &SearchQuery,
    lgwan: bool,
    found: Option<&[Resident]>,
    error: Option<&str>,
) -> Markup {
    let ja = signed.lang == Lang::Ja;
    let tr = |j: &'static str, e: &'static str| if ja { j } else { e };
    let body = html! {
        form.card.search method="post" action="/records" {
            @if let Some(e) = error { p.error role="alert" { (e) } }
            input type="hidden" name="csrf" value=(signed.session.csrf_token);
            p { (tr("いずれか一つで検索します（氏名カナは生年月日と組み合わせて）。", "Search by one of these (kana name together with the birth date).")) }
            label for="atena" { (tr("宛名番号", "Atena number")) }
            input #atena name="atena" value=(q.atena) inputmode="numeric";
            label for="coupon" { (tr("接種券番号（10桁）またはOCRライン（18桁）", "Coupon number (10 digits) or OCR line (18)")) }
            input #coupon name="coupon" value=(q.coupon) inputmode="numeric";
            label for="kana" { (tr("氏名カナ", "Name (kana)")) }
            input #kana name="kana" value=(q.kana) placeholder="サイジョウ　ハナコ";
            label for="birth" { (tr("生年月日", "Birth date")) }
            input #birth name="birth" value=(q.birth) placeholder="昭和25年4月1日 / 1950-04-01";
            @if lgwan {
                label for="my_number" { (tr("個人番号（LGWAN端末のみ）", "My Number (LG-WAN terminals only)")) }
                input #my_number name="my_number" inputmode="numeric" autocomplete="off";
            }
            button type="submit" { (tr("検索", "Search")) }
        }
        @if let Some(people) = found {
            @if people.is_empty() {
                p.notice #no-result { (tr("該当する方はいません。", "Nobody matches.")) }
            } @else {
                table #results {
                    tr {
                        th { (tr("宛名番号", "Atena number")) }
                        th { (tr("氏名", "Name")) }
                        th { (tr("氏名カナ", "Kana")) }
                        th { (tr("生年月日", "Birth date")) }
                        th { (tr("性別", "Sex")) }
                        th { (tr("状態", "Status")) }
                    }
                    @for p in people {
                        tr {
                            td { a href={ "/records/" (p.atena) } { (p.atena) } }
                            td { (p.name.as_str()) }
                            td { (p.name_kana.as_str()) }
                            td { (date(p.birth_date)) }
                            td { (if ja { p.sex.label_ja() } else { p.sex.label_en() }) }
                            td { (flags(ja, p)) }
                        }
                    }
                }
            }
        }
    };
    layout(
        signed.lang,
        tr("接種記録の管理", "Vaccination records"),
        Some(signed),
        body,
    )
}

fn flags(ja: bool, p: &Resident) -> String {
    let mut out = Vec::new();
    if let Some(from) = p.moved_in_from {
        let name = from.info().full_name();
        out.push(if ja {
            format!("転入（転入前: {name} {from}）")
        } else {
            format!("Moved in (from {name} {from})")
        });
    }
    if let Some(d) = p.moved_out_on {
        out.push(format!(
            "{} {}",
            if ja { "転出" } else { "Moved out" },
            date(d)
        ));
    }
    if let Some(d) = p.deceased_on {
        out.push(format!(
            "{} {}",
            if ja { "死亡" } else { "Deceased" },
            date(d)
        ));
    }
    out.join(" / ")
}

fn product_options(selected: &str, ja: bool) -> Markup {
    html! {
        @for p in VaccineProduct::catalogue() {
            option value=(p.code) selected[p.code == selected] { (if ja { p.name_ja } else { p.name }) }
        }
    }
}

/// The fields of a dose form, filled from `dose` when correcting.
fn dose_fields(ja: bool, dose: Option<&DoseRecord>, next: u8) -> Markup {
    let tr = |j: &'static str, e: &'static str| if ja { j } else { e };
    let d = dose.map(|r| &r.dose);
    html! {
        label { (tr("接種回", "Dose number"))
            input name="dose_number" inputmode="numeric" value=(d.map_or(next, |d| d.dose_number)); }
        label { (tr("接種日", "Date given"))
            input name="administered_on" value=(d.map(|d| d.administered_on.to_string()).unwrap_or_default()) placeholder="令和3年6月1日 / 2021-06-01"; }
        label { (tr("ワクチン", "Vaccine"))
            select name="product" { (product_options(d.map_or("", |d| d.product.code), ja)) } }
        label { (tr("ロット番号", "Lot number"))
            input name="lot_number" value=(d.map(|d| d.lot_number.as_str().to_owned()).unwrap_or_default()); }
        label { (tr("接種自治体コード", "Site municipality code"))
            input name="site" inputmode="numeric" value=(d.map(|d| d.site_municipality.to_string()).unwrap_or_default()); }
        label { (tr("接種会場名", "Venue"))
            input name="venue" maxlength="30" value=(dose.map(|r| r.venue.as_str()).unwrap_or_default()); }
        label { (tr("接種医師名", "Doctor"))
            input name="doctor" maxlength="20" value=(dose.map(|r| r.doctor.as_str()).unwrap_or_default()); }
    }
}

pub fn person(
    signed: &Signed,
    p: &Resident,
    doses: &[DoseRecord],
    certificates: &[vrs_store::CertificateIssue],
    show_my_number: bool,
    message: Option<(bool, String)>,
) -> Markup {
    let ja = signed.lang == Lang::Ja;
    let tr = |j: &'static str, e: &'static str| if ja { j } else { e };
    let csrf = &signed.session.csrf_token;
    let next = doses.iter().map(|d| d.dose.dose_number).max().unwrap_or(0) + 1;
    let base = format!("/records/{}", p.atena);
    let body = html! {
        @if let Some((ok, text)) = &message {
            p role="alert" class=(if *ok { "notice" } else { "error" }) #message { (text) }
        }
        section.card #person {
            dl {
                dt { (tr("宛名番号", "Atena number")) } dd { (p.atena) }
                dt { (tr("氏名", "Name")) } dd { (p.name.as_str()) }
                dt { (tr("氏名カナ", "Kana")) } dd { (p.name_kana.as_str()) }
                dt { (tr("生年月日", "Birth date")) } dd { (date(p.birth_date)) }
                dt { (tr("性別", "Sex")) } dd { (if ja { p.sex.label_ja() } else { p.sex.label_en() }) }
                dt { (tr("接種券番号", "Coupon number")) } dd { (p.coupon.as_str()) }
                @if show_my_number {
                    dt { (tr("個人番号", "My Number")) } dd #my-number { (p.my_number) }
                }
                dt { (tr("状態", "Status")) } dd #flags { (flags(ja, p)) }
            }
        }
        h3 { (tr("接種記録", "Doses")) }
        @if doses.is_empty() {
            p #no-doses { (tr("接種記録はありません。", "No dose recorded.")) }
        } @else {
            table #doses {
                tr {
                    th { (tr("接種回", "Dose")) } th { (tr("接種日", "Date")) } th { (tr("ワクチン", "Vaccine")) }
                    th { (tr("ロット番号", "Lot")) } th { (tr("接種地", "Site")) } th { (tr("会場", "Venue")) }
                    th { (tr("登録経路", "Source")) }
                }
                @for r in doses {
                    tr data-dose=(r.dose.dose_number) {
                        td { (r.dose.dose_number) }
                        td { (date(r.dose.administered_on)) }
                        td { (if ja { r.dose.product.name_ja } else { r.dose.product.name }) }
                        td { (r.dose.lot_number.as_str()) }
                        td { (r.dose.site_municipality.info().full_name()) }
                        td { (r.venue) }
                        td {
                            (r.source.as_str())
                            @if let Some(from) = r.received_from {
                                "（" (tr("照会により受領: ", "received from ")) (from.info().full_name()) "）"
                            }
                        }
                    }
                }
            }
            @for r in doses {
                details.card {
                    summary { (r.dose.dose_number) (tr("回目を訂正・削除", ": correct or delete")) }
                    form method="post" action={ (base) "/doses/" (r.dose.dose_number) "/correct" } {
                        input type="hidden" name="csrf" value=(csrf);
                        (dose_fields(ja, Some(r), next))
                        label { (tr("訂正の理由", "Reason for the correction")) input name="reason" required; }
                        button type="submit" { (tr("訂正する", "Correct")) }
                    }
                    form method="post" action={ (base) "/doses/" (r.dose.dose_number) "/delete" } {
                        input type="hidden" name="csrf" value=(csrf);
                        label { (tr("削除の理由", "Reason for the deletion")) input name="reason" required; }
                        button type="submit" { (tr("削除する", "Delete")) }
                    }
                }
            }
        }
        details.card #add-dose {
            summary { (tr("接種記録を追加", "Add a dose")) }
            form method="post" action={ (base) "/doses" } {
                input type="hidden" name="csrf" value=(csrf);
                (dose_fields(ja, None, next))
                button type="submit" { (tr("追加する", "Add")) }
            }
        }
        details.card #set-flags {
            summary { (tr("転出・死亡の設定", "Moved out / deceased")) }
            form method="post" action={ (base) "/flags" } {
                input type="hidden" name="csrf" value=(csrf);
                label { (tr("転出日（空欄で解除）", "Moved out on (empty to clear)"))
                    input name="moved_out_on" value=(p.moved_out_on.map(|d| d.to_string()).unwrap_or_default()); }
                label { (tr("死亡日（空欄で解除）", "Deceased on (empty to clear)"))
                    input name="deceased_on" value=(p.deceased_on.map(|d| d.to_string()).unwrap_or_default()); }
                button type="submit" { (tr("保存する", "Save")) }
            }
        }
        details.card #issue-certificate {
            summary { (tr("接種証明書を発行", "Issue a vaccination certificate")) }
            p { (tr(
                "記録されている接種から証明書（PDF、二次元コード付き）を発行します。海外用は旅券のMRZ（下部2行）を入力してください。",
                "Issues a certificate (PDF with its 2D codes) from the recorded doses. For overseas use, enter the passport's MRZ (the two lines at the bottom)."
            )) }
            form method="post" action={ (base) "/certificate" } {
                input type="hidden" name="csrf" value=(csrf);
                label { (tr("種類", "Kind"))
                    select name="kind" {
                        option value="domestic" { (tr("日本国内用", "For use in Japan")) }
                        option value="overseas" { (tr("海外用", "For overseas use")) }
                    }
                }
                label { (tr("旅券MRZ 1行目（海外用）", "Passport MRZ line 1 (overseas)"))
                    input name="mrz1" maxlength="44" size="46" autocomplete="off"; }
                label { (tr("旅券MRZ 2行目（海外用）", "Passport MRZ line 2 (overseas)"))
                    input name="mrz2" maxlength="44" size="46" autocomplete="off"; }
                label { (tr("形式", "Format"))
                    select name="format" {
                        option value="pdf" { (tr("PDF（印刷用）", "PDF (to print)")) }
                        option value="shc" { (tr("SMART Health Card ファイル", "SMART Health Card file")) }
                    }
                }
                button type="submit" #issue { (tr("発行する", "Issue")) }
            }
        }
        @if !certificates.is_empty() {
            (issued_certificates(signed, &base, certificates))
        }
        details.card #delete-person {
            summary { (tr("この方の記録を削除", "Delete this person's record")) }
            p { (tr(
                "宛名情報と接種記録を削除します。操作ログと情報提供等の記録は残ります。元に戻せません。",
                "Deletes the person and their doses. The audit log and the provision records remain. This cannot be undone."
            )) }
            form method="post" action={ (base) "/delete" } {
                input type="hidden" name="csrf" value=(csrf);
                label { (tr("削除の理由", "Reason for the deletion")) input name="reason" required; }
                button.danger type="submit" { (tr("記録を削除する", "Delete the record")) }
            }
        }
        p { a href="/records" { (tr("検索に戻る", "Back to search")) } }
    };
    layout(
        signed.lang,
        tr("接種記録", "Vaccination record"),
        Some(signed),
        body,
    )
}

/// The person's certificates with their standing: re-issue (one action; an overseas one needs the
/// passport read again) and revoke (with a reason).
fn issued_certificates(
    signed: &Signed,
    base: &str,
    certificates: &[vrs_store::CertificateIssue],
) -> Markup {
    use vrs_store::CertificateStatus;
    let ja = signed.lang == Lang::Ja;
    let tr = |j: &'static str, e: &'static str| if ja { j } else { e };
    let csrf = &signed.session.csrf_token;
    let jst = chrono::FixedOffset::east_opt(9 * 3600).unwrap_or_else(|| unreachable!());
    html! {
        section.card #certificates {
            h3 { (tr("発行した接種証明書", "Certificates issued")) }
            table {
                tr {
                    th { (tr("証明書ID", "Certificate ID")) } th { (tr("発行日時", "Issued")) }
                    th { (tr("種類", "Kind")) } th { (tr("状態", "Status")) } th { (tr("操作", "Actions")) }
                }
                @for c in certificates {
                    tr.certificate data-status=(c.status.as_str()) {
                        td.id { (c.certificate_id) }
                        td { (c.issued_at.with_timezone(&jst).format("%Y-%m-%d %H:%M")) }
                        td { (if ja { c.kind.label_ja() } else { c.kind.label_en() }) }
                        td.status {
                            (if ja { c.status.label_ja() } else { c.status.as_str() })
                            @if !c.status_reason.is_empty() { br; small { (c.status_reason) } }
                        }
                        td {
                            form.reissue method="post" action={ (base) "/certificates/" (c.certificate_id) "/reissue" } {
                                input type="hidden" name="csrf" value=(csrf);
                                @if c.kind == vrs_domain::CertificateKind::Overseas {
                                    input name="mrz1" maxlength="44" size="46" autocomplete="off" placeholder=(tr("旅券MRZ 1行目", "MRZ line 1")) required;
                                    input name="mrz2" maxlength="44" size="46" autocomplete="off" placeholder=(tr("旅券MRZ 2行目", "MRZ line 2")) required;
                                }
                                button type="submit" { (tr("再発行する", "Re-issue")) }
                            }
                            @if c.status != CertificateStatus::Revoked {
                                form.revoke method="post" action={ (base) "/certificates/" (c.certificate_id) "/revoke" } {
                                    input type="hidden" name="csrf" value=(csrf);
                                    input name="reason" required placeholder=(tr("失効の理由", "Reason for revoking"));
                                    button.danger type="submit" { (tr("失効させる", "Revoke")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
