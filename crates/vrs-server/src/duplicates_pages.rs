//! The duplicate-people pages (重複者の確認): the review queue with each candidate's people side by
//! side, the forms to merge (統合) or dismiss (対象外) with a reason, the scan button (再検出), and
//! the merge history with undo (統合を取り消す). No My Number is shown.

use maud::{html, Markup};
use vrs_core::duplicates::{Queue, QueueItem, QueuePerson};
use vrs_domain::{format_wareki, Labelled};
use vrs_store::{CandidateKind, PersonMerge};

use crate::i18n::{Lang, Text};
use crate::pages::layout;
use crate::session::Signed;

/// A time as Japan reads it (`2026-12-05 14:06`).
pub(crate) fn jst(at: chrono::DateTime<chrono::Utc>) -> String {
    (at + chrono::Duration::hours(9))
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// What the kind of a candidate means, for staff.
fn kind_text(kind: CandidateKind) -> Text {
    match kind {
        CandidateKind::KanaBirthSex => Text::CandidateSameKana,
        CandidateKind::KanjiBirthSex => Text::CandidateSameKanji,
        CandidateKind::UnfetchedMove => Text::CandidateUnfetchedMove,
    }
}

fn person(ja: bool, p: &QueuePerson) -> Markup {
    html! {
        div.person data-atena=(p.atena) {
            @match &p.person {
                None => p.notice { (p.atena) " — " (Text::NoLongerInThisMunicipality.pick(ja)) },
                Some(r) => dl {
                    dt { (Text::AtenaNumber.pick(ja)) } dd { a href={ "/records/" (r.atena) } { (r.atena) } }
                    dt { (Text::Name.pick(ja)) } dd { (r.name.as_str()) }
                    dt { (Text::Kana.pick(ja)) } dd { (r.name_kana.as_str()) }
                    dt { (Text::BirthDate.pick(ja)) } dd { (format_wareki(r.birth_date)) "（" (r.birth_date) "）" }
                    dt { (Text::Sex.pick(ja)) } dd { (r.sex.label(ja)) }
                    dt { (Text::Doses.pick(ja)) }
                    dd {
                        @if p.doses.is_empty() { (Text::NoneWord.pick(ja)) }
                        @for d in &p.doses {
                            span.dose { (d.dose.dose_number) (Text::DoseOrdinalSuffix.pick(ja)) (d.dose.administered_on) " " (d.dose.product.name_ja) } br;
                        }
                    }
                },
            }
        }
    }
}

fn item(signed: &Signed, i: &QueueItem) -> Markup {
    let ja = signed.lang == Lang::Ja;
    let csrf = &signed.session.csrf_token;
    let c = &i.candidate;
    html! {
        section.card.candidate #(c.candidate_id) data-kind=(c.kind.as_str()) {
            h3 { (Text::Candidate.pick(ja)) (c.candidate_id) }
            p.kind { (kind_text(c.kind).pick(ja)) }
            @if let Some(from) = c.other_municipality {
                p { (Text::MovedFrom.pick(ja)) ": " (from.info().full_name()) "（" (from) "）" }
            }
            div.side-by-side { @for p in &i.people { (person(ja, p)) } }
            @if let (true, Some(b)) = (c.kind.is_pair(), &c.atena_b) {
                form.merge method="post" action="/duplicates/merge" {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="a" value=(c.atena_a);
                    input type="hidden" name="b" value=(b);
                    fieldset {
                        legend { (Text::KeepTheOtherSDoses.pick(ja)) }
                        label { input type="radio" name="kept" value=(c.atena_a) checked; " " (c.atena_a) }
                        label { input type="radio" name="kept" value=(b); " " (b) }
                    }
                    label { (Text::Reason.pick(ja)) input name="reason" required; }
                    button.primary type="submit" { (Text::Merge.pick(ja)) }
                }
            }
            form.dismiss method="post" action={ "/duplicates/" (c.candidate_id) "/dismiss" } {
                input type="hidden" name="csrf" value=(csrf);
                label { (Text::Reason.pick(ja)) input name="reason" required; }
                button.secondary type="submit" { (Text::NotADuplicate.pick(ja)) }
            }
        }
    }
}

fn history(signed: &Signed, merges: &[PersonMerge]) -> Markup {
    let ja = signed.lang == Lang::Ja;
    let csrf = &signed.session.csrf_token;
    html! {
        h2 { (Text::MergeHistory.pick(ja)) }
        @if merges.is_empty() { p { (Text::NoMergesYet.pick(ja)) } }
        @else {
            table.merges {
                tr { th { (Text::MergeNumber.pick(ja)) } th { (Text::Kept.pick(ja)) } th { (Text::MergedAway.pick(ja)) }
                     th { (Text::MergedAt.pick(ja)) } th { (Text::StaffInCharge.pick(ja)) } th { (Text::Undo.pick(ja)) } }
                @for m in merges {
                    tr.merge #(m.merge_id) {
                        td { (m.merge_id) } td { (m.kept) } td { (m.merged) } td { (jst(m.merged_at)) } td { (m.merged_by) }
                        td {
                            @if let Some(at) = m.undone_at {
                                (Text::Undone.pick(ja)) (jst(at)) " " (m.undone_by)
                            } @else {
                                form.unmerge method="post" action={ "/duplicates/merges/" (m.merge_id) "/unmerge" } {
                                    input type="hidden" name="csrf" value=(csrf);
                                    label { (Text::Reason.pick(ja)) input name="reason" required; }
                                    button.secondary type="submit" { (Text::UndoMerge.pick(ja)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The queue page; `message` is `(ok, text)` for a notice or a refusal.
pub fn page(signed: &Signed, queue: &Queue, message: Option<(bool, &str)>) -> Markup {
    let ja = signed.lang == Lang::Ja;
    let csrf = &signed.session.csrf_token;
    let body = html! {
        @if let Some((ok, text)) = message {
            @if ok { p.notice role="status" { (text) } } @else { p.error role="alert" { (text) } }
        }
        p { (Text::PeopleWhoMayBeRegistered.pick(ja)) }
        form.scan method="post" action="/duplicates/scan" {
            input type="hidden" name="csrf" value=(csrf);
            button.primary type="submit" { (Text::ScanAgain.pick(ja)) }
        }
        h2 { (Text::ToReview.pick(ja)) " (" (queue.open.len()) ")" }
        @if queue.open.is_empty() { p #empty { (Text::NothingToReview.pick(ja)) } }
        @for i in &queue.open { (item(signed, i)) }
        (history(signed, &queue.merges))
    };
    layout(
        signed.lang,
        Text::DuplicatePeople.pick(ja),
        Some(signed),
        body,
    )
}
