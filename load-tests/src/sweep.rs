//! `sweep`: raises the offered rate step by step (open loop, hot-pool) against the broker
//! and the null broker, and draws take-seat p50 and p99 against the throughput reached as an
//! SVG (plotters' SVG backend). A side's sweep ends at the last rate or once it reaches
//! less than 80 % of what was offered (it is saturated; further steps only queue). With
//! `--client-counts` it sweeps clients instead (closed loop) over the broker, the null
//! broker and, with `--peer`, the Redis-semaphore peer, and draws pairs per second against
//! clients.

use std::path::Path;
use std::time::Duration;

use plotters::prelude::*;
use serde::Serialize;

use crate::compare::Target;
use crate::runner::{drive, prepare, RunConfig, RunError};

/// One step of a sweep.
#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize, PartialEq)]
pub struct Point {
    /// Offered pairs per second.
    pub offered: f64,
    /// Reached pairs per second.
    pub reached: f64,
    /// Take-seat p50, ms (from when each request was due).
    pub p50_ms: f64,
    /// Take-seat p99, ms.
    pub p99_ms: f64,
    /// Invariant violations in this step.
    pub violations: u64,
}

/// The offered rates of a sweep: `steps` rates evenly from `from` to `to`.
pub fn rates(from: f64, to: f64, steps: usize) -> Vec<f64> {
    let steps = steps.max(1);
    if steps == 1 {
        return vec![from];
    }
    (0..steps)
        .map(|i| from + (to - from) * i as f64 / (steps - 1) as f64)
        .collect()
}

/// Sweeps `target` (alone) over `rates`, `step` each, after one setup.
pub async fn sweep_target(
    config: &RunConfig,
    target: &Target,
    rates: &[f64],
    step: Duration,
) -> Result<Vec<Point>, RunError> {
    let mut config = config.clone();
    config.url = target.url.clone();
    config.more_targets.clear();
    let prepared = prepare(config).await?;
    let mut points = Vec::new();
    for &rate in rates {
        let report = drive(&prepared, Some(rate), step).await;
        let point = Point {
            offered: rate,
            reached: report.pairs_per_s,
            p50_ms: report.p50_ms,
            p99_ms: report.p99_ms,
            violations: report.violation_count,
        };
        points.push(point);
        if point.reached < 0.8 * rate {
            break;
        }
    }
    Ok(points)
}

/// Draws p50 and p99 against reached throughput for each named series into `path` (SVG).
pub fn draw(path: &Path, title: &str, series: &[(&str, &[Point])]) -> Result<(), String> {
    let max_x = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|p| p.reached))
        .fold(1.0f64, f64::max)
        * 1.05;
    let max_y = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|p| p.p99_ms))
        .fold(1.0f64, f64::max)
        * 1.1;
    let root = SVGBackend::new(path, (900, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..max_x, 0f64..max_y)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("pairs per second reached")
        .y_desc("take-seat latency, ms")
        .draw()
        .map_err(|e| e.to_string())?;
    let colours = [BLUE, RED, GREEN, MAGENTA];
    for (i, (name, points)) in series.iter().enumerate() {
        let colour = colours[i % colours.len()];
        for (label, dashed, value) in [
            ("p50", false, (|p: &Point| p.p50_ms) as fn(&Point) -> f64),
            ("p99", true, |p: &Point| p.p99_ms),
        ] {
            let data: Vec<(f64, f64)> = points.iter().map(|p| (p.reached, value(p))).collect();
            let style = if dashed {
                colour.mix(0.6).stroke_width(2)
            } else {
                colour.stroke_width(2)
            };
            line(&mut chart, data, style, colour, format!("{name} {label}"))?;
        }
    }
    finish(&mut chart, &root, SeriesLabelPosition::UpperLeft)
}

