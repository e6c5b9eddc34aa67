//! Charts as server-rendered inline SVG: no script, no inline style (the CSP forbids both), so
//! colours come from console.css classes and sizes from SVG presentation attributes. Each chart
//! has a title and a text equivalent (the numbers are printed next to the bars, and the data
//! is also in the page's tables), so it is readable without the picture.
use maud::{Markup, html};

/// Width of the drawing in user units; the SVG scales to its container (narrow enough that a
/// phone's 390 pixels shrink the text little).
const WIDTH: u64 = 420;
const LABEL: u64 = 160;
const BAR_H: u64 = 26;
const GAP: u64 = 8;

/// A horizontal bar chart: one bar per (label, value, css class).
pub fn bars(title: &str, rows: &[(&str, u64, &str)]) -> Markup {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
    let height = rows.len() as u64 * (BAR_H + GAP) + GAP;
    let room = WIDTH - LABEL - 40;
    html! {
        svg class="chart" role="img" aria-label=(title) viewBox={ "0 0 " (WIDTH) " " (height) }
            width="100%" preserveAspectRatio="xMinYMin meet" {
            title { (title) }
            @for (n, (label, value, class)) in rows.iter().enumerate() {
                @let y = GAP + n as u64 * (BAR_H + GAP);
                @let w = (value * room / max).max(u64::from(*value > 0));
                text class="chart-label" x="0" y=(y + BAR_H * 2 / 3) { (label) }
                rect class={ "bar " (class) } x=(LABEL) y=(y) width=(w) height=(BAR_H) rx="3" {}
                text class="chart-value" x=(LABEL + w + 6) y=(y + BAR_H * 2 / 3) { (value) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn bars_scale_to_the_largest_and_escape_labels() {
        let svg = super::bars(
            "Images <by> level",
            &[
                ("High", 4, "lvl-0"),
                ("<script>", 2, "lvl-1"),
                ("None", 0, "lvl-3"),
            ],
        )
        .into_string();
        assert!(svg.contains("width=\"220\""), "{svg}");
        assert!(svg.contains("width=\"110\""), "{svg}");
        assert!(svg.contains("width=\"0\""), "{svg}");
        assert!(
            svg.contains("&lt;script&gt;") && !svg.contains("<script>"),
            "{svg}"
        );
        assert!(!svg.contains("style"), "no inline style: {svg}");
    }
}
