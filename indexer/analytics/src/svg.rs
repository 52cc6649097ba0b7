//! Charts as inline SVG, drawn on the server: no script, no font or library fetched from
//! anywhere, so reports and dashboard pages work offline and print well.

use std::fmt::Write;

/// Escapes text for SVG and HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn fmt_num(v: f64) -> String {
    if v.abs() >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v.abs() >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// A histogram of `values` over `[lo, hi]` in `bins` bars.
pub fn histogram(title: &str, values: &[f64], lo: f64, hi: f64, bins: usize) -> String {
    let bins = bins.max(1);
    let mut counts = vec![0u64; bins];
    for v in values.iter().filter(|v| v.is_finite()) {
        let i = (((v - lo) / (hi - lo).max(1e-12)) * bins as f64).floor() as i64;
        counts[i.clamp(0, bins as i64 - 1) as usize] += 1;
    }
    let labels: Vec<String> = (0..bins)
        .map(|i| fmt_num(lo + (hi - lo) * i as f64 / bins as f64))
        .collect();
    bars(
        title,
        &labels,
        &counts.iter().map(|c| *c as f64).collect::<Vec<_>>(),
    )
}

/// A bar chart: one bar per label.
pub fn bars(title: &str, labels: &[String], values: &[f64]) -> String {
    let (w, h, pad_l, pad_b, pad_t) = CHART_FRAME;
    let max = values.iter().copied().fold(0.0, f64::max).max(1e-9);
    let n = values.len().max(1) as f64;
    let bw = (w - pad_l - 8.0) / n;
    let mut out = chart_open(title);
    let _ = write!(
        out,
        r#"<text x="4" y="{}" class="a">{}</text><text x="4" y="{}" class="a">0</text>"#,
        pad_t + 10.0,
        fmt_num(max),
        h - pad_b
    );
    let every = ((n / 10.0).ceil() as usize).max(1);
    for (i, v) in values.iter().enumerate() {
        let bh = (h - pad_b - pad_t) * v / max;
        let x = pad_l + i as f64 * bw;
        let _ = write!(
            out,
            r#"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{bh:.1}"><title>{}: {}</title></rect>"#,
            h - pad_b - bh,
            (bw - 1.0).max(1.0),
            esc(labels.get(i).map(String::as_str).unwrap_or("")),
            fmt_num(*v)
        );
        if i % every == 0 {
            let _ = write!(
                out,
                r#"<text x="{x:.1}" y="{}" class="a">{}</text>"#,
                h - pad_b + 14.0,
                esc(labels.get(i).map(String::as_str).unwrap_or(""))
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// A bar, line or band chart's width, height and left, bottom and top padding.
const CHART_FRAME: (f64, f64, f64, f64, f64) = (640.0, 220.0, 48.0, 36.0, 24.0);

/// A chart's opening: the frame's svg element, its accessible title and the visible one.
fn chart_open(title: &str) -> String {
    let (w, h, pad_l, _, _) = CHART_FRAME;
    format!(
        r#"<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{t}"><title>{t}</title><text x="{pad_l}" y="16" class="t">{t}</text>"#,
        t = esc(title)
    )
}

/// A line chart of (x, y) points; `x_label` formats the x axis ticks.
pub fn line(title: &str, points: &[(f64, f64)], x_label: &dyn Fn(f64) -> String) -> String {
    let (w, h, pad_l, pad_b, pad_t) = CHART_FRAME;
    let mut out = chart_open(title);
    if points.is_empty() {
        let _ = write!(
            out,
            r#"<text x="{pad_l}" y="{}" class="a">no data yet</text></svg>"#,
            h / 2.0
        );
        return out;
    }
    let (x0, x1) = points
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.0), b.max(p.0))
        });
    let y1 = points.iter().map(|p| p.1).fold(0.0, f64::max).max(1e-9);
    let sx = |x: f64| pad_l + (w - pad_l - 8.0) * (x - x0) / (x1 - x0).max(1e-9);
    let sy = |y: f64| h - pad_b - (h - pad_b - pad_t) * y / y1;
    let path: Vec<String> = points
        .iter()
        .map(|(x, y)| format!("{:.1},{:.1}", sx(*x), sy(*y)))
        .collect();
    let _ = write!(
        out,
        r#"<polyline fill="none" points="{}"/>"#,
        path.join(" ")
    );
    axes(&mut out, y1, (x0, x1), &sx, x_label);
    out
}

