//! Score-vs-accuracy scatter plots (PNG), one panel per proxy.
//!
//! Text is drawn with the DejaVu Sans font compiled into the binary, so plotting needs no
//! system fonts (plotters' default `ttf` feature would need fontconfig).

use anyhow::{anyhow, Result};
use plotters::prelude::*;
use plotters::style::FontStyle;
use std::path::Path;
use std::sync::Once;

fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are a valid TTF shipped by the `dejavu` crate; failure would be a build bug.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
        let _ = plotters::style::register_font("sans-serif", FontStyle::Bold, dejavu::sans::bold());
    });
}

/// One panel: a proxy's scores against accuracies.
pub struct ScatterPanel<'a> {
    pub proxy: &'a str,
    pub scores: &'a [f64],
    pub accuracies: &'a [f64],
    pub spearman: f64,
}

/// Draws the panels side by side (up to 3 per row) into `<stem>.png` and `<stem>.svg`.
pub fn scatter(stem: &Path, title: &str, accuracy_label: &str, panels: &[ScatterPanel]) -> Result<()> {
    let cols = panels.len().clamp(1, 3);
    let rows = panels.len().div_ceil(cols).max(1);
    let size = ((cols * 480) as u32, (rows * 400 + 50) as u32);
    let png = stem.with_extension("png");
    let svg = stem.with_extension("svg");
    draw_scatter(BitMapBackend::new(&png, size).into_drawing_area(), &png, title, accuracy_label, panels)?;
    draw_scatter(SVGBackend::new(&svg, size).into_drawing_area(), &svg, title, accuracy_label, panels)
}

fn draw_scatter<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    path: &Path,
    title: &str,
    accuracy_label: &str,
    panels: &[ScatterPanel],
) -> Result<()> {
    register_fonts();
    let err = |e: &dyn std::fmt::Display| anyhow!("cannot draw {}: {e}", path.display());
    let cols = panels.len().clamp(1, 3);
    let rows = panels.len().div_ceil(cols).max(1);
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let (top, body) = root.split_vertically(50);
    top.titled(title, ("sans-serif", 26).into_font()).map_err(|e| err(&e))?;
    let areas = body.split_evenly((rows, cols));
    for (panel, area) in panels.iter().zip(areas) {
        let points: Vec<(f64, f64)> = panel
            .scores
            .iter()
            .zip(panel.accuracies)
            .filter(|(s, a)| s.is_finite() && a.is_finite())
            .map(|(&s, &a)| (s, a))
            .collect();
        let (x0, x1) = range(points.iter().map(|p| p.0));
        let (y0, y1) = range(points.iter().map(|p| p.1));
        let caption = format!("{}  (ρ = {:.3}, n = {})", panel.proxy, panel.spearman, points.len());
        let mut chart = ChartBuilder::on(&area)
            .caption(caption, ("sans-serif", 20).into_font())
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc(format!("{} score", panel.proxy))
            .y_desc(accuracy_label)
            .x_labels(6)
            .y_labels(6)
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(|e| err(&e))?;
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 2, BLUE.mix(0.5).filled()))).map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

/// A diverging colour for ρ in [-1, 1]: red (negative) – white (0) – blue (positive).
fn rho_colour(v: f64) -> RGBColor {
    if !v.is_finite() {
        return RGBColor(200, 200, 200);
    }
    let t = v.clamp(-1.0, 1.0);
    let mix = |from: u8, to: u8, f: f64| (from as f64 + (to as f64 - from as f64) * f).round() as u8;
    if t >= 0.0 {
        RGBColor(mix(255, 33, t), mix(255, 102, t), mix(255, 172, t))
    } else {
        RGBColor(mix(255, 178, -t), mix(255, 24, -t), mix(255, 43, -t))
    }
}

/// Pixels above the heatmap's first row: the title and the longest column label, upright.
fn header_height(cols: &[String]) -> i32 {
    let longest = cols.iter().map(|c| c.chars().count()).max().unwrap_or(0) as i32;
    60 + 9 * longest
}

/// A proxy × task heatmap of ρ with the values written in the cells and a colour bar, like
/// the SWAP paper's Figure 4; into `<stem>.png` and `<stem>.svg`.
/// Pixels left of the heatmap's first column: room for the longest row label.
fn row_label_width(rows: &[String]) -> i32 {
    let longest = rows.iter().map(|r| r.chars().count()).max().unwrap_or(0) as i32;
    200.max(30 + 9 * longest)
}

pub fn heatmap(stem: &Path, title: &str, rows: &[String], cols: &[String], cells: &[Vec<f64>]) -> Result<()> {
    let size = (
        (row_label_width(rows) + 20 + 120 * cols.len() as i32 + 140) as u32,
        (header_height(cols) + 40 * rows.len() as i32 + 60) as u32,
    );
    let png = stem.with_extension("png");
    let svg = stem.with_extension("svg");
    draw_heatmap(BitMapBackend::new(&png, size).into_drawing_area(), &png, title, rows, cols, cells)?;
    draw_heatmap(SVGBackend::new(&svg, size).into_drawing_area(), &svg, title, rows, cols, cells)
}

