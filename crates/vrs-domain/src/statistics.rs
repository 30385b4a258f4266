//! What statistics are made of, without IO: the age bands the programme reported by, and the
//! suppression of small counts (小さな数の秘匿) applied to every table that leaves a municipality.
//!
//! A cell counting 1 to 9 people or doses is shown as `<10` ([`Cell::Small`]): that is a statement
//! of fact about the count. Where a shown total of a row or column would let a reader subtract the
//! other cells and recover a single hidden cell, a second cell of that line is hidden too
//! (complementary suppression), repeatedly, until no line with a shown total hides exactly one cell.
//! A cell hidden only to protect another is published with its own mark ([`Cell::Hidden`], `X` as
//! e-Stat marks 秘匿), never as `<10`: its count may be anything.

use chrono::{Datelike, NaiveDate};

/// Counts below this are suppressed outside the municipality.
pub const SUPPRESS_BELOW: u64 = 10;

/// An age band, as the vaccination programme reported: children by the dose schedules (0–4, 5–11,
/// 12–19), adults by decade, and the elderly split at 65 (65–69, then by decade, 100 and over).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AgeBand {
    A0to4,
    A5to11,
    A12to19,
    A20to29,
    A30to39,
    A40to49,
    A50to59,
    A60to64,
    A65to69,
    A70to79,
    A80to89,
    A90to99,
    A100Plus,
}

impl AgeBand {
    pub const ALL: [AgeBand; 13] = [
        AgeBand::A0to4,
        AgeBand::A5to11,
        AgeBand::A12to19,
        AgeBand::A20to29,
        AgeBand::A30to39,
        AgeBand::A40to49,
        AgeBand::A50to59,
        AgeBand::A60to64,
        AgeBand::A65to69,
        AgeBand::A70to79,
        AgeBand::A80to89,
        AgeBand::A90to99,
        AgeBand::A100Plus,
    ];

    /// The band of an age in whole years.
    pub fn of_age(years: u32) -> AgeBand {
        match years {
            0..=4 => AgeBand::A0to4,
            5..=11 => AgeBand::A5to11,
            12..=19 => AgeBand::A12to19,
            20..=29 => AgeBand::A20to29,
            30..=39 => AgeBand::A30to39,
            40..=49 => AgeBand::A40to49,
            50..=59 => AgeBand::A50to59,
            60..=64 => AgeBand::A60to64,
            65..=69 => AgeBand::A65to69,
            70..=79 => AgeBand::A70to79,
            80..=89 => AgeBand::A80to89,
            90..=99 => AgeBand::A90to99,
            _ => AgeBand::A100Plus,
        }
    }

    /// The band of a person born on `birth`, on `day` (age in completed years; a day before the
    /// birth counts as age 0).
    pub fn on(birth: NaiveDate, day: NaiveDate) -> AgeBand {
        AgeBand::of_age(age_on(birth, day))
    }

    /// The stable code stored and exported (`0-4`, …, `100+`).
    pub fn code(self) -> &'static str {
        match self {
            AgeBand::A0to4 => "0-4",
            AgeBand::A5to11 => "5-11",
            AgeBand::A12to19 => "12-19",
            AgeBand::A20to29 => "20-29",
            AgeBand::A30to39 => "30-39",
            AgeBand::A40to49 => "40-49",
            AgeBand::A50to59 => "50-59",
            AgeBand::A60to64 => "60-64",
            AgeBand::A65to69 => "65-69",
            AgeBand::A70to79 => "70-79",
            AgeBand::A80to89 => "80-89",
            AgeBand::A90to99 => "90-99",
            AgeBand::A100Plus => "100+",
        }
    }

    pub fn parse(code: &str) -> Option<AgeBand> {
        AgeBand::ALL.into_iter().find(|b| b.code() == code)
    }

    /// `65-69歳`, `100歳以上` (characters every Shift_JIS download can hold).
    pub fn label_ja(self) -> String {
        match self {
            AgeBand::A100Plus => "100歳以上".into(),
            b => format!("{}歳", b.code()),
        }
    }

    /// Whether the band is 65 or over (the programme's 高齢者).
    pub fn is_elderly(self) -> bool {
        self >= AgeBand::A65to69
    }
}

