//! The tables every statistics view shows, built from a scope's sums: suppressed unless the viewer
//! is the municipality itself looking at its own counts.

use vrs_domain::{suppress, AgeBand, Cell, Labelled, Sex, VaccineProduct};
use vrs_store::{MunicipalityFigures, ScopeStatistics, StatScope, StatisticsStore, StoreError};

/// Whether the view leaves the municipality (a prefecture's, the nation's, or an API client of
/// theirs): then small counts are suppressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    OwnMunicipality,
    Outside,
}

/// A published table: labelled rows and columns of cells, and the totals that are published with
/// it (`None` for a margin that means nothing, such as a row across targets and doses).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// A stable name (`daily`, `products`, `ages`, `sexes`, `coverage`, `municipalities`).
    pub name: &'static str,
    pub row_header: (&'static str, &'static str),
    pub columns: Vec<(String, String)>,
    pub rows: Vec<(String, String, Vec<Cell>)>,
    pub row_totals: Option<Vec<Cell>>,
    pub column_totals: Vec<Cell>,
    pub total: Option<Cell>,
}

/// Everything a dashboard shows for a scope.
#[derive(Clone, Debug)]
pub struct Dashboard {
    pub scope: StatScope,
    pub audience: Audience,
    pub daily: Table,
    pub products: Table,
    pub ages: Table,
    pub sexes: Table,
    pub coverage: Table,
    /// Each municipality of a prefecture or the nation (empty for one municipality).
    pub municipalities: Table,
    pub oldest: Option<chrono::DateTime<chrono::Utc>>,
    /// The days the daily table covers.
    pub days: Days,
    /// Doses of each number given before the first of `days` (all zero when the range is open at
    /// its start), so a cumulative line over the range starts where the campaign stood.
    pub before: Vec<Cell>,
}

/// The days a dashboard's daily table covers, both ends included; `None` leaves that end open.
/// Coverage and the other tables are always the whole campaign to date.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Days {
    pub from: Option<chrono::NaiveDate>,
    pub to: Option<chrono::NaiveDate>,
}

impl Days {
    /// Every day of the campaign.
    pub const ALL: Days = Days {
        from: None,
        to: None,
    };

    pub fn contains(&self, day: chrono::NaiveDate) -> bool {
        self.from.is_none_or(|f| day >= f) && self.to.is_none_or(|t| day <= t)
    }
}

impl Dashboard {
    pub fn tables(&self) -> [&Table; 6] {
        [
            &self.daily,
            &self.products,
            &self.ages,
            &self.sexes,
            &self.coverage,
            &self.municipalities,
        ]
    }

    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables().into_iter().find(|t| t.name == name)
    }
}

fn dose_columns(max: u8) -> Vec<(String, String)> {
    (1..=max)
        .map(|n| (format!("{n}回目"), format!("dose {n}")))
        .collect()
}

/// Builds a table from counts, suppressing when the audience is outside.
#[allow(clippy::too_many_arguments)]
fn table(
    name: &'static str,
    row_header: (&'static str, &'static str),
    columns: Vec<(String, String)>,
    labels: Vec<(String, String)>,
    counts: Vec<Vec<u64>>,
    audience: Audience,
    row_totals_mean_something: bool,
) -> Table {
    let s = match audience {
        Audience::Outside => suppress(&counts),
        Audience::OwnMunicipality => {
            let shown = |v: &[u64]| v.iter().map(|&n| Cell::Shown(n)).collect::<Vec<_>>();
            let cols = columns.len();
            let col_sums: Vec<u64> = (0..cols)
                .map(|c| counts.iter().map(|r| r.get(c).copied().unwrap_or(0)).sum())
                .collect();
            let row_sums: Vec<u64> = counts.iter().map(|r| r.iter().sum()).collect();
            vrs_domain::Suppressed {
                cells: counts.iter().map(|r| shown(r)).collect(),
                row_totals: shown(&row_sums),
                column_totals: shown(&col_sums),
                total: Cell::Shown(row_sums.iter().sum()),
            }
        }
    };
    let column_totals = if s.column_totals.is_empty() {
        vec![Cell::Shown(0); columns.len()]
    } else {
        s.column_totals
    };
    Table {
        name,
        row_header,
        columns,
        rows: labels
            .into_iter()
            .zip(s.cells)
            .map(|((ja, en), cells)| (ja, en, cells))
            .collect(),
        row_totals: row_totals_mean_something.then_some(s.row_totals),
        column_totals,
        total: row_totals_mean_something.then_some(s.total),
    }
}

