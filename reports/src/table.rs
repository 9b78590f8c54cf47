//! The correlation table of one run: proxy × (ρ, τ, n, non-finite), as Markdown, CSV and JSON.

use crate::Correlation;
use anyhow::{Context, Result};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

/// One proxy's line.
#[derive(Debug, Clone, Serialize)]
pub struct TableRow {
    pub proxy: String,
    /// The proxy's settings string (what was computed).
    pub settings: String,
    #[serde(flatten)]
    pub correlation: Correlation,
    /// Mean wall time per architecture, seconds.
    pub seconds_per_arch: f64,
    /// Why the proxy was not run on this task (shown as "n/a"); `None` when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_applicable: Option<String>,
}

/// A titled table with the run's settings as header lines.
#[derive(Debug, Clone, Serialize)]
pub struct CorrelationTable {
    pub title: String,
    /// `key: value` lines describing the run (benchmark, task, accuracy column, sample, seed…).
    pub header: Vec<(String, String)>,
    pub rows: Vec<TableRow>,
}

const NAN_NOTE: &str = "ρ = Spearman (95% bootstrap interval over archs), τ = Kendall τ-b, r = Pearson, \
top-10% = share of the truly best 10% of archs that the proxy also ranks in its top 10%; all against the \
accuracy named above, p(ρ), p(τ) = two-sided p-values of no association (t-distribution with n − 2 df; \
normal approximation), sign as computed (higher score should mean higher accuracy; no abs). Best per column \
in bold. Non-finite scores (NaN/±inf) are kept, ranked below every finite score and tied with each other; \
the column says how many there were. r is over the finite scores alone; top-10% averages over ties at \
either cut-off.";

/// A number to 3 decimals, or `NaN`.
pub fn fmt3(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3}")
    } else {
        "NaN".to_string()
    }
}

/// A p-value: 3 significant digits, `<1e-16` below double precision's reach, or `NaN`.
pub fn fmt_p(p: f64) -> String {
    if !p.is_finite() {
        "NaN".to_string()
    } else if p < 1e-16 {
        "<1e-16".to_string()
    } else if p < 1e-3 {
        format!("{p:.2e}")
    } else {
        format!("{p:.3}")
    }
}

/// The largest finite value of a column (every row that reaches it is shown in bold).
fn best(values: impl Iterator<Item = f64>) -> Option<f64> {
    values.filter(|v| v.is_finite()).max_by(f64::total_cmp)
}

impl CorrelationTable {
    fn best_values(&self) -> [Option<f64>; 4] {
        let ran = || self.rows.iter().filter(|r| r.not_applicable.is_none());
        let col = |f: fn(&Correlation) -> f64| best(ran().map(|r| f(&r.correlation)));
        [col(|c| c.spearman), col(|c| c.kendall), col(|c| c.pearson), col(|c| c.top10_hit)]
    }

    pub fn to_markdown(&self) -> String {
        let mut s = format!("## {}\n\n", self.title);
        for (k, v) in &self.header {
            let _ = writeln!(s, "- **{k}**: {v}");
        }
        s.push_str("\n| proxy | ρ (Spearman) | 95% CI | p(ρ) | τ (Kendall) | p(τ) | r (Pearson) | top-10% | n | non-finite | s/arch | settings |\n");
        s.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
        let best = self.best_values();
        let bold = |col: usize, v: f64| {
            if v.is_finite() && best[col] == Some(v) {
                format!("**{}**", fmt3(v))
            } else {
                fmt3(v)
            }
        };
        for r in &self.rows {
            let c = &r.correlation;
            if let Some(why) = &r.not_applicable {
                let _ = writeln!(s, "| {} | n/a | | | | | | | | | | {why} |", r.proxy);
                continue;
            }
            let _ = writeln!(
                s,
                "| {} | {} | [{}, {}] | {} | {} | {} | {} | {} | {} | {} | {:.2} | {} |",
                r.proxy,
                bold(0, c.spearman),
                fmt3(c.spearman_ci[0]),
                fmt3(c.spearman_ci[1]),
                fmt_p(c.spearman_p),
                bold(1, c.kendall),
                fmt_p(c.kendall_p),
                bold(2, c.pearson),
                bold(3, c.top10_hit),
                c.n,
                c.non_finite,
                r.seconds_per_arch,
                r.settings
            );
        }
        let _ = write!(s, "\n{NAN_NOTE}\n");
        s
    }

    pub fn to_csv(&self) -> String {
        let mut s = String::from(
            "proxy,spearman,spearman_ci_lo,spearman_ci_hi,spearman_p,kendall,kendall_p,pearson,top10_hit,n,non_finite,dropped,seconds_per_arch,settings,not_applicable\n",
        );
        for r in &self.rows {
            let c = &r.correlation;
            let _ = writeln!(
                s,
                "{},{},{},{},{},{},{},{},{},{},{},{},{:.4},\"{}\",\"{}\"",
                r.proxy,
                c.spearman,
                c.spearman_ci[0],
                c.spearman_ci[1],
                c.spearman_p,
                c.kendall,
                c.kendall_p,
                c.pearson,
                c.top10_hit,
                c.n,
                c.non_finite,
                c.dropped,
                r.seconds_per_arch,
                r.settings.replace('"', "\"\""),
                r.not_applicable.as_deref().unwrap_or("").replace('"', "\"\"")
            );
        }
        s
    }

