//! Charts drawn on the server as inline SVG: no script, no external CDN (the terminals have no
//! internet), readable at a glance and printable. A value withheld from publication (`<10`, or `X`
//! for a cell hidden to protect another) is never drawn as a number: a line leaves a gap, a bar is
//! replaced by its mark, and the chart says so under its title.

use maud::{html, Markup, PreEscaped};
use vrs_domain::Cell;

/// Colours that stay apart for the common kinds of colour blindness (Okabe–Ito).
pub const COLOURS: [&str; 6] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00",
];

pub struct Series {
    pub label: String,
    pub points: Vec<Point>,
}

/// One value of a series.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Point {
    Value(f64),
    /// Withheld from publication (a small or a hidden cell): drawn as its mark, never as a number.
    Withheld(Cell),
    /// Nothing to draw (no denominator).
    Missing,
}

impl Point {
    /// A published cell as a point: its count, or its mark.
    pub fn of(cell: Cell) -> Point {
        match cell.value() {
            Some(n) => Point::Value(n as f64),
            None => Point::Withheld(cell),
        }
    }

    fn value(self) -> Option<f64> {
        match self {
            Point::Value(v) => Some(v),
            _ => None,
        }
    }
}

/// `part` as a percentage of `whole`; withheld when either is (it would reveal it).
pub fn percent(part: &Cell, whole: &Cell) -> Point {
    match (part.value(), whole.value()) {
        (Some(p), Some(w)) if w > 0 => Point::Value(p as f64 * 100.0 / w as f64),
        (Some(_), Some(_)) => Point::Missing,
        (None, _) => Point::Withheld(*part),
        (_, None) => Point::Withheld(*whole),
    }
}

/// An even time axis over dated values (in date order): the first day and a label for every day
/// from it to the last, so a day without a value still takes its place.
pub fn even_days<T>(dated: &[(chrono::NaiveDate, T)]) -> (chrono::NaiveDate, Vec<String>) {
    let (Some(first), Some(last)) = (dated.first(), dated.last()) else {
        return (chrono::NaiveDate::default(), Vec::new());
    };
    let span = (last.0 - first.0).num_days().max(0) as u64 + 1;
    let days = (0..span)
        .map(|i| (first.0 + chrono::Days::new(i)).to_string())
        .collect();
    (first.0, days)
}

/// Whether any point of the series is withheld.
fn any_withheld(series: &[Series]) -> bool {
    series
        .iter()
        .flat_map(|s| &s.points)
        .any(|p| matches!(p, Point::Withheld(_)))
}

const W: f64 = 680.0;
const H: f64 = 260.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 40.0;

/// A round upper bound for the axis and its tick step.
fn axis(max: f64) -> (f64, f64) {
    if max <= 0.0 {
        return (1.0, 0.25);
    }
    let raw = max / 4.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(raw);
    ((max / step).ceil() * step, step)
}

fn number(v: f64, percent: bool) -> String {
    if percent {
        format!("{v:.0}%")
    } else if v >= 1_000_000.0 {
        format!("{:.1}M", v / 1_000_000.0)
    } else if v >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else {
        format!("{v:.0}")
    }
}

/// The vertical scale: its top, its tick step, and whether values are percentages.
struct Scale {
    y_max: f64,
    step: f64,
    percent: bool,
}

#[allow(clippy::too_many_arguments)]
fn frame(
    title: &str,
    id: &str,
    scale: Scale,
    body: Markup,
    legend: &[String],
    x_labels: Markup,
    note: Option<&str>,
) -> Markup {
    let Scale {
        y_max,
        step,
        percent,
    } = scale;
    let plot_h = H - TOP - BOTTOM;
    let ticks = (y_max / step).round() as usize;
    html! {
        figure.chart id=(id) {
            figcaption {
                (title)
                @if let Some(note) = note { br; small.chart-note { (note) } }
            }
            svg xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (W) " " (H + 24.0) } role="img" aria-label=(title) {
                title { (title) }
                @for i in 0..=ticks {
                    @let v = step * i as f64;
                    @let y = TOP + plot_h - v / y_max * plot_h;
                    line x1=(LEFT) x2=(W - RIGHT) y1=(y) y2=(y) stroke="#ddd" stroke-width="1" {}
                    text x=(LEFT - 6.0) y=(y + 4.0) text-anchor="end" font-size="11" fill="#444" { (number(v, percent)) }
                }
                line x1=(LEFT) x2=(LEFT) y1=(TOP) y2=(TOP + plot_h) stroke="#888" {}
                (body)
                (x_labels)
                @for (i, label) in legend.iter().enumerate() {
                    rect x=(LEFT + i as f64 * 120.0) y=(H + 6.0) width="12" height="12" fill=(COLOURS[i % COLOURS.len()]) {}
                    text x=(LEFT + 16.0 + i as f64 * 120.0) y=(H + 16.0) font-size="12" fill="#222" { (label) }
                }
            }
        }
    }
}