fn sex_label(s: Sex) -> (String, String) {
    (s.label_ja().to_owned(), s.label_en().to_owned())
}

fn band_label(b: AgeBand) -> (String, String) {
    (b.label_ja(), format!("{} years", b.code()))
}

/// The dashboard of `scope` for `audience`, from the stored sums, over the whole campaign.
pub async fn dashboard(
    store: &(impl StatisticsStore + ?Sized),
    scope: StatScope,
    audience: Audience,
) -> Result<Dashboard, StoreError> {
    dashboard_of_days(store, scope, audience, Days::ALL).await
}

/// The dashboard of `scope` for `audience` with its daily table limited to `days`.
pub async fn dashboard_of_days(
    store: &(impl StatisticsStore + ?Sized),
    scope: StatScope,
    audience: Audience,
    days: Days,
) -> Result<Dashboard, StoreError> {
    // The two reads are independent: asked at once, on two connections.
    let figures = async {
        match scope {
            StatScope::Municipality(_) => Ok(Vec::new()),
            _ => store.municipality_figures(scope).await,
        }
    };
    let (sums, figures) = tokio::try_join!(store.scope_statistics(scope), figures)?;
    Ok(build(scope, audience, &sums, &figures, days))
}

/// The tables of a dashboard from a scope's sums and municipality figures.
pub fn build(
    scope: StatScope,
    audience: Audience,
    sums: &ScopeStatistics,
    figures: &[MunicipalityFigures],
    range: Days,
) -> Dashboard {
    let max_dose = sums
        .daily
        .iter()
        .map(|d| d.dose_number)
        .chain(sums.coverage.iter().map(|c| c.doses))
        .max()
        .unwrap_or(0)
        .max(1);
    let cols = dose_columns(max_dose);
    let at = |n: u8| usize::from(n.saturating_sub(1));

    // Doses per day within the range, and before it.
    let mut days: Vec<chrono::NaiveDate> = sums
        .daily
        .iter()
        .map(|d| d.day)
        .filter(|d| range.contains(*d))
        .collect();
    days.dedup();
    let mut counts = vec![vec![0u64; cols.len()]; days.len()];
    let mut before = vec![0u64; cols.len()];
    for d in &sums.daily {
        if let Ok(i) = days.binary_search(&d.day) {
            counts[i][at(d.dose_number)] += d.doses;
        } else if range.from.is_some_and(|f| d.day < f) {
            before[at(d.dose_number)] += d.doses;
        }
    }
    let before = match audience {
        Audience::Outside => vrs_domain::suppress_line(&before).0,
        Audience::OwnMunicipality => before.into_iter().map(Cell::Shown).collect(),
    };
    let labels = days
        .iter()
        .map(|d| (d.to_string(), d.to_string()))
        .collect();
    let daily = table(
        "daily",
        ("接種日", "Day"),
        cols.clone(),
        labels,
        counts,
        audience,
        true,
    );

    // Doses per product.
    let mut codes: Vec<&str> = sums
        .by_product
        .iter()
        .map(|p| p.product_code.as_str())
        .collect();
    codes.sort_unstable();
    codes.dedup();
    let mut counts = vec![vec![0u64; cols.len()]; codes.len()];
    for p in &sums.by_product {
        if let Ok(i) = codes.binary_search(&p.product_code.as_str()) {
            counts[i][at(p.dose_number)] += p.doses;
        }
    }
    let labels = codes
        .iter()
        .map(|c| match VaccineProduct::by_code(c) {
            Some(p) => (p.name_ja.to_owned(), p.name.to_owned()),
            None => ((*c).to_owned(), (*c).to_owned()),
        })
        .collect();
    let products = table(
        "products",
        ("ワクチン", "Vaccine"),
        cols.clone(),
        labels,
        counts,
        audience,
        true,
    );

    // Doses per age band (age on the day of the dose) and per sex.
    let mut by_band = vec![vec![0u64; cols.len()]; AgeBand::ALL.len()];
    let mut by_sex = vec![vec![0u64; cols.len()]; 2];
    for a in &sums.by_age {
        let b = AgeBand::ALL
            .iter()
            .position(|x| *x == a.age_band)
            .unwrap_or(0);
        by_band[b][at(a.dose_number)] += a.doses;
        by_sex[usize::from(a.sex == Sex::Female)][at(a.dose_number)] += a.doses;
    }
    let ages = table(
        "ages",
        ("年齢区分（接種時）", "Age band (at the dose)"),
        cols.clone(),
        AgeBand::ALL.iter().map(|b| band_label(*b)).collect(),
        by_band,
        audience,
        true,
    );
    let sexes = table(
        "sexes",
        ("性別", "Sex"),
        cols.clone(),
        vec![sex_label(Sex::Male), sex_label(Sex::Female)],
        by_sex,
        audience,
        true,
    );

    // Coverage: targets and people with at least n doses, per age band (age today).
    let mut cov_cols = vec![("対象者数".to_owned(), "Targets".to_owned())];
    cov_cols.extend((1..=max_dose).map(|n| (format!("{n}回以上"), format!("≥ {n} doses"))));
    let mut counts = vec![vec![0u64; cov_cols.len()]; AgeBand::ALL.len()];
    for c in &sums.coverage {
        let b = AgeBand::ALL
            .iter()
            .position(|x| *x == c.age_band)
            .unwrap_or(0);
        if let Some(cell) = counts[b].get_mut(usize::from(c.doses)) {
            *cell += c.people;
        }
    }
    let coverage = table(
        "coverage",
        ("年齢区分（現在）", "Age band (today)"),
        cov_cols.clone(),
        AgeBand::ALL.iter().map(|b| band_label(*b)).collect(),
        counts,
        audience,
        false,
    );

    // Municipalities: targets, people with at least n doses, doses.
    let mut mun_cols = cov_cols;
    mun_cols.push(("接種回数".into(), "Doses".into()));
    let counts = figures
        .iter()
        .map(|f| {
            let mut row = vec![f.targets];
            row.extend((1..=max_dose).map(|n| f.people_with.get(at(n)).copied().unwrap_or(0)));
            row.push(f.doses);
            row
        })
        .collect();
    let labels = figures
        .iter()
        .map(|f| {
            let name = f.municipality.info().full_name();
            (
                format!("{}（{}）", name, f.municipality),
                format!("{} ({})", name, f.municipality),
            )
        })
        .collect();
    let municipalities = table(
        "municipalities",
        ("市区町村", "Municipality"),
        mun_cols,
        labels,
        counts,
        audience,
        false,
    );
    Dashboard {
        scope,
        audience,
        daily,
        products,
        ages,
        sexes,
        coverage,
        municipalities,
        oldest: sums.oldest,
        days: range,
        before,
    }
}

/// A table as CSV rows (header first): cells as numbers or `<10`, then the totals row when the
/// table has one.
pub fn csv_rows(t: &Table, ja: bool) -> Vec<Vec<String>> {
    let pick = |j: &str, e: &str| (j, e).label(ja).to_owned();
    let mut header = vec![pick(t.row_header.0, t.row_header.1)];
    header.extend(t.columns.iter().map(|(j, e)| pick(j, e)));
    if t.row_totals.is_some() {
        header.push(pick("計", "Total"));
    }
    let mut out = vec![header];
    for (i, (j, e, cells)) in t.rows.iter().enumerate() {
        let mut row = vec![pick(j, e)];
        row.extend(cells.iter().map(|c| c.text()));
        if let Some(totals) = &t.row_totals {
            row.push(totals[i].text());
        }
        out.push(row);
    }
    let mut last = vec![pick("計", "Total")];
    last.extend(t.column_totals.iter().map(|c| c.text()));
    if let Some(total) = t.total {
        last.push(total.text());
    }
    out.push(last);
    out
}