/// Age in completed years on `day`; 0 before the birth.
pub fn age_on(birth: NaiveDate, day: NaiveDate) -> u32 {
    if day <= birth {
        return 0;
    }
    let mut years = day.year() - birth.year();
    if (day.month(), day.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    u32::try_from(years).unwrap_or(0)
}

/// One cell of a published table: a count, a small count, or a count hidden to protect another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell {
    Shown(u64),
    /// A count of 1 to [`SUPPRESS_BELOW`] − 1, published as `<10`.
    Small,
    /// A count hidden so that a total cannot reveal a small one (complementary suppression): its
    /// value is not bounded by anything published; published as `X` (`"x"` in the API).
    Hidden,
}

/// How a table marks a cell hidden for protection (e-Stat's 秘匿 mark).
pub const HIDDEN_MARK: &str = "X";

impl Cell {
    /// The published text: the count, `<10`, or `X`.
    pub fn text(self) -> String {
        match self {
            Cell::Shown(n) => n.to_string(),
            Cell::Small => format!("<{SUPPRESS_BELOW}"),
            Cell::Hidden => HIDDEN_MARK.to_owned(),
        }
    }

    pub fn value(self) -> Option<u64> {
        match self {
            Cell::Shown(n) => Some(n),
            Cell::Small | Cell::Hidden => None,
        }
    }

    /// Whether the count is withheld (small or hidden).
    pub fn is_withheld(self) -> bool {
        self.value().is_none()
    }
}

/// A table with its row totals, column totals and grand total, after suppression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suppressed {
    pub cells: Vec<Vec<Cell>>,
    pub row_totals: Vec<Cell>,
    pub column_totals: Vec<Cell>,
    pub total: Cell,
}

/// Suppresses a table of counts (rows × columns, each row the same length) whose row, column and
/// grand totals are published with it. Zero is shown (it reveals nobody); 1–9 are [`Cell::Small`];
/// then, for as long as a line with a shown total hides exactly one cell, the smallest other shown
/// cell of the line that is not zero is [`Cell::Hidden`] too (when there is none, the line's total
/// is hidden instead).
pub fn suppress(counts: &[Vec<u64>]) -> Suppressed {
    let rows = counts.len();
    let cols = counts.first().map_or(0, Vec::len);
    let small = |n: u64| n > 0 && n < SUPPRESS_BELOW;
    let mut hidden: Vec<Vec<bool>> = counts
        .iter()
        .map(|r| r.iter().map(|&n| small(n)).collect())
        .collect();
    let row_sum: Vec<u64> = counts.iter().map(|r| r.iter().sum()).collect();
    let col_sum: Vec<u64> = (0..cols)
        .map(|c| counts.iter().map(|r| r[c]).sum())
        .collect();
    let total: u64 = row_sum.iter().sum();
    let mut row_hidden: Vec<bool> = row_sum.iter().map(|&n| small(n)).collect();
    let mut col_hidden: Vec<bool> = col_sum.iter().map(|&n| small(n)).collect();
    let mut total_hidden = small(total);
    loop {
        let mut changed = false;
        // Rows, then columns: each line with a shown total must hide zero or at least two cells.
        for r in 0..rows {
            if row_hidden[r] {
                continue;
            }
            let line: Vec<(usize, u64, bool)> =
                (0..cols).map(|c| (c, counts[r][c], hidden[r][c])).collect();
            match partner(&line) {
                Partner::None => {}
                Partner::Cell(c) => {
                    hidden[r][c] = true;
                    changed = true;
                }
                Partner::Total => {
                    row_hidden[r] = true;
                    changed = true;
                }
            }
        }
        for c in 0..cols {
            if col_hidden[c] {
                continue;
            }
            let line: Vec<(usize, u64, bool)> =
                (0..rows).map(|r| (r, counts[r][c], hidden[r][c])).collect();
            match partner(&line) {
                Partner::None => {}
                Partner::Cell(r) => {
                    hidden[r][c] = true;
                    changed = true;
                }
                Partner::Total => {
                    col_hidden[c] = true;
                    changed = true;
                }
            }
        }
        // The margins are a line of the grand total too.
        if !total_hidden {
            let line: Vec<(usize, u64, bool)> =
                (0..rows).map(|r| (r, row_sum[r], row_hidden[r])).collect();
            match partner(&line) {
                Partner::None => {}
                Partner::Cell(r) => row_hidden[r] = true,
                Partner::Total => total_hidden = true,
            }
            changed |= !matches!(partner(&line), Partner::None);
            let line: Vec<(usize, u64, bool)> =
                (0..cols).map(|c| (c, col_sum[c], col_hidden[c])).collect();
            match partner(&line) {
                Partner::None => {}
                Partner::Cell(c) => col_hidden[c] = true,
                Partner::Total => total_hidden = true,
            }
            changed |= !matches!(partner(&line), Partner::None);
        }
        if !changed {
            break;
        }
    }
    let cell = |n: u64, h: bool| match (h, small(n)) {
        (false, _) => Cell::Shown(n),
        (true, true) => Cell::Small,
        (true, false) => Cell::Hidden,
    };
    Suppressed {
        cells: (0..rows)
            .map(|r| {
                (0..cols)
                    .map(|c| cell(counts[r][c], hidden[r][c]))
                    .collect()
            })
            .collect(),
        row_totals: (0..rows).map(|r| cell(row_sum[r], row_hidden[r])).collect(),
        column_totals: (0..cols).map(|c| cell(col_sum[c], col_hidden[c])).collect(),
        total: cell(total, total_hidden),
    }
}

