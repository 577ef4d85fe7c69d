//! `seatbroker report`: a pool's W4 usage report through a running broker's API
//! (`GET /v1/pools/{pool}/usage`), printed as a table, CSV or JSON, and drawn with
//! `--chart FILE.svg` as peak seats in use against capacity, so an administrator sees at a
//! glance whether the pool needs more seats (with the `charts` feature, which the broker's
//! default build leaves out). The owner's token comes from `--token` or
//! `SEATBROKER_TOKEN`, or a login with `--email` and `SEATBROKER_PASSWORD`.

use std::path::PathBuf;
use std::process::ExitCode;

#[cfg(feature = "charts")]
use plotters::prelude::*;
use serde_json::{json, Value};

use clap::Args;

use super::broker::{block_on, call_broker, BrokerArgs};
use crate::settings::Settings;

/// What `seatbroker report` was asked.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// The pool (P-3F9-C21).
    #[arg(long)]
    pub pool: String,
    /// First bucket: a date (its start, UTC) or an RFC 3339 time; the broker's default
    /// (30 days, or 24 hours for hours) when absent.
    #[arg(long)]
    pub from: Option<String>,
    /// End, excluded: a date or an RFC 3339 time; now when absent.
    #[arg(long)]
    pub to: Option<String>,
    /// Bucket size.
    #[arg(long, default_value = "day", value_parser = ["hour", "day"])]
    pub bucket: String,
    /// Output format.
    #[arg(long, default_value = "table", value_parser = ["table", "csv", "json"])]
    pub format: String,
    /// Also draw peak seats in use against capacity into this SVG file.
    #[arg(long)]
    pub chart: Option<PathBuf>,
    /// The owner's token (or SEATBROKER_TOKEN).
    #[arg(long)]
    pub token: Option<String>,
    /// The owner's email, to log in with the password in SEATBROKER_PASSWORD.
    #[arg(long)]
    pub email: Option<String>,
    /// The broker and the settings.
    #[command(flatten)]
    pub broker: BrokerArgs,
}

/// One row of the report: the API's usage row, as the broker writes it.
pub use seatbroker_api::UsageRow as Row;

const COLUMNS: [&str; 9] = [
    "start",
    "peak_in_use",
    "capacity",
    "grants",
    "releases",
    "refusals",
    "expirations",
    "revocations",
    "distinct_accounts",
];

fn cells(row: &Row) -> [String; 9] {
    [
        row.start.clone(),
        row.peak_in_use.to_string(),
        row.capacity.to_string(),
        row.grants.to_string(),
        row.releases.to_string(),
        row.refusals.to_string(),
        row.expirations.to_string(),
        row.revocations.to_string(),
        row.distinct_accounts.to_string(),
    ]
}

/// The rows as CSV, with a header line.
pub fn csv(rows: &[Row]) -> String {
    let mut out = COLUMNS.join(",");
    out.push('\n');
    for row in rows {
        out.push_str(&cells(row).join(","));
        out.push('\n');
    }
    out
}

/// The rows as an aligned table, numbers right-aligned.
pub fn table(rows: &[Row]) -> String {
    let body: Vec<[String; 9]> = rows.iter().map(cells).collect();
    let widths: Vec<usize> = (0..COLUMNS.len())
        .map(|i| {
            body.iter()
                .map(|r| r[i].len())
                .chain([COLUMNS[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| -> String {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i == 0 {
                    format!("{c:<w$}", w = widths[i])
                } else {
                    format!("{c:>w$}", w = widths[i])
                }
            })
            .collect();
        parts.join("  ").trim_end().to_owned() + "\n"
    };
    let mut out = line(COLUMNS.to_vec());
    for r in &body {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

/// The chart: peak seats in use and capacity per bucket, as an SVG document.
#[cfg(feature = "charts")]
pub fn chart(rows: &[Row], title: &str) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, 480)).into_drawing_area();
        let draw = |e: DrawingAreaErrorKind<_>| format!("drawing the chart: {e}");
        root.fill(&WHITE).map_err(draw)?;
        let top = rows
            .iter()
            .map(|r| r.capacity.max(r.peak_in_use))
            .max()
            .unwrap_or(0)
            .max(1);
        let n = rows.len().max(1) as u32;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(56)
            .build_cartesian_2d(0u32..n, 0u32..top + top / 10 + 1)
            .map_err(draw)?;
        let label = |i: &u32| {
            rows.get(*i as usize)
                .map(|r| r.start.get(..16).unwrap_or(&r.start).replace('T', " "))
                .unwrap_or_default()
        };
        chart
            .configure_mesh()
            .x_labels(8)
            .x_label_formatter(&label)
            .y_desc("seats")
            .draw()
            .map_err(draw)?;
        let capacity = rows.iter().enumerate().map(|(i, r)| (i as u32, r.capacity));
        chart
            .draw_series(LineSeries::new(capacity, BLUE.stroke_width(2)))
            .map_err(draw)?
            .label("capacity")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
        let peak = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (i as u32, r.peak_in_use));
        chart
            .draw_series(LineSeries::new(peak, RED.stroke_width(2)))
            .map_err(draw)?
            .label("peak seats in use")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
        chart
            .configure_series_labels()
            .background_style(WHITE)
            .border_style(BLACK)
            .draw()
            .map_err(draw)?;
        root.present().map_err(draw)?;
    }
    Ok(svg)
}