    /// A LaTeX table (booktabs), best per column in bold.
    pub fn to_latex(&self) -> String {
        let best = self.best_values();
        let cell = |col: usize, v: f64| {
            if v.is_finite() && best[col] == Some(v) {
                format!("\\textbf{{{}}}", fmt3(v))
            } else {
                fmt3(v)
            }
        };
        let mut s = String::from("\\begin{table}[t]\n\\centering\n");
        let _ = writeln!(s, "\\caption{{{}}}", latex_escape(&self.title));
        s.push_str("\\begin{tabular}{lrrrrrr}\n\\toprule\n");
        s.push_str("Proxy & $\\rho$ & 95\\% CI & $\\tau$ & $r$ & top-10\\% & $n$ \\\\\n\\midrule\n");
        for r in &self.rows {
            let c = &r.correlation;
            if r.not_applicable.is_some() {
                let _ = writeln!(s, "{} & n/a & & & & & \\\\", latex_escape(&r.proxy));
                continue;
            }
            let _ = writeln!(
                s,
                "{} & {} & [{}, {}] & {} & {} & {} & {} \\\\",
                latex_escape(&r.proxy),
                cell(0, c.spearman),
                fmt3(c.spearman_ci[0]),
                fmt3(c.spearman_ci[1]),
                cell(1, c.kendall),
                cell(2, c.pearson),
                cell(3, c.top10_hit),
                c.n
            );
        }
        s.push_str("\\bottomrule\n\\end{tabular}\n\\end{table}\n");
        s
    }

    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string_pretty(self)?)
    }

    /// Writes `<stem>.md`, `.csv`, `.json` and `.tex` into `dir`.
    pub fn write_all(&self, dir: &Path, stem: &str) -> Result<()> {
        write_atomic(&dir.join(format!("{stem}.md")), self.to_markdown().as_bytes())?;
        write_atomic(&dir.join(format!("{stem}.csv")), self.to_csv().as_bytes())?;
        write_atomic(&dir.join(format!("{stem}.json")), self.to_json()?.as_bytes())?;
        write_atomic(&dir.join(format!("{stem}.tex")), self.to_latex().as_bytes())
    }
}

/// Escapes LaTeX's special characters in plain text.
/// A CSV field: as it is when it needs no quoting (numbers stay numbers), else quoted with
/// inner quotes doubled (RFC 4180).
pub fn csv_field(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains([',', '"', '\n', '\r']) || text.starts_with(' ') || text.ends_with(' ') {
        format!("\"{}\"", text.replace('"', "\"\"")).into()
    } else {
        text.into()
    }
}

pub fn latex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '_' | '%' | '&' | '#' | '$' | '{' | '}' => {
                out.push('\\');
                out.push(ch);
            }
            '\\' => out.push_str("\\textbackslash{}"),
            _ => out.push(ch),
        }
    }
    out
}

/// Writes a file via a temporary sibling and a rename, so a reader never sees half of it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("{}.tmp", path.extension().and_then(|e| e.to_str()).unwrap_or("")));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot move {} into place", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_states_settings_and_nan_policy() {
        let t = CorrelationTable {
            title: "nb201 / cifar100".into(),
            header: vec![("archs".into(), "3".into())],
            rows: vec![TableRow {
                proxy: "swap".into(),
                settings: "B=16 R=32".into(),
                correlation: Correlation {
                    n: 3,
                    non_finite: 1,
                    dropped: 0,
                    spearman: 0.5,
                    kendall: f64::NAN,
                    pearson: 0.4,
                    spearman_ci: [0.1, 0.9],
                    spearman_p: 0.667,
                    kendall_p: f64::NAN,
                    top10_hit: 1.0,
                },
                seconds_per_arch: 1.0,
                not_applicable: None,
            }],
        };
        let md = t.to_markdown();
        assert!(md.contains("| swap | **0.500** | [0.100, 0.900] | 0.667 | NaN | NaN | **0.400** | **1.000** | 3 | 1 |"), "{md}");
        assert!(md.contains("ranked below every finite score"));
        assert!(t.to_csv().contains("swap,0.5,0.1,0.9,0.667,NaN,NaN,0.4,1,3,1,0"), "{}", t.to_csv());
        let mut na = t.clone();
        na.rows[0].not_applicable = Some("needs one class label per image".into());
        assert!(na.to_markdown().contains("| swap | n/a |"), "{}", na.to_markdown());
        assert!(na.to_csv().contains("\"needs one class label per image\""));
        let tex = t.to_latex();
        assert!(tex.contains("\\toprule") && tex.contains("swap & \\textbf{0.500}"), "{tex}");
        assert_eq!(latex_escape("reg_swap 10%"), "reg\\_swap 10\\%");
    }
}

