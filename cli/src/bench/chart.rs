//! The per-stage breakdown as an SVG bar chart, written by hand: one horizontal bar per workload
//! run (adapter, size, stage), split into its engine stages. Bars of one workload share a
//! millisecond scale (adapters and sizes compare), each workload has its own (a merge of 8
//! frames would otherwise flatten a develop to nothing).

use std::fmt::Write;

/// One bar: its label and its parts (stage name, GPU ms).
pub struct Row {
    pub label: String,
    pub adapter: usize,
    pub stage: &'static str,
    pub steps: Vec<(String, f64)>,
}

const PALETTE: [&str; 16] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac", "#1f3b73", "#8cd17d", "#b6992d", "#d37295", "#499894", "#6b3f1d",
];

const LABEL_W: f64 = 300.0;
const BAR_W: f64 = 560.0;
const ROW_H: f64 = 26.0;
const HEAD_H: f64 = 24.0;
const TOP: f64 = 36.0;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn total(r: &Row) -> f64 {
    r.steps.iter().map(|s| s.1).sum()
}

pub fn svg(rows: &[Row]) -> String {
    // One colour per engine stage name, in order of first appearance.
    let mut names: Vec<&str> = Vec::new();
    for r in rows {
        for (n, _) in &r.steps {
            if !names.contains(&n.as_str()) {
                names.push(n);
            }
        }
    }
    let colour = |n: &str| PALETTE[names.iter().position(|m| *m == n).unwrap_or(0) % PALETTE.len()];
    // Workloads in order of first appearance, each with its longest bar.
    let mut groups: Vec<(&str, f64)> = Vec::new();
    for r in rows {
        match groups.iter_mut().find(|g| g.0 == r.stage) {
            Some(g) => g.1 = g.1.max(total(r)),
            None => groups.push((r.stage, total(r))),
        }
    }
    let legend_top = TOP + groups.len() as f64 * HEAD_H + rows.len() as f64 * ROW_H + 20.0;
    let height = legend_top + names.len() as f64 * 18.0 + 20.0;
    let width = LABEL_W + BAR_W + 120.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        s,
        r#"<text x="10" y="22" font-size="15">burstpipe bench: GPU ms per engine stage</text>"#
    );
    let mut y = TOP;
    for &(stage, max) in &groups {
        let _ = writeln!(
            s,
            r#"<text x="10" y="{:.1}" font-weight="bold">{stage} (full bar = {max:.1} ms)</text>"#,
            y + 16.0
        );
        y += HEAD_H;
        for r in rows.iter().filter(|r| r.stage == stage) {
            bar(&mut s, r, y, max.max(1e-9), &colour);
            y += ROW_H;
        }
    }
    for (i, n) in names.iter().enumerate() {
        let y = legend_top + i as f64 * 18.0;
        let _ = writeln!(
            s,
            r#"<rect x="10" y="{y:.1}" width="12" height="12" fill="{}"/><text x="28" y="{:.1}">{}</text>"#,
            colour(n),
            y + 10.5,
            escape(n)
        );
    }
    s.push_str("</svg>\n");
    s
}

/// One bar at height `y`, `max` ms long when full.
fn bar(s: &mut String, r: &Row, y: f64, max: f64, colour: &dyn Fn(&str) -> &'static str) {
    let _ = writeln!(
        s,
        r#"<g class="bar" data-adapter="{}" data-stage="{}"><text x="10" y="{:.1}">{}</text>"#,
        r.adapter,
        r.stage,
        y + 15.0,
        escape(&r.label)
    );
    let mut x = LABEL_W;
    for (name, ms) in &r.steps {
        let w = ms / max * BAR_W;
        let _ = writeln!(
            s,
            r#"  <rect class="step" data-step="{n}" x="{x:.2}" y="{y:.1}" width="{w:.2}" height="{:.1}" fill="{}"><title>{n}: {ms:.2} ms</title></rect>"#,
            ROW_H - 6.0,
            colour(name),
            n = escape(name),
        );
        x += w;
    }
    let _ = writeln!(
        s,
        r#"  <text x="{:.1}" y="{:.1}">{:.1} ms</text></g>"#,
        x + 6.0,
        y + 15.0,
        total(r)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bar_per_row_with_segments_proportional_to_time() {
        let rows = vec![
            Row {
                label: "a <0>".into(),
                adapter: 0,
                stage: "develop",
                steps: vec![("x".into(), 10.0), ("y & z".into(), 30.0)],
            },
            Row {
                label: "b".into(),
                adapter: 0,
                stage: "fuse",
                steps: vec![("x".into(), 20.0)],
            },
        ];
        let s = svg(&rows);
        assert_eq!(s.matches(r#"class="bar""#).count(), 2);
        assert_eq!(s.matches(r#"class="step""#).count(), 3);
        assert!(s.contains("a &lt;0&gt;") && s.contains("y &amp; z"));
        // Each workload has its scale: the develop bar (40 ms) spans the full 560 px, its 10 ms
        // part a quarter of it; the lone fuse bar (20 ms) spans it all too.
        assert!(s.contains(r#"data-step="x" x="300.00" y="60.0" width="140.00""#));
        assert!(s.contains(r#"width="420.00""#));
        assert!(s.contains(r#"data-step="x" x="300.00" y="110.0" width="560.00""#));
        assert!(s.contains("develop (full bar = 40.0 ms)"));
        assert!(s.contains("fuse (full bar = 20.0 ms)"));
    }
}
