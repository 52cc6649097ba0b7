//! What every page shares: the frame and its style, links to actors and transactions, and how
//! values are shown.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::AppState;

pub const CSS: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}\
header{background:#1d2a44;color:#fff;padding:10px 24px;display:flex;gap:18px;align-items:center}\
header a{color:#dfe7ff;text-decoration:none}header a:hover{text-decoration:underline}header b{margin-right:12px}\
main{padding:18px 24px;max-width:1200px}table{border-collapse:collapse;width:100%;background:#fff;margin:10px 0}\
th,td{border-bottom:1px solid #e3e6ea;padding:5px 8px;text-align:left;vertical-align:top;font-size:13px}\
th{background:#eef1f5}code,.mono{font-family:ui-monospace,monospace;font-size:12px}\
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{background:#fff;border:1px solid #e3e6ea;padding:10px 14px;min-width:130px}\
.card b{display:block;font-size:20px}.sev-critical,.sev-high{color:#b00020;font-weight:600}.sev-medium{color:#b35c00}\
.note{background:#fff8e1;border:1px solid #f0d98c;padding:10px 14px;margin:10px 0}\
.ok{color:#17803d;font-weight:600}.bad{color:#b00020;font-weight:600}form.filters{margin:8px 0}\
form.filters input,form.filters select{margin-right:8px}a.export{margin-right:10px}";

/// A long value shortened for a table cell: its first 10 and last 6 characters (characters,
/// not bytes: chain data can hold any text).
pub fn short(s: &str) -> String {
    let n = s.chars().count();
    if n > 20 {
        let head: String = s.chars().take(10).collect();
        let tail: String = s.chars().skip(n - 6).collect();
        format!("{head}…{tail}")
    } else {
        s.to_string()
    }
}

pub fn layout(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // no favicon request: the page needs nothing but itself
                link rel="icon" href="data:,";
                title { (title) " · datapact" }
                style { (PreEscaped(CSS)) (PreEscaped(datapact_analytics::svg::CHART_CSS)) }
            }
            body {
                header {
                    b { "datapact" }
                    a href="/" { "Overview" }
                    a href="/assets" { "Assets" }
                    a href="/agreements" { "Agreements" }
                    a href="/consents" { "Consents" }
                    a href="/anomalies" { "Anomalies" }
                    a href="/audit" { "Audit trail" }
                    a href="/forecasts" { "Forecasts" }
                    a href="/runs" { "Runs" }
                }
                main { h1 { (title) } (body) }
            }
        }
    }
}

pub fn actor_link(a: &str) -> Markup {
    html! { a.mono href={ "/actors/" (a) } title=(a) { (short(a)) } }
}

pub fn tx_link(h: &Option<String>) -> Markup {
    match h {
        Some(h) => html! { a.mono href={ "/tx/" (h) } title=(h) { (short(h)) } },
        None => html! { "—" },
    }
}

pub fn opt_f(v: Option<f64>, digits: usize) -> String {
    v.map(|x| format!("{x:.digits$}"))
        .unwrap_or_else(|| "—".into())
}

pub fn time_label(t: f64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t as i64)
        .map(|d| {
            format!(
                "{:02}-{:02} {:02}:{:02}:{:02}",
                d.month() as u8,
                d.day(),
                d.hour(),
                d.minute(),
                d.second()
            )
        })
        .unwrap_or_default()
}

/// The chain's head, asked with a short timeout (the page must not hang on a slow node).
pub async fn chain_head(s: &AppState) -> Option<u64> {
    let chain = s.chain.as_ref()?;
    tokio::time::timeout(std::time::Duration::from_secs(2), chain.latest_height())
        .await
        .ok()?
        .ok()
}

/// Links to a list's CSV, Parquet and JSON twins.
pub fn export_links(view: &str, query: &str) -> Markup {
    html! {
        p {
            a.export href={ "/export/" (view) ".csv?" (query) } download { "Export CSV" }
            a.export href={ "/export/" (view) ".parquet?" (query) } download { "Export Parquet" }
            a.export href={ "/api/" (view) "?" (query) } { "JSON" }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_value_is_shortened_on_character_boundaries() {
        assert_eq!(short("wasm1short"), "wasm1short");
        let addr = "wasm1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq";
        assert_eq!(short(addr), "wasm1qqqqq…qqqqqq");
        // multi-byte characters at both cut points: slicing bytes here would panic
        let s = "ééééééééééééééééééééééééé€€€";
        assert_eq!(short(s), "éééééééééé…ééé€€€");
        assert_eq!(short(""), "");
    }
}
