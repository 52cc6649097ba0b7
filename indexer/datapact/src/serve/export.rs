//! `GET /export/<view>.csv` and `.parquet`: every list view, with the same filters as its page
//! (up to the page size limit per request; page with `after` like the page does).

use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use polars::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{agreements, anomalies, assets, audit, consents, forecasts};
use super::{ApiError, ApiResult, AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/export/{file}", get(export))
}

fn params<T: DeserializeOwned>(raw: &Option<String>) -> ApiResult<T> {
    serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::BadRequest(format!("bad query parameters: {e}")))
}

/// Rows of a view as JSON objects.
async fn rows(s: &AppState, view: &str, raw: &Option<String>) -> ApiResult<Vec<Value>> {
    let to = |v: Result<Value, serde_json::Error>| -> ApiResult<Vec<Value>> {
        match v.map_err(|e| ApiError::Internal(e.into()))? {
            Value::Array(a) => Ok(a),
            other => Ok(vec![other]),
        }
    };
    match view {
        "assets" => to(serde_json::to_value(
            assets::assets(&s.pool, &params(raw)?).await?,
        )),
        "agreements" => to(serde_json::to_value(
            agreements::agreements(&s.pool, &params(raw)?).await?,
        )),
        "consents" => to(serde_json::to_value(
            consents::consents(&s.pool, &params(raw)?).await?.consents,
        )),
        "anomalies" => to(serde_json::to_value(
            anomalies::anomalies(&s.pool, &params(raw)?).await?,
        )),
        "alerts" => to(serde_json::to_value(
            audit::alerts(&s.pool, &params(raw)?).await?,
        )),
        "forecasts" => to(serde_json::to_value(
            forecasts::export_rows(&s.pool, &params(raw)?).await?,
        )),
        other => Err(ApiError::NotFound(format!(
            "no export {other:?}: use assets, agreements, consents, anomalies, alerts or forecasts"
        ))),
    }
}

fn columns(rows: &[Value]) -> Vec<String> {
    rows.first()
        .and_then(Value::as_object)
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

fn cell(v: Option<&Value>) -> Option<String> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    }
}

/// RFC 4180 CSV with a header row.
pub fn to_csv(rows: &[Value]) -> String {
    let cols = columns(rows);
    let quote = |s: &str| {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let mut out = cols.iter().map(|c| quote(c)).collect::<Vec<_>>().join(",");
    out.push('\n');
    for r in rows {
        let line: Vec<String> = cols
            .iter()
            .map(|c| cell(r.get(c)).map(|s| quote(&s)).unwrap_or_default())
            .collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

/// Parquet: numbers as Float64 (Int64 when whole), booleans as Boolean, the rest as text.
pub fn to_parquet(rows: &[Value]) -> anyhow::Result<Vec<u8>> {
    let cols = columns(rows);
    let mut series = Vec::new();
    for c in &cols {
        let vals: Vec<Option<&Value>> = rows
            .iter()
            .map(|r| r.get(c).filter(|v| !v.is_null()))
            .collect();
        let name: PlSmallStr = c.as_str().into();
        let s = if vals.iter().flatten().all(|v| v.is_i64()) && vals.iter().any(Option::is_some) {
            Series::new(
                name,
                vals.iter()
                    .map(|v| v.and_then(Value::as_i64))
                    .collect::<Vec<_>>(),
            )
        } else if vals.iter().flatten().all(|v| v.is_number()) && vals.iter().any(Option::is_some) {
            Series::new(
                name,
                vals.iter()
                    .map(|v| v.and_then(Value::as_f64))
                    .collect::<Vec<_>>(),
            )
        } else if vals.iter().flatten().all(|v| v.is_boolean()) && vals.iter().any(Option::is_some)
        {
            Series::new(
                name,
                vals.iter()
                    .map(|v| v.and_then(Value::as_bool))
                    .collect::<Vec<_>>(),
            )
        } else {
            Series::new(name, vals.iter().map(|v| cell(*v)).collect::<Vec<_>>())
        };
        series.push(s.into_column());
    }
    let mut df = DataFrame::new(rows.len(), series)?;
    let mut buf = Vec::new();
    ParquetWriter::new(&mut buf).finish(&mut df)?;
    Ok(buf)
}

async fn export(
    State(s): State<AppState>,
    Path(file): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let (view, format) = file.rsplit_once('.').ok_or_else(|| {
        ApiError::NotFound(format!("{file:?}: ask for <view>.csv or <view>.parquet"))
    })?;
    let rows = rows(&s, view, &raw).await?;
    let disposition = format!("attachment; filename=\"{view}.{format}\"");
    match format {
        "csv" => Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            to_csv(&rows),
        )
            .into_response()),
        "parquet" => Ok((
            [
                (
                    header::CONTENT_TYPE,
                    "application/vnd.apache.parquet".to_string(),
                ),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            to_parquet(&rows)?,
        )
            .into_response()),
        other => Err(ApiError::NotFound(format!(
            "format {other:?}: use csv or parquet"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn csv_quotes_what_needs_quoting_and_leaves_nulls_empty() {
        let rows = vec![
            json!({"a": 1, "b": "x,y", "c": null}),
            json!({"a": 2, "b": "say \"hi\"", "c": true}),
        ];
        assert_eq!(
            to_csv(&rows),
            "a,b,c\n1,\"x,y\",\n2,\"say \"\"hi\"\"\",true\n"
        );
        assert_eq!(to_csv(&[]), "\n");
    }

    #[test]
    fn parquet_round_trips_types() {
        let rows = vec![
            json!({"id": 1, "score": 0.5, "ok": true, "who": "a", "tags": ["x"]}),
            json!({"id": 2, "score": null, "ok": false, "who": "b", "tags": []}),
        ];
        let bytes = to_parquet(&rows).unwrap();
        let df = ParquetReader::new(std::io::Cursor::new(bytes))
            .finish()
            .unwrap();
        assert_eq!(df.height(), 2);
        assert_eq!(df.column("id").unwrap().dtype(), &DataType::Int64);
        assert_eq!(df.column("score").unwrap().dtype(), &DataType::Float64);
        assert_eq!(df.column("ok").unwrap().dtype(), &DataType::Boolean);
        assert_eq!(
            df.column("tags").unwrap().str().unwrap().get(0),
            Some("[\"x\"]")
        );
    }
}
