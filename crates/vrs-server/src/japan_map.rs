//! A map of Japan as inline SVG, drawn from prefecture codes: one square tile per prefecture,
//! placed on a grid roughly where the prefecture lies (北海道 at the top right, 沖縄県 at the bottom
//! left), so that every prefecture is the same size and none is lost — a small prefecture of many
//! people reads as well as a large one of few. Tiles are shaded by a percentage; a withheld value
//! stands as its mark on a grey tile. No script, no external file.

use maud::{html, Markup};
use vrs_domain::Labelled;

use crate::charts::Point;

/// Columns and rows of the grid, and each prefecture's tile (code 1–47 → column, row).
const COLUMNS: u32 = 13;
const ROWS: u32 = 11;
const TILES: [(u8, u32, u32); 47] = [
    (1, 12, 0),
    (2, 11, 1),
    (5, 10, 2),
    (3, 11, 2),
    (6, 10, 3),
    (4, 11, 3),
    (18, 6, 4),
    (17, 7, 4),
    (16, 8, 4),
    (15, 9, 4),
    (7, 10, 4),
    (32, 3, 5),
    (31, 4, 5),
    (28, 5, 5),
    (26, 6, 5),
    (21, 7, 5),
    (20, 8, 5),
    (10, 9, 5),
    (9, 10, 5),
    (8, 11, 5),
    (35, 2, 6),
    (34, 3, 6),
    (33, 4, 6),
    (27, 5, 6),
    (25, 6, 6),
    (23, 7, 6),
    (19, 8, 6),
    (11, 9, 6),
    (12, 10, 6),
    (41, 0, 7),
    (40, 1, 7),
    (44, 2, 7),
    (38, 3, 7),
    (37, 4, 7),
    (29, 5, 7),
    (24, 6, 7),
    (22, 7, 7),
    (14, 8, 7),
    (13, 9, 7),
    (42, 0, 8),
    (43, 1, 8),
    (45, 2, 8),
    (39, 3, 8),
    (36, 4, 8),
    (30, 5, 8),
    (46, 1, 9),
    (47, 0, 10),
];

/// English names of the prefectures, by code − 1.
const NAMES_EN: [&str; 47] = [
    "Hokkaido",
    "Aomori",
    "Iwate",
    "Miyagi",
    "Akita",
    "Yamagata",
    "Fukushima",
    "Ibaraki",
    "Tochigi",
    "Gunma",
    "Saitama",
    "Chiba",
    "Tokyo",
    "Kanagawa",
    "Niigata",
    "Toyama",
    "Ishikawa",
    "Fukui",
    "Yamanashi",
    "Nagano",
    "Gifu",
    "Shizuoka",
    "Aichi",
    "Mie",
    "Shiga",
    "Kyoto",
    "Osaka",
    "Hyogo",
    "Nara",
    "Wakayama",
    "Tottori",
    "Shimane",
    "Okayama",
    "Hiroshima",
    "Yamaguchi",
    "Tokushima",
    "Kagawa",
    "Ehime",
    "Kochi",
    "Fukuoka",
    "Saga",
    "Nagasaki",
    "Kumamoto",
    "Oita",
    "Miyazaki",
    "Kagoshima",
    "Okinawa",
];

/// The prefecture's English name (`Ehime`), or an empty string for a code outside 1–47.
pub fn name_en(code: u8) -> &'static str {
    usize::from(code)
        .checked_sub(1)
        .and_then(|i| NAMES_EN.get(i))
        .copied()
        .unwrap_or("")
}

/// The short Japanese name a tile carries: 北海道 whole, the others without 都・府・県.
fn short_ja(full: &str) -> &str {
    if full == "北海道" {
        return full;
    }
    full.strip_suffix('県')
        .or_else(|| full.strip_suffix('府'))
        .or_else(|| full.strip_suffix('都'))
        .unwrap_or(full)
}

/// Shades from light to dark blue, one per 20 percentage points.
const SHADES: [&str; 5] = ["#deebf7", "#9ecae1", "#6baed6", "#3182bd", "#08519c"];

fn shade(percent: f64) -> (&'static str, &'static str) {
    let i = ((percent / 20.0).floor().max(0.0) as usize).min(SHADES.len() - 1);
    (SHADES[i], if i >= 3 { "#fff" } else { "#111" })
}

const TILE: f64 = 46.0;
const GAP: f64 = 3.0;

