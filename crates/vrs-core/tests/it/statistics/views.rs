//! What leaves the municipality, on both backends: every view seen from outside it suppresses small
//! counts, complementary suppression included, and a published `<10` always stands for a true
//! count of 1–9 while a cell hidden only to protect another reads `X`.

use super::*;
use vrs_core::statistics::view::{dashboard, Audience};
use vrs_domain::{Cell, SUPPRESS_BELOW};

pub(super) async fn views_outside_the_municipality_suppress_small_counts(db: &TestDb) {
    let store = db.store.as_ref();
    let mut rng = Lcg(7);
    populate(store, 30, &mut rng).await;
    refresh(store, today()).await.unwrap();
    let saijo = code("382060");
    let own = dashboard(
        store,
        StatScope::Municipality(saijo),
        Audience::OwnMunicipality,
    )
    .await
    .unwrap();
    let outside = dashboard(store, StatScope::Municipality(saijo), Audience::Outside)
        .await
        .unwrap();
    let mut small_seen = 0;
    for (o, s) in own.tables().iter().zip(outside.tables()) {
        for ((_, _, own_cells), (_, _, cells)) in o.rows.iter().zip(&s.rows) {
            for (a, b) in own_cells.iter().zip(cells) {
                let Cell::Shown(n) = a else {
                    panic!("the own view hides nothing")
                };
                if *n > 0 && *n < SUPPRESS_BELOW {
                    small_seen += 1;
                    assert_eq!(*b, Cell::Small, "{}: {n} shown outside", s.name);
                }
                if let Cell::Shown(m) = b {
                    assert_eq!(m, n);
                }
            }
        }
        // No line with a shown total hides exactly one cell.
        if let Some(totals) = &s.row_totals {
            for ((_, _, cells), t) in s.rows.iter().zip(totals) {
                let hidden = cells.iter().filter(|c| c.is_withheld()).count();
                assert!(
                    t.value().is_none() || hidden != 1,
                    "{}: a row reveals its hidden cell",
                    s.name
                );
            }
        }
        for c in 0..s.columns.len() {
            let hidden = s
                .rows
                .iter()
                .filter(|(_, _, cells)| cells[c].is_withheld())
                .count();
            assert!(
                s.column_totals[c].value().is_none() || hidden != 1,
                "{}: column {c} reveals its hidden cell",
                s.name
            );
        }
    }
    assert!(
        small_seen > 5,
        "the data had too few small counts to test ({small_seen})"
    );
    // The nation's table of municipalities is suppressed as well.
    let nation = dashboard(store, StatScope::Nation, Audience::Outside)
        .await
        .unwrap();
    assert_eq!(nation.municipalities.rows.len(), 3);
}

/// Every cell, row total, column total and grand total of a table, in one order.
fn all_cells(t: &vrs_core::statistics::view::Table) -> Vec<Cell> {
    let mut out: Vec<Cell> = t
        .rows
        .iter()
        .flat_map(|(_, _, c)| c.iter().copied())
        .collect();
    out.extend(t.row_totals.iter().flatten().copied());
    out.extend(t.column_totals.iter().copied());
    out.extend(t.total);
    out
}

/// Regression: cells hidden only to protect a small one were published as `<10` whatever their
/// count (the prefecture's 60–64 band showed `<10` for 96 and 88). In every view that leaves a
/// municipality — one municipality, its prefecture, the nation — a cell reads `<10` exactly when
/// its true count is 1–9; a cell hidden for protection reads `X`; a shown count is the count.
pub(super) async fn every_published_small_mark_is_a_true_small_count(db: &TestDb) {
    let store = db.store.as_ref();
    let mut rng = Lcg(11);
    populate(store, 60, &mut rng).await;
    refresh(store, today()).await.unwrap();
    let scopes = [
        StatScope::Municipality(code("382060")),
        StatScope::Prefecture(PrefectureCode::parse("38").unwrap()),
        StatScope::Nation,
    ];
    let (mut small, mut hidden) = (0, 0);
    for scope in scopes {
        // The same sums without suppression are the truth.
        let truth = dashboard(store, scope, Audience::OwnMunicipality)
            .await
            .unwrap();
        let published = dashboard(store, scope, Audience::Outside).await.unwrap();
        for (t, p) in truth.tables().iter().zip(published.tables()) {
            let (t_cells, p_cells) = (all_cells(t), all_cells(p));
            assert_eq!(t_cells.len(), p_cells.len(), "{}", p.name);
            for (truth, shown) in t_cells.iter().zip(&p_cells) {
                let Cell::Shown(n) = *truth else {
                    panic!("the unsuppressed view hides nothing")
                };
                let is_small = n > 0 && n < SUPPRESS_BELOW;
                match shown {
                    Cell::Small => {
                        small += 1;
                        assert!(is_small, "{scope:?} {}: <10 published for {n}", p.name);
                    }
                    Cell::Hidden => {
                        hidden += 1;
                        assert!(!is_small, "{scope:?} {}: X published for {n}", p.name);
                    }
                    Cell::Shown(m) => assert_eq!(*m, n, "{scope:?} {}", p.name),
                }
            }
        }
    }
    assert!(
        small > 5 && hidden > 5,
        "the data must have small and protecting cells ({small}, {hidden})"
    );
}