/// The chart type both drawings use: two `f64` axes on an SVG.
type Chart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// One series: its line in `style`, a dot at each point, and its legend entry.
fn line(
    chart: &mut Chart<'_, '_>,
    data: Vec<(f64, f64)>,
    style: ShapeStyle,
    colour: RGBColor,
    label: String,
) -> Result<(), String> {
    chart
        .draw_series(LineSeries::new(data.clone(), style))
        .map_err(|e| e.to_string())?
        .label(label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
    chart
        .draw_series(
            data.iter()
                .map(|&(x, y)| Circle::new((x, y), 3, colour.filled())),
        )
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Draws the legend at `position` and writes the file.
fn finish<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    root: &DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    position: SeriesLabelPosition,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .position(position)
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

/// One client count of a clients sweep: what one server reached there, closed loop.
#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize, PartialEq)]
pub struct ClientsPoint {
    /// Logical clients, each with one request in flight.
    pub clients: usize,
    /// Take + close pairs per second reached.
    pub pairs_per_s: f64,
    /// Take-seat p99, ms.
    pub p99_ms: f64,
    /// Invariant violations at this count.
    pub violations: u64,
}

/// Sweeps every target over `counts` clients, closed loop: at each count the targets take
/// turns (a fresh setup, `warmup` unmeasured, then `step` measured), so each count's
/// figures come from the same minute of the machine. One list of points per target.
pub async fn sweep_clients(
    config: &RunConfig,
    targets: &[Target],
    counts: &[usize],
    warmup: Duration,
    step: Duration,
) -> Result<Vec<Vec<ClientsPoint>>, RunError> {
    let mut all = vec![Vec::new(); targets.len()];
    for &clients in counts {
        for (target, points) in targets.iter().zip(all.iter_mut()) {
            let mut config = config.clone();
            config.url = target.url.clone();
            config.more_targets.clear();
            config.knobs.clients = clients;
            config.connections = None;
            let prepared = prepare(config).await?;
            if !warmup.is_zero() {
                drive(&prepared, None, warmup).await;
            }
            let report = drive(&prepared, None, step).await;
            points.push(ClientsPoint {
                clients,
                pairs_per_s: report.pairs_per_s,
                p99_ms: report.p99_ms,
                violations: report.violation_count,
            });
        }
    }
    Ok(all)
}

/// Draws pairs per second against clients (doubling steps evenly spaced) for each named
/// series into `path` (SVG).
pub fn draw_clients(
    path: &Path,
    title: &str,
    series: &[(&str, &[ClientsPoint])],
) -> Result<(), String> {
    // The x axis is log2 of the clients, labelled with the counts themselves.
    let x = |p: &ClientsPoint| (p.clients.max(1) as f64).log2();
    let points = || series.iter().flat_map(|(_, p)| p.iter());
    let min_x = points().map(x).fold(f64::MAX, f64::min);
    let max_x = points().map(x).fold(0.0f64, f64::max);
    let min_x = if min_x > max_x { 0.0 } else { min_x };
    let max_y = points().map(|p| p.pairs_per_s).fold(1.0f64, f64::max) * 1.1;
    let root = SVGBackend::new(path, (900, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(min_x - 0.25..max_x + 0.25, 0f64..max_y)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_labels((max_x - min_x).round() as usize + 1)
        .x_label_formatter(&|v| format!("{:.0}", 2f64.powf(*v)))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .light_line_style(WHITE)
        .x_desc("clients (closed loop, one request in flight each)")
        .y_desc("take + close pairs per second")
        .draw()
        .map_err(|e| e.to_string())?;
    let colours = [BLUE, RED, GREEN, MAGENTA];
    for (i, (name, points)) in series.iter().enumerate() {
        let colour = colours[i % colours.len()];
        let data: Vec<(f64, f64)> = points.iter().map(|p| (x(p), p.pairs_per_s)).collect();
        line(
            &mut chart,
            data,
            colour.stroke_width(2),
            colour,
            (*name).to_owned(),
        )?;
    }
    finish(&mut chart, &root, SeriesLabelPosition::LowerRight)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_evenly_spread_and_the_svg_is_drawn() {
        assert_eq!(rates(1000.0, 3000.0, 3), vec![1000.0, 2000.0, 3000.0]);
        assert_eq!(rates(5.0, 9.0, 1), vec![5.0]);
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("s.svg");
        let p = |x: f64, l: f64| Point {
            offered: x,
            reached: x,
            p50_ms: l,
            p99_ms: l * 3.0,
            violations: 0,
        };
        let a = [p(100.0, 1.0), p(200.0, 2.0)];
        let b = [p(100.0, 0.5), p(300.0, 1.0)];
        draw(&path, "test", &[("broker", &a), ("null broker", &b)]).expect("drawn");
        let svg = std::fs::read_to_string(&path).expect("svg");
        assert!(svg.starts_with("<svg") && svg.contains("null broker p99"));
        let c = |clients: usize, rate: f64| ClientsPoint {
            clients,
            pairs_per_s: rate,
            p99_ms: 1.0,
            violations: 0,
        };
        let broker = [c(16, 5_000.0), c(256, 12_000.0)];
        let peer = [c(16, 4_000.0), c(256, 11_000.0)];
        let clients = dir.path().join("c.svg");
        draw_clients(&clients, "test", &[("broker", &broker), ("peer", &peer)]).expect("drawn");
        let svg = std::fs::read_to_string(&clients).expect("svg");
        assert!(svg.starts_with("<svg") && svg.contains("peer") && svg.contains("clients"));
    }
}