/// A broker built without the `charts` feature draws no chart and says how to get one.
#[cfg(not(feature = "charts"))]
pub fn chart(_rows: &[Row], _title: &str) -> Result<String, String> {
    Err(
        "this seatbroker was built without charts: build it with `--features charts` \
         (cargo build --release --features charts) to use --chart"
            .to_owned(),
    )
}

/// Runs the command: 0 on success, 2 for a bad argument, 1 when the broker refused.
pub fn report(settings: &Settings, args: &ReportArgs) -> ExitCode {
    if !["table", "csv", "json"].contains(&args.format.as_str()) {
        eprintln!("seatbroker: --format must be table, csv or json");
        return ExitCode::from(2);
    }
    let token = args
        .token
        .clone()
        .or_else(|| std::env::var("SEATBROKER_TOKEN").ok());
    let password = std::env::var("SEATBROKER_PASSWORD").ok();
    if token.is_none() && (args.email.is_none() || password.is_none()) {
        eprintln!(
            "seatbroker: the pool owner's token is needed: --token or SEATBROKER_TOKEN, or --email with SEATBROKER_PASSWORD"
        );
        return ExitCode::from(2);
    }
    let base = args.broker.base(settings);
    let fetched = block_on(fetch(&base, args, token, password));
    let (rows, raw) = match fetched {
        Ok(found) => found,
        Err(message) => {
            eprintln!("seatbroker: {message}");
            return ExitCode::from(1);
        }
    };
    match args.format.as_str() {
        "csv" => print!("{}", csv(&rows)),
        "json" => println!(
            "{}",
            serde_json::to_string_pretty(&raw).unwrap_or_else(|_| raw.to_string())
        ),
        _ => print!("{}", table(&rows)),
    }
    if let Some(path) = &args.chart {
        let title = format!(
            "{}: peak seats in use against capacity, per {}",
            args.pool, args.bucket
        );
        let written = chart(&rows, &title).and_then(|svg| {
            std::fs::write(path, svg).map_err(|e| format!("cannot write {}: {e}", path.display()))
        });
        if let Err(message) = written {
            eprintln!("seatbroker: {message}");
            return ExitCode::from(1);
        }
        eprintln!("chart written to {}", path.display());
    }
    ExitCode::SUCCESS
}

async fn fetch(
    base: &str,
    args: &ReportArgs,
    token: Option<String>,
    password: Option<String>,
) -> Result<(Vec<Row>, Value), String> {
    let http = reqwest::Client::new();
    let token = match (token, &args.email, password) {
        (Some(token), _, _) => token,
        (None, Some(email), Some(password)) => {
            let login = http
                .post(format!("{base}/v1/auth/login"))
                .json(&json!({"email": email, "password": password}));
            let answer = call_broker(login, base).await?;
            answer["token"].as_str().unwrap_or_default().to_owned()
        }
        _ => return Err("no token".into()),
    };
    let mut query = vec![("bucket", args.bucket.clone())];
    if let Some(from) = &args.from {
        query.push(("from", from.clone()));
    }
    if let Some(to) = &args.to {
        query.push(("to", to.clone()));
    }
    let usage = http
        .get(format!("{base}/v1/pools/{}/usage", args.pool))
        .bearer_auth(token)
        .query(&query);
    let answer = call_broker(usage, base).await?;
    let rows: Vec<Row> = serde_json::from_value(answer.clone())
        .map_err(|e| format!("the broker's answer is not a usage report: {e}"))?;
    Ok((rows, answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(start: &str, peak: u32, capacity: u32) -> Row {
        Row {
            start: start.into(),
            peak_in_use: peak,
            capacity,
            grants: 12,
            releases: 3,
            refusals: 1,
            expirations: 0,
            revocations: 0,
            distinct_accounts: 7,
        }
    }

    #[test]
    fn w4_csv_has_a_header_and_one_line_per_bucket() {
        let text = csv(&[
            row("2027-03-01T00:00:00Z", 4, 5),
            row("2027-03-02T00:00:00Z", 5, 5),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], COLUMNS.join(","));
        assert_eq!(lines[1], "2027-03-01T00:00:00Z,4,5,12,3,1,0,0,7");
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn w4_the_table_aligns_its_columns() {
        let text = table(&[row("2027-03-01T00:00:00Z", 4, 15)]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("start"));
        assert_eq!(lines[0].find("capacity"), lines[0].find("capacity"));
        let end_of = |l: &str, col: &str| l.find(col).map(|i| i + col.len());
        // The capacity column ends where its header ends.
        let header_end = end_of(lines[0], "capacity").unwrap();
        assert_eq!(&lines[1][header_end - 2..header_end], "15");
    }

    #[test]
    #[cfg(feature = "charts")]
    fn w4_the_chart_draws_peak_and_capacity_as_svg() {
        let svg = chart(
            &[
                row("2027-03-01T00:00:00Z", 4, 5),
                row("2027-03-02T00:00:00Z", 5, 5),
            ],
            "P-000-001",
        )
        .expect("drawn");
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("peak seats in use") && svg.contains("capacity"));
        assert!(svg.contains("<polyline"), "two lines are drawn");
    }
}