fn draw_heatmap<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    path: &Path,
    title: &str,
    rows: &[String],
    cols: &[String],
    cells: &[Vec<f64>],
) -> Result<()> {
    register_fonts();
    let err = |e: &dyn std::fmt::Display| anyhow!("cannot draw {}: {e}", path.display());
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let (w, _) = root.dim_in_pixel();
    let (left, top, cell_w, cell_h) = (row_label_width(rows), header_height(cols), 120i32, 40i32);
    let text = |size: f64| -> TextStyle { ("sans-serif", size).into_font().color(&BLACK) };
    root.draw(&Text::new(title.to_string(), (20, 15), ("sans-serif", 24.0).into_font().style(FontStyle::Bold).color(&BLACK)))
        .map_err(|e| err(&e))?;
    // Column labels run upwards from just above their column, so long task names never overlap.
    for (j, c) in cols.iter().enumerate() {
        let x = left + j as i32 * cell_w + cell_w / 2 - 8;
        root.draw(&Text::new(c.clone(), (x, top - 8), text(15.0).transform(FontTransform::Rotate270))).map_err(|e| err(&e))?;
    }
    for (i, r) in rows.iter().enumerate() {
        let y = top + i as i32 * cell_h;
        root.draw(&Text::new(r.clone(), (20, y + 12), text(16.0))).map_err(|e| err(&e))?;
        for (j, &v) in cells[i].iter().enumerate() {
            let x = left + j as i32 * cell_w;
            root.draw(&Rectangle::new([(x, y), (x + cell_w - 2, y + cell_h - 2)], rho_colour(v).filled()))
                .map_err(|e| err(&e))?;
            let label = if v.is_finite() { format!("{v:.2}") } else { "—".to_string() };
            let colour = if v.abs() > 0.6 { WHITE } else { BLACK };
            root.draw(&Text::new(label, (x + cell_w / 2 - 16, y + 11), ("sans-serif", 16.0).into_font().color(&colour)))
                .map_err(|e| err(&e))?;
        }
    }
    // Colour bar: -1 .. 1.
    let bar_x = (w as i32 - 100).max(left + cols.len() as i32 * cell_w + 20);
    let bar_h = (rows.len() as i32 * cell_h).max(120);
    for k in 0..bar_h {
        let v = 1.0 - 2.0 * k as f64 / (bar_h - 1) as f64;
        root.draw(&Rectangle::new([(bar_x, top + k), (bar_x + 20, top + k + 1)], rho_colour(v).filled())).map_err(|e| err(&e))?;
    }
    for (v, k) in [(1.0, 0), (0.0, bar_h / 2), (-1.0, bar_h - 1)] {
        root.draw(&Text::new(format!("{v:+.1}"), (bar_x + 26, top + k - 7), text(13.0))).map_err(|e| err(&e))?;
    }
    root.draw(&Text::new("ρ".to_string(), (bar_x + 4, top - 24), text(16.0))).map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

/// One bar: a value and its interval.
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub interval: [f64; 2],
}

/// Horizontal bars with interval whiskers (e.g. ρ per proxy with its bootstrap 95% CI),
/// sorted as given; into `<stem>.png` and `<stem>.svg`.
pub fn bar_chart(stem: &Path, title: &str, value_label: &str, bars: &[Bar]) -> Result<()> {
    let size = (760u32, (120 + 34 * bars.len()) as u32);
    let png = stem.with_extension("png");
    let svg = stem.with_extension("svg");
    draw_bars(BitMapBackend::new(&png, size).into_drawing_area(), &png, title, value_label, bars)?;
    draw_bars(SVGBackend::new(&svg, size).into_drawing_area(), &svg, title, value_label, bars)
}

fn draw_bars<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    path: &Path,
    title: &str,
    value_label: &str,
    bars: &[Bar],
) -> Result<()> {
    register_fonts();
    let err = |e: &dyn std::fmt::Display| anyhow!("cannot draw {}: {e}", path.display());
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let lo = bars.iter().flat_map(|b| [b.value, b.interval[0]]).filter(|v| v.is_finite()).fold(0.0f64, f64::min);
    let hi = bars.iter().flat_map(|b| [b.value, b.interval[1]]).filter(|v| v.is_finite()).fold(0.0f64, f64::max);
    let n = bars.len().max(1);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22).into_font())
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(110)
        .build_cartesian_2d((lo - 0.05).max(-1.0)..(hi + 0.05).min(1.0), (0..n).into_segmented())
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc(value_label)
        .y_labels(n)
        .y_label_formatter(&|seg| match seg {
            SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => bars.get(*i).map_or(String::new(), |b| b.label.clone()),
            SegmentValue::Last => String::new(),
        })
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(|e| err(&e))?;
    chart
        .draw_series(bars.iter().enumerate().filter(|(_, b)| b.value.is_finite()).map(|(i, b)| {
            let (a, z) = if b.value >= 0.0 { (0.0, b.value) } else { (b.value, 0.0) };
            let mut r = Rectangle::new(
                [(a, SegmentValue::Exact(i)), (z, SegmentValue::Exact(i + 1))],
                rho_colour(b.value.signum() * 0.75).filled(),
            );
            r.set_margin(5, 5, 0, 0);
            r
        }))
        .map_err(|e| err(&e))?;
    chart
        .draw_series(bars.iter().enumerate().filter(|(_, b)| b.interval.iter().all(|v| v.is_finite())).map(|(i, b)| {
            PathElement::new(
                vec![(b.interval[0], SegmentValue::CenterOf(i)), (b.interval[1], SegmentValue::CenterOf(i))],
                BLACK.stroke_width(2),
            )
        }))
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