/// The map: `values` gives each prefecture's percentage (code, point); a prefecture not listed is
/// drawn empty. `withheld_note` is written under the title when a value is withheld.
pub fn tile_map(
    title: &str,
    id: &str,
    values: &[(u8, Point)],
    ja: bool,
    withheld_note: &str,
) -> Markup {
    let width = f64::from(COLUMNS) * (TILE + GAP);
    let height = f64::from(ROWS) * (TILE + GAP) + 40.0;
    let value_of = |code: u8| values.iter().find(|(c, _)| *c == code).map(|(_, p)| *p);
    let any_withheld = values.iter().any(|(_, p)| matches!(p, Point::Withheld(_)));
    html! {
        figure.chart.map id=(id) {
            figcaption {
                (title)
                @if any_withheld { br; small { (withheld_note) } }
            }
            svg xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (width) " " (height) }
                role="img" aria-label=(title) {
                @for (code, col, row) in TILES {
                    @let x = f64::from(col) * (TILE + GAP);
                    @let y = f64::from(row) * (TILE + GAP);
                    @let full = vrs_domain::PrefectureCode::parse(&code.to_string())
                        .map(|p| p.info().name)
                        .unwrap_or("");
                    @let name = (full, name_en(code)).label(ja);
                    @let label = (short_ja(full), name_en(code)).label(ja);
                    @let (fill, ink, text) = match value_of(code) {
                        Some(Point::Value(v)) => {
                            let (fill, ink) = shade(v);
                            (fill, ink, format!("{v:.0}%"))
                        }
                        Some(Point::Withheld(cell)) => ("#d9d9d9", "#111", cell.text()),
                        _ => ("#f4f4f4", "#555", "–".to_owned()),
                    };
                    g.tile data-prefecture=(format!("{code:02}")) {
                        title { (name) ": " (text) }
                        rect x=(x) y=(y) width=(TILE) height=(TILE) rx="4" fill=(fill) {}
                        // A Japanese name is two to four characters; an English one needs a
                        // smaller type to fit the tile.
                        text x=(x + TILE / 2.0) y=(y + 19.0) text-anchor="middle"
                            font-size=(if ja { "11" } else { "8" }) fill=(ink) { (label) }
                        text x=(x + TILE / 2.0) y=(y + 35.0) text-anchor="middle"
                            font-size="11" font-weight="bold" fill=(ink) { (text) }
                    }
                }
                @for (i, fill) in SHADES.iter().enumerate() {
                    @let x = i as f64 * 70.0;
                    @let y = f64::from(ROWS) * (TILE + GAP) + 10.0;
                    rect x=(x) y=(y) width="16" height="16" fill=(fill) stroke="#999" {}
                    text x=(x + 20.0) y=(y + 13.0) font-size="11" fill="#222" {
                        (i * 20) "–" (if i == 4 { 100 } else { i * 20 + 20 }) "%"
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use vrs_domain::Cell;

    #[test]
    fn every_prefecture_has_one_tile_of_its_own() {
        let codes: HashSet<u8> = TILES.iter().map(|t| t.0).collect();
        let places: HashSet<(u32, u32)> = TILES.iter().map(|t| (t.1, t.2)).collect();
        assert_eq!(codes, (1..=47).collect());
        assert_eq!(places.len(), 47);
        assert!(TILES.iter().all(|t| t.1 < COLUMNS && t.2 < ROWS));
        assert_eq!(name_en(38), "Ehime");
        assert_eq!(name_en(0), "");
        assert_eq!(short_ja("愛媛県"), "愛媛");
        assert_eq!(short_ja("東京都"), "東京");
        assert_eq!(short_ja("北海道"), "北海道");
    }

    #[test]
    fn tiles_are_shaded_by_value_and_a_withheld_one_shows_its_mark() {
        let svg = tile_map(
            "map",
            "m",
            &[(38, Point::Value(85.0)), (13, Point::Withheld(Cell::Small))],
            true,
            "秘匿",
        )
        .into_string();
        assert_eq!(svg.matches("<g class=\"tile\"").count(), 47);
        assert!(svg.contains("愛媛県: 85%"), "{svg}");
        assert!(svg.contains("#08519c"));
        assert!(svg.contains("東京都: &lt;10"), "{svg}");
        assert!(svg.contains("秘匿"));
        let plain =
            tile_map("map", "m", &[(38, Point::Value(10.0))], false, "withheld").into_string();
        assert!(plain.contains("Ehime: 10%") && !plain.contains("withheld"));
    }
}