/// A line or band chart's labels: its top value and 0 on the y axis, four ticks on the x axis
/// (`sx` places x); closes the chart.
fn axes(
    out: &mut String,
    y1: f64,
    (x0, x1): (f64, f64),
    sx: &dyn Fn(f64) -> f64,
    x_label: &dyn Fn(f64) -> String,
) {
    let (w, h, _, pad_b, pad_t) = CHART_FRAME;
    let _ = write!(
        out,
        r#"<text x="4" y="{}" class="a">{}</text><text x="4" y="{}" class="a">0</text>"#,
        pad_t + 10.0,
        fmt_num(y1),
        h - pad_b
    );
    for k in 0..4 {
        let x = x0 + (x1 - x0) * k as f64 / 3.0;
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{}" class="a">{}</text>"#,
            sx(x).min(w - 90.0),
            h - pad_b + 14.0,
            esc(&x_label(x))
        );
    }
    out.push_str("</svg>");
}

/// History (x, y) and its forecast (x, point, lower, upper) on one chart: the history as a
/// line, the forecast dashed over its shaded interval.
pub fn band(
    title: &str,
    history: &[(f64, f64)],
    forecast: &[(f64, f64, f64, f64)],
    x_label: &dyn Fn(f64) -> String,
) -> String {
    let (w, h, pad_l, pad_b, pad_t) = CHART_FRAME;
    let mut out = chart_open(title);
    let xs = history
        .iter()
        .map(|p| p.0)
        .chain(forecast.iter().map(|p| p.0));
    let (x0, x1) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
        (a.min(x), b.max(x))
    });
    if !x0.is_finite() {
        let _ = write!(
            out,
            r#"<text x="{pad_l}" y="{}" class="a">no data yet</text></svg>"#,
            h / 2.0
        );
        return out;
    }
    let y1 = history
        .iter()
        .map(|p| p.1)
        .chain(forecast.iter().map(|p| p.3.max(p.1)))
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max)
        .max(1e-9);
    let sx = |x: f64| pad_l + (w - pad_l - 8.0) * (x - x0) / (x1 - x0).max(1e-9);
    let sy = |y: f64| h - pad_b - (h - pad_b - pad_t) * y.clamp(0.0, y1) / y1;
    let pts = |v: &mut dyn Iterator<Item = (f64, f64)>| -> String {
        v.map(|(x, y)| format!("{:.1},{:.1}", sx(x), sy(y)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    if !forecast.is_empty() {
        let upper = pts(&mut forecast.iter().map(|p| (p.0, p.3)));
        let lower = pts(&mut forecast.iter().rev().map(|p| (p.0, p.2)));
        let _ = write!(out, r#"<polygon class="band" points="{upper} {lower}"/>"#);
        let _ = write!(
            out,
            r#"<polyline class="fc" fill="none" points="{}"/>"#,
            pts(&mut forecast.iter().map(|p| (p.0, p.1)))
        );
    }
    let _ = write!(
        out,
        r#"<polyline fill="none" points="{}"/>"#,
        pts(&mut history.iter().copied())
    );
    axes(&mut out, y1, (x0, x1), &sx, x_label);
    out
}

/// A lineage graph: nodes in layers (roots left), edges parent -> child; `nodes` are
/// (id, label, score 0-100 or None), `edges` (parent id, child id).
pub fn lineage(nodes: &[(String, String, Option<f64>)], edges: &[(String, String)]) -> String {
    use std::collections::{BTreeMap, HashMap};
    let mut depth: HashMap<&str, usize> = nodes.iter().map(|n| (n.0.as_str(), 0)).collect();
    // longest path from a root, by relaxation (the graph is small and acyclic)
    for _ in 0..nodes.len() {
        let mut changed = false;
        for (p, c) in edges {
            let dp = depth.get(p.as_str()).copied().unwrap_or(0);
            if let Some(dc) = depth.get_mut(c.as_str()) {
                if *dc < dp + 1 {
                    *dc = dp + 1;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    type Node = (String, String, Option<f64>);
    let mut layers: BTreeMap<usize, Vec<&Node>> = BTreeMap::new();
    for n in nodes {
        layers
            .entry(depth.get(n.0.as_str()).copied().unwrap_or(0))
            .or_default()
            .push(n);
    }
    let tallest = layers.values().map(Vec::len).max().unwrap_or(1);
    let (cw, rh) = (170.0, 54.0);
    let w = 20.0 + cw * layers.len().max(1) as f64;
    let h = 20.0 + rh * tallest as f64;
    let mut pos: HashMap<&str, (f64, f64)> = HashMap::new();
    for (d, ns) in &layers {
        for (i, n) in ns.iter().enumerate() {
            pos.insert(n.0.as_str(), (10.0 + cw * *d as f64, 10.0 + rh * i as f64));
        }
    }
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg class="lineage" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="lineage graph"><title>lineage graph</title>"#
    );
    for (p, c) in edges {
        if let (Some(a), Some(b)) = (pos.get(p.as_str()), pos.get(c.as_str())) {
            let _ = write!(
                out,
                r#"<line x1="{:.0}" y1="{:.0}" x2="{:.0}" y2="{:.0}"/>"#,
                a.0 + 140.0,
                a.1 + 18.0,
                b.0,
                b.1 + 18.0
            );
        }
    }
    for (id, label, score) in nodes {
        let Some((x, y)) = pos.get(id.as_str()) else {
            continue;
        };
        let class = match score {
            Some(s) if *s >= 70.0 => "good",
            Some(s) if *s >= 45.0 => "fair",
            Some(_) => "poor",
            None => "none",
        };
        let s = score.map(|s| format!(" · {s:.0}")).unwrap_or_default();
        let _ = write!(
            out,
            r#"<g class="{class}"><rect x="{x:.0}" y="{y:.0}" width="140" height="36" rx="5"/><text x="{:.0}" y="{:.0}">{}{}</text></g>"#,
            x + 6.0,
            y + 22.0,
            esc(label),
            esc(&s)
        );
    }
    out.push_str("</svg>");
    out
}

/// The stylesheet the charts expect (also used by the dashboard).
pub const CHART_CSS: &str = "svg.chart{width:100%;max-width:640px;height:auto}\
svg.chart rect{fill:#4a7bd0}svg.chart polyline{stroke:#4a7bd0;stroke-width:2}\
svg.chart .t{font:600 13px sans-serif}svg.chart .a{font:10px sans-serif;fill:#555}\
svg.lineage{max-width:100%;height:auto}svg.lineage line{stroke:#888;stroke-width:1.5}\
svg.lineage text{font:12px sans-serif}svg.lineage rect{stroke:#333;stroke-width:1}\
svg.lineage .good rect{fill:#c9ecd0}svg.lineage .fair rect{fill:#fbeec1}\
svg.lineage .poor rect{fill:#f7c9c9}svg.lineage .none rect{fill:#eee}\
svg.chart polygon.band{fill:#f0a04b;opacity:.3;stroke:none}svg.chart polyline.fc{stroke:#c4620a;stroke-dasharray:5 3}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_escape_their_text_and_draw_one_bar_per_value() {
        let svg = bars("a<b", &["x".into(), "y".into()], &[1.0, 3.0]);
        assert!(svg.contains("a&lt;b"));
        assert_eq!(svg.matches("<rect").count(), 2);
        let h = histogram("scores", &[0.1, 0.15, 0.9, f64::NAN], 0.0, 1.0, 10);
        assert_eq!(h.matches("<rect").count(), 10);
        assert!(line("empty", &[], &|x| x.to_string()).contains("no data yet"));
    }

    #[test]
    fn a_lineage_graph_places_children_right_of_their_parents() {
        let nodes = vec![
            ("1@1".to_string(), "root".to_string(), Some(80.0)),
            ("2@1".to_string(), "child".to_string(), Some(30.0)),
        ];
        let svg = lineage(&nodes, &[("1@1".into(), "2@1".into())]);
        assert!(svg.contains(r#"class="good""#) && svg.contains(r#"class="poor""#));
        assert!(svg.contains(r#"<rect x="180""#), "{svg}");
    }
}