enum Partner {
    None,
    Cell(usize),
    Total,
}

/// What a line whose total is shown must hide next: nothing when it hides no cell or two or more;
/// otherwise its smallest shown non-zero cell, or its total when it has none.
fn partner(line: &[(usize, u64, bool)]) -> Partner {
    if line.iter().filter(|(_, _, h)| *h).count() != 1 {
        return Partner::None;
    }
    line.iter()
        .filter(|(_, n, h)| !*h && *n > 0)
        .min_by_key(|(i, n, _)| (*n, *i))
        .map_or(Partner::Total, |(i, _, _)| Partner::Cell(*i))
}

/// Suppresses a list of counts published with its total (one row of [`suppress`]).
pub fn suppress_line(counts: &[u64]) -> (Vec<Cell>, Cell) {
    let s = suppress(&[counts.to_vec()]);
    let cells = s.cells.into_iter().next().unwrap_or_default();
    (cells, s.total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
    }

    #[test]
    fn ages_and_bands_turn_on_the_birthday() {
        assert_eq!(age_on(d(1956, 4, 1), d(2021, 3, 31)), 64);
        assert_eq!(age_on(d(1956, 4, 1), d(2021, 4, 1)), 65);
        assert_eq!(AgeBand::on(d(1956, 4, 1), d(2021, 3, 31)), AgeBand::A60to64);
        assert_eq!(AgeBand::on(d(1956, 4, 1), d(2021, 4, 1)), AgeBand::A65to69);
        assert_eq!(age_on(d(2000, 2, 29), d(2021, 2, 28)), 20);
        assert_eq!(age_on(d(2021, 5, 1), d(2021, 4, 1)), 0);
        assert_eq!(AgeBand::of_age(4), AgeBand::A0to4);
        assert_eq!(AgeBand::of_age(5), AgeBand::A5to11);
        assert_eq!(AgeBand::of_age(12), AgeBand::A12to19);
        assert_eq!(AgeBand::of_age(100), AgeBand::A100Plus);
        for b in AgeBand::ALL {
            assert_eq!(AgeBand::parse(b.code()), Some(b));
        }
        assert!(AgeBand::A65to69.is_elderly() && !AgeBand::A60to64.is_elderly());
    }

    /// Whether any hidden cell can be recovered exactly from the shown cells and totals of a line
    /// that hides only it.
    fn recoverable(s: &Suppressed) -> bool {
        let rows = s.cells.len();
        let cols = s.cells.first().map_or(0, Vec::len);
        let one_hidden = |cells: Vec<Cell>, total: Cell| {
            total.value().is_some() && cells.iter().filter(|c| c.value().is_none()).count() == 1
        };
        (0..rows).any(|r| one_hidden(s.cells[r].clone(), s.row_totals[r]))
            || (0..cols).any(|c| {
                one_hidden(
                    (0..rows).map(|r| s.cells[r][c]).collect(),
                    s.column_totals[c],
                )
            })
            || one_hidden(s.row_totals.clone(), s.total)
            || one_hidden(s.column_totals.clone(), s.total)
    }

    #[test]
    fn small_cells_are_hidden_and_a_lone_hidden_cell_gets_a_partner() {
        let s = suppress(&[vec![120, 3, 40], vec![80, 55, 60]]);
        assert_eq!(s.cells[0][1], Cell::Small);
        // Row 0 would reveal the 3 through its total: its smallest other cell (40) goes too; then
        // column 1 and column 2 each hide one cell, so row 1 gives up its smallest partners. The
        // partners are marked hidden, not small: `<10` would be false for them.
        assert_eq!(s.cells[0][2], Cell::Hidden);
        assert_eq!(s.cells[1][1], Cell::Hidden);
        assert_eq!(s.cells[1][2], Cell::Hidden);
        assert_eq!(s.cells[0][0], Cell::Shown(120));
        assert_eq!(s.total, Cell::Shown(358));
        assert!(!recoverable(&s));
        assert_eq!(Cell::Small.text(), "<10");
        assert_eq!(Cell::Hidden.text(), "X");
    }

    #[test]
    fn zero_is_shown_and_a_line_with_only_zeros_beside_a_small_cell_hides_its_total() {
        let (cells, total) = suppress_line(&[0, 4, 0]);
        assert_eq!(cells, [Cell::Shown(0), Cell::Small, Cell::Shown(0)]);
        assert_eq!(total, Cell::Small);
        // A total hidden as a partner is not small.
        let (cells, total) = suppress_line(&[0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 30]);
        assert_eq!(cells[1], Cell::Small);
        assert_eq!(cells[11], Cell::Hidden);
        assert_eq!(total, Cell::Shown(34));
        let (cells, total) = suppress_line(&[25, 30]);
        assert_eq!(cells, [Cell::Shown(25), Cell::Shown(30)]);
        assert_eq!(total, Cell::Shown(55));
    }

    #[test]
    fn no_generated_table_lets_a_hidden_cell_be_recovered() {
        // A deterministic spread of tables with many small cells.
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            seed >> 33
        };
        for _ in 0..500 {
            let rows = 1 + (next() % 6) as usize;
            let cols = 1 + (next() % 6) as usize;
            let t: Vec<Vec<u64>> = (0..rows)
                .map(|_| {
                    (0..cols)
                        .map(|_| match next() % 4 {
                            0 => 0,
                            1 => next() % 10,
                            _ => next() % 200,
                        })
                        .collect()
                })
                .collect();
            let s = suppress(&t);
            assert!(!recoverable(&s), "{t:?} → {s:?}");
            for (r, row) in t.iter().enumerate() {
                for (c, &n) in row.iter().enumerate() {
                    let truth = n > 0 && n < SUPPRESS_BELOW;
                    // `<10` exactly where the count is 1–9; a shown count is the count.
                    assert_eq!(s.cells[r][c] == Cell::Small, truth, "{t:?}");
                    if let Cell::Shown(m) = s.cells[r][c] {
                        assert_eq!(m, n);
                    }
                }
            }
            let sums = t.iter().map(|r| r.iter().sum::<u64>());
            for (cell, n) in s.row_totals.iter().zip(sums) {
                assert_eq!(*cell == Cell::Small, n > 0 && n < SUPPRESS_BELOW, "{t:?}");
            }
        }
    }
}