/// Lines over `x_labels` (every series as long as the labels), at most ~8 labels written; a
/// withheld value leaves a gap, and `withheld_note` is written under the title when there is one.
pub fn line_chart(
    title: &str,
    id: &str,
    x_labels: &[String],
    series: &[Series],
    percent: bool,
    withheld_note: &str,
) -> Markup {
    let max = series
        .iter()
        .flat_map(|s| s.points.iter().filter_map(|p| p.value()))
        .fold(0f64, f64::max);
    let (y_max, step) = if percent { (100.0, 25.0) } else { axis(max) };
    let n = x_labels.len().max(1);
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let x = |i: usize| {
        LEFT + if n == 1 {
            plot_w / 2.0
        } else {
            i as f64 * plot_w / (n - 1) as f64
        }
    };
    let y = |v: f64| TOP + plot_h - v.min(y_max) / y_max * plot_h;
    let mut paths = String::new();
    for (k, s) in series.iter().enumerate() {
        // One path per run of present points, so a suppressed value leaves a gap.
        let mut d = String::new();
        let mut pen_down = false;
        for (i, p) in s.points.iter().enumerate() {
            match p.value() {
                Some(v) => {
                    d.push_str(&format!(
                        "{}{:.1},{:.1} ",
                        if pen_down { "L" } else { "M" },
                        x(i),
                        y(v)
                    ));
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        paths.push_str(&format!(
            "<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>",
            d.trim_end(),
            COLOURS[k % COLOURS.len()]
        ));
    }
    let every = n.div_ceil(8).max(1);
    let labels = html! {
        @for (i, l) in x_labels.iter().enumerate() {
            @if i % every == 0 && i + every / 2 < n {
                text x=(x(i)) y=(H - BOTTOM + 16.0) text-anchor="middle" font-size="11" fill="#444" { (l) }
            }
        }
    };
    let legend: Vec<String> = series.iter().map(|s| s.label.clone()).collect();
    frame(
        title,
        id,
        Scale {
            y_max,
            step,
            percent,
        },
        html! { (PreEscaped(paths)) },
        &legend,
        labels,
        any_withheld(series).then_some(withheld_note),
    )
}

/// Grouped bars: for each category, one bar per series; a withheld value stands as its mark (`<10`,
/// `X`) at the foot of its place, and `withheld_note` is written under the title.
pub fn bar_chart(
    title: &str,
    id: &str,
    categories: &[String],
    series: &[Series],
    percent: bool,
    withheld_note: &str,
) -> Markup {
    let max = series
        .iter()
        .flat_map(|s| s.points.iter().filter_map(|p| p.value()))
        .fold(0f64, f64::max);
    let (y_max, step) = if percent { (100.0, 25.0) } else { axis(max) };
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let group = plot_w / categories.len().max(1) as f64;
    let bar = (group * 0.8 / series.len().max(1) as f64).max(1.0);
    let bars = html! {
        @for (k, s) in series.iter().enumerate() {
            @for (i, p) in s.points.iter().enumerate() {
                @let left = LEFT + i as f64 * group + group * 0.1 + k as f64 * bar;
                @let name = categories.get(i).map(String::as_str).unwrap_or("");
                @match p {
                    Point::Value(v) => {
                        @let h = v.min(y_max) / y_max * plot_h;
                        rect x=(left) y=(TOP + plot_h - h) width=(bar) height=(h) fill=(COLOURS[k % COLOURS.len()]) {
                            title { (name) " " (s.label) ": " (number(*v, percent)) }
                        }
                    }
                    Point::Withheld(cell) => {
                        text.withheld x=(left + bar / 2.0) y=(TOP + plot_h - 4.0) text-anchor="middle" font-size="11" fill="#222" {
                            (cell.text())
                            title { (name) " " (s.label) ": " (cell.text()) }
                        }
                    }
                    Point::Missing => {}
                }
            }
        }
    };
    let labels = html! {
        @for (i, c) in categories.iter().enumerate() {
            text x=(LEFT + (i as f64 + 0.5) * group) y=(H - BOTTOM + 16.0) text-anchor="middle" font-size="11" fill="#444" { (c) }
        }
    };
    let legend: Vec<String> = series.iter().map(|s| s.label.clone()).collect();
    frame(
        title,
        id,
        Scale {
            y_max,
            step,
            percent,
        },
        bars,
        &legend,
        labels,
        any_withheld(series).then_some(withheld_note),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_round_up_and_gaps_split_lines() {
        assert_eq!(axis(0.0), (1.0, 0.25));
        assert_eq!(axis(95.0), (100.0, 25.0));
        assert_eq!(axis(1234.0), (1500.0, 500.0));
        let svg = line_chart(
            "t",
            "c",
            &["a".into(), "b".into(), "c".into(), "d".into()],
            &[Series {
                label: "1回目".into(),
                points: vec![
                    Point::Value(1.0),
                    Point::Value(2.0),
                    Point::Withheld(Cell::Small),
                    Point::Value(4.0),
                ],
            }],
            false,
            "withheld",
        )
        .into_string();
        assert_eq!(
            svg.matches(" M").count() + svg.matches("\"M").count(),
            2,
            "{svg}"
        );
        assert!(svg.contains("withheld"));
        let bars = bar_chart(
            "t",
            "b",
            &["x".into()],
            &[Series {
                label: "s".into(),
                points: vec![Point::Value(50.0)],
            }],
            true,
            "withheld",
        )
        .into_string();
        assert!(bars.contains("<rect") && bars.contains("50%"));
        assert!(!bars.contains("withheld"));
    }

    #[test]
    fn withheld_bars_stand_as_their_marks_and_never_as_numbers() {
        let bars = bar_chart(
            "t",
            "b",
            &["a".into(), "b".into()],
            &[Series {
                label: "s".into(),
                points: vec![Point::Withheld(Cell::Hidden), Point::Withheld(Cell::Small)],
            }],
            false,
            "X・<10 は秘匿",
        )
        .into_string();
        // No bar is drawn, each place carries its mark, and the note says why.
        assert_eq!(bars.matches("<rect").count(), 1, "only the legend: {bars}");
        assert!(bars.contains(">X<") && bars.contains("&lt;10"), "{bars}");
        assert!(bars.contains("X・&lt;10 は秘匿"), "{bars}");
    }
}