/// A padded [min, max] range; a unit range around a constant.
fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if lo == hi {
        return (lo - 0.5, hi + 0.5);
    }
    let pad = (hi - lo) * 0.04;
    (lo - pad, hi + pad)
}

/// One line: its name and its points (x ascending; non-finite y values are skipped).
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// A panel of lines sharing axes.
pub struct LinePanel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
}

/// Line panels side by side (e.g. best-so-far fitness and its accuracy per evaluation, one
/// line per search algorithm); into `<stem>.png` and `<stem>.svg`.
pub fn lines(stem: &Path, title: &str, panels: &[LinePanel]) -> Result<()> {
    let size = ((panels.len().max(1) * 560) as u32, 460u32);
    let png = stem.with_extension("png");
    let svg = stem.with_extension("svg");
    draw_lines(BitMapBackend::new(&png, size).into_drawing_area(), &png, title, panels)?;
    draw_lines(SVGBackend::new(&svg, size).into_drawing_area(), &svg, title, panels)
}

fn draw_lines<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    path: &Path,
    title: &str,
    panels: &[LinePanel],
) -> Result<()> {
    register_fonts();
    let err = |e: &dyn std::fmt::Display| anyhow!("cannot draw {}: {e}", path.display());
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let (top, body) = root.split_vertically(50);
    top.titled(title, ("sans-serif", 24).into_font()).map_err(|e| err(&e))?;
    for (panel, area) in panels.iter().zip(body.split_evenly((1, panels.len().max(1)))) {
        let finite = || panel.series.iter().flat_map(|s| s.points.iter()).filter(|(x, y)| x.is_finite() && y.is_finite());
        let (x0, x1) = finite().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &(x, _)| (a.min(x), b.max(x)));
        let (y0, y1) = finite().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &(_, y)| (a.min(y), b.max(y)));
        if !x0.is_finite() || !y0.is_finite() {
            area.titled(&format!("{}: no finite values", panel.title), ("sans-serif", 16).into_font()).map_err(|e| err(&e))?;
            continue;
        }
        let pad = ((y1 - y0) * 0.05).max(1e-9 * y1.abs().max(1.0));
        let mut chart = ChartBuilder::on(&area)
            .caption(&panel.title, ("sans-serif", 17).into_font())
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1.max(x0 + 1.0), (y0 - pad)..(y1 + pad))
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc(panel.x_label.as_str())
            .y_desc(panel.y_label.as_str())
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(|e| err(&e))?;
        for (k, s) in panel.series.iter().enumerate() {
            let colour = Palette99::pick(k).to_rgba();
            let points: Vec<(f64, f64)> = s.points.iter().copied().filter(|(x, y)| x.is_finite() && y.is_finite()).collect();
            chart
                .draw_series(LineSeries::new(points, colour.stroke_width(2)))
                .map_err(|e| err(&e))?
                .label(s.name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 13))
            .draw()
            .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_png() {
        let dir = std::env::temp_dir().join(format!("swapnas-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let s = [1.0, 2.0, f64::NAN, 4.0];
        let a = [10.0, 20.0, 30.0, 35.0];
        let panels = [ScatterPanel { proxy: "swap", scores: &s, accuracies: &a, spearman: 1.0 }];
        scatter(&dir.join("scatter"), "test", "accuracy (%)", &panels).unwrap();
        let bytes = std::fs::read(dir.join("scatter.png")).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        assert!(std::fs::read_to_string(dir.join("scatter.svg")).unwrap().contains("<svg"));
        let cells = vec![vec![0.9, f64::NAN], vec![-0.2, 0.5]];
        heatmap(&dir.join("heat"), "ρ", &["swap".into(), "nwot".into()], &["c10".into(), "c100".into()], &cells).unwrap();
        assert!(std::fs::read_to_string(dir.join("heat.svg")).unwrap().contains("0.90"));
        let bars = [Bar { label: "swap".into(), value: 0.8, interval: [0.7, 0.85] }];
        bar_chart(&dir.join("bars"), "ρ", "Spearman ρ", &bars).unwrap();
        assert_eq!(&std::fs::read(dir.join("bars.png")).unwrap()[1..4], b"PNG");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
