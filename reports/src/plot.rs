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

/// Draws the panels side by side (up to 3 per row) into a PNG at `path`.
pub fn scatter_png(path: &Path, title: &str, accuracy_label: &str, panels: &[ScatterPanel]) -> Result<()> {
    register_fonts();
    let cols = panels.len().clamp(1, 3);
    let rows = panels.len().div_ceil(cols).max(1);
    let size = ((cols * 480) as u32, (rows * 400 + 50) as u32);
    let root = BitMapBackend::new(path, size).into_drawing_area();
    let err = |e: &dyn std::fmt::Display| anyhow!("cannot draw {}: {e}", path.display());
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
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 2, BLUE.mix(0.5).filled())))
            .map_err(|e| err(&e))?;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_png() {
        let dir = std::env::temp_dir().join(format!("swapnas-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("scatter.png");
        let s = [1.0, 2.0, f64::NAN, 4.0];
        let a = [10.0, 20.0, 30.0, 35.0];
        let panels = [ScatterPanel { proxy: "swap", scores: &s, accuracies: &a, spearman: 1.0 }];
        scatter_png(&path, "test", "accuracy (%)", &panels).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