/// Spearman ρ of every proxy (rows) on every benchmark task (columns), the paper-style
/// summary table; best per column in bold.
#[derive(Debug, Clone, Serialize)]
pub struct MatrixTable {
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<String>,
    /// `cells[row][col]`; `None` where the proxy was not run on that task.
    pub cells: Vec<Vec<Option<Correlation>>>,
}

impl MatrixTable {
    fn rho(&self, r: usize, c: usize) -> f64 {
        self.cells[r][c].map_or(f64::NAN, |x| x.spearman)
    }

    fn column_best(&self, c: usize) -> Option<f64> {
        best((0..self.rows.len()).map(|r| self.rho(r, c)))
    }

    /// ρ values as a dense matrix (NaN where missing), for the heatmap.
    pub fn rho_matrix(&self) -> Vec<Vec<f64>> {
        (0..self.rows.len()).map(|r| (0..self.columns.len()).map(|c| self.rho(r, c)).collect()).collect()
    }

    pub fn to_markdown(&self) -> String {
        let mut s = format!("## {}\n\n| proxy |", self.title);
        for c in &self.columns {
            let _ = write!(s, " {c} |");
        }
        s.push_str("\n|---|");
        s.push_str(&"---:|".repeat(self.columns.len()));
        s.push('\n');
        for (r, name) in self.rows.iter().enumerate() {
            let _ = write!(s, "| {name} |");
            for c in 0..self.columns.len() {
                let v = self.rho(r, c);
                let text = match self.cells[r][c] {
                    None => "—".to_string(),
                    Some(x) if v.is_finite() && self.column_best(c) == Some(v) => format!("**{}** (n={})", fmt3(v), x.n),
                    Some(x) => format!("{} (n={})", fmt3(v), x.n),
                };
                let _ = write!(s, " {text} |");
            }
            s.push('\n');
        }
        s
    }

    pub fn to_csv(&self) -> String {
        let mut s = String::from("proxy,task,spearman,spearman_ci_lo,spearman_ci_hi,kendall,pearson,top10_hit,n,non_finite\n");
        for (r, name) in self.rows.iter().enumerate() {
            for (c, col) in self.columns.iter().enumerate() {
                if let Some(x) = self.cells[r][c] {
                    let _ = writeln!(
                        s,
                        "{name},{col},{},{},{},{},{},{},{},{}",
                        x.spearman, x.spearman_ci[0], x.spearman_ci[1], x.kendall, x.pearson, x.top10_hit, x.n, x.non_finite
                    );
                }
            }
        }
        s
    }

    pub fn to_latex(&self) -> String {
        let mut s = String::from("\\begin{table}[t]\n\\centering\n");
        let _ = writeln!(s, "\\caption{{{}}}", latex_escape(&self.title));
        let _ = writeln!(s, "\\begin{{tabular}}{{l{}}}\n\\toprule", "r".repeat(self.columns.len()));
        s.push_str("Proxy");
        for c in &self.columns {
            let _ = write!(s, " & {}", latex_escape(c));
        }
        s.push_str(" \\\\\n\\midrule\n");
        for (r, name) in self.rows.iter().enumerate() {
            s.push_str(&latex_escape(name));
            for c in 0..self.columns.len() {
                let v = self.rho(r, c);
                let cell = match self.cells[r][c] {
                    None => "--".to_string(),
                    Some(_) if v.is_finite() && self.column_best(c) == Some(v) => format!("\\textbf{{{}}}", fmt3(v)),
                    Some(_) => fmt3(v),
                };
                let _ = write!(s, " & {cell}");
            }
            s.push_str(" \\\\\n");
        }
        s.push_str("\\bottomrule\n\\end{tabular}\n\\end{table}\n");
        s
    }

    /// Writes `<stem>.md`, `.csv`, `.json` and `.tex` into `dir`.
    pub fn write_all(&self, dir: &Path, stem: &str) -> Result<()> {
        write_atomic(&dir.join(format!("{stem}.md")), self.to_markdown().as_bytes())?;
        write_atomic(&dir.join(format!("{stem}.csv")), self.to_csv().as_bytes())?;
        write_atomic(&dir.join(format!("{stem}.json")), serde_json::to_string_pretty(self)?.as_bytes())?;
        write_atomic(&dir.join(format!("{stem}.tex")), self.to_latex().as_bytes())
    }
}

#[cfg(test)]
mod csv_tests {
    use super::csv_field;

    #[test]
    fn fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("63.76"), "63.76");
        assert_eq!(csv_field("|none~0|+|skip_connect~0|"), "|none~0|+|skip_connect~0|");
        assert_eq!(csv_field("(0, 2, 1)"), "\"(0, 2, 1)\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field(""), "");
    }
}
