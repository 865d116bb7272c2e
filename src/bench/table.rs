//! The printed table: one row per figure with its baseline, the ratio between them and the
//! spread of the repetitions behind a timed figure.

use std::fmt::Write as _;

/// One line of the table.
#[derive(Debug, Clone)]
pub struct Row {
    /// `P1` … `P9`.
    pub id: &'static str,
    pub what: String,
    pub figure: String,
    pub baseline: String,
    /// How many times better the BFF is (baseline ÷ figure, or figure ÷ baseline for rates).
    pub ratio: String,
    /// Spread of the timed repetitions (`min–max (n=…)`), or `-`.
    pub spread: String,
}

impl Row {
    pub fn new(id: &'static str, what: impl Into<String>) -> Self {
        Self {
            id,
            what: what.into(),
            figure: String::new(),
            baseline: "-".into(),
            ratio: "-".into(),
            spread: "-".into(),
        }
    }

    pub fn figure(mut self, f: impl Into<String>) -> Self {
        self.figure = f.into();
        self
    }

    pub fn baseline(mut self, b: impl Into<String>) -> Self {
        self.baseline = b.into();
        self
    }

    pub fn ratio(mut self, r: f64) -> Self {
        self.ratio = format_ratio(r);
        self
    }

    pub fn spread(mut self, s: impl Into<String>) -> Self {
        self.spread = s.into();
        self
    }
}

pub fn format_ratio(r: f64) -> String {
    if !r.is_finite() {
        "-".into()
    } else if r >= 100.0 {
        format!("{r:.0}×")
    } else if r < 2.0 {
        // Near parity (P7's target is 0.9) one decimal hides what matters.
        format!("{r:.2}×")
    } else {
        format!("{r:.1}×")
    }
}

/// The rows as an aligned plain-text table (Markdown-compatible pipes).
pub fn render(rows: &[Row]) -> String {
    let header = ["fig", "what", "BFF", "baseline", "ratio", "spread (BFF / baseline)"];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.id.to_string(),
                r.what.clone(),
                r.figure.clone(),
                r.baseline.clone(),
                r.ratio.clone(),
                r.spread.clone(),
            ]
        })
        .collect();
    let width = |i: usize| {
        cells.iter().map(|c| c[i].chars().count()).chain([header[i].chars().count()]).max().unwrap_or(0)
    };
    let widths: Vec<usize> = (0..header.len()).map(width).collect();
    let line = |cols: &[String]| {
        let mut s = String::from("|");
        for (c, w) in cols.iter().zip(&widths) {
            let pad = w - c.chars().count();
            let _ = write!(s, " {c}{} |", " ".repeat(pad));
        }
        s.push('\n');
        s
    };
    let mut out = line(&header.map(String::from));
    out.push_str(&line(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>()));
    for c in &cells {
        out.push_str(&line(c));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_whatever_the_cell_widths() {
        let rows = vec![
            Row::new("P1", "cold start").figure("1.2 s").baseline("10.0 s").ratio(8.33),
            Row::new("P8", "rss").figure("40 MiB"),
        ];
        let text = render(&rows);
        let lens: Vec<usize> = text.lines().map(|l| l.chars().count()).collect();
        assert!(lens.windows(2).all(|w| w[0] == w[1]), "{text}");
        assert!(text.contains("| 8.3× "), "{text}");
    }
}
