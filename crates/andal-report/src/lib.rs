//! SVG timeline of an Andal outage record.
//!
//! [`render_timeline_svg`] draws an [`OutageReport`] as one self-contained SVG (no fonts,
//! scripts or external references), with panels sharing one time axis (UTC):
//!
//! 1. **breaker state** band: closed (green), half-open (amber), open (red), forced open
//!    (dark red), disabled (grey);
//! 2. **checks per second**, stacked: online, offline, refused;
//! 3. **offline share**: offline / (online + offline + refused) per second, in percent;
//!
//! and **incident spans** shaded across all panels, each an SVG
//! `<rect class="incident" data-incident="N">` with a `<title>` tooltip (when, how long,
//! top causes, what was served).
//!
//! The time axis is the report's series window; incidents outside it are not drawn (they
//! stay in the JSON and the text summary). With no series, the incidents' own span is
//! used; with neither, a small "no data" SVG is returned.
//!
//! Drawn with [`plotters`] (SVG backend only, no system fonts: text is written as SVG
//! `<text>` elements).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::fmt::Write as _;

use andal::outage::{Incident, OutageReport};
use andal::resilience::BreakerState;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Width of the SVG, in pixels.
pub const WIDTH: u32 = 1000;
/// Height of the SVG, in pixels.
pub const HEIGHT: u32 = 640;

const TITLE_H: u32 = 40;
const BAND_H: u32 = 70;
const OUTCOMES_H: u32 = 250;
const SHARE_H: u32 = 200;
const Y_LABEL_W: u32 = 60;
const MARGIN_R: u32 = 20;

const C_ONLINE: RGBColor = RGBColor(0x2e, 0x7d, 0x32);
const C_OFFLINE: RGBColor = RGBColor(0x15, 0x65, 0xc0);
const C_REFUSED: RGBColor = RGBColor(0xc6, 0x28, 0x28);
const F_ONLINE: RGBColor = RGBColor(0x81, 0xc7, 0x84);
const F_OFFLINE: RGBColor = RGBColor(0x64, 0xb5, 0xf6);
const F_REFUSED: RGBColor = RGBColor(0xe5, 0x73, 0x73);
const C_CLOSED: RGBColor = RGBColor(0x66, 0xbb, 0x6a);
const C_HALF_OPEN: RGBColor = RGBColor(0xff, 0xb3, 0x00);
const C_OPEN: RGBColor = RGBColor(0xe5, 0x39, 0x35);
const C_FORCED_OPEN: RGBColor = RGBColor(0x8e, 0x24, 0xaa);
const C_DISABLED: RGBColor = RGBColor(0x9e, 0x9e, 0x9e);
const C_INCIDENT: &str = "#ff9800";

/// Rendering failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The drawing backend failed.
    #[error("cannot draw the timeline: {0}")]
    Draw(String),
    /// A timestamp in the report is not RFC 3339.
    #[error("invalid timestamp in report: {0}")]
    Timestamp(String),
}

fn draw_err<E: std::fmt::Display>(e: E) -> ReportError {
    ReportError::Draw(e.to_string())
}

fn parse_ts(s: &str) -> Result<f64, ReportError> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|_| ReportError::Timestamp(s.to_owned()))?;
    Ok(t.unix_timestamp_nanos() as f64 / 1e9)
}

fn state_colour(s: BreakerState) -> RGBColor {
    match s {
        BreakerState::Closed => C_CLOSED,
        BreakerState::HalfOpen => C_HALF_OPEN,
        BreakerState::Open => C_OPEN,
        BreakerState::ForcedOpen => C_FORCED_OPEN,
        _ => C_DISABLED,
    }
}

fn hex(c: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An incident span on the time axis (seconds since `t0`).
struct Span<'a> {
    from: f64,
    to: f64,
    incident: &'a Incident,
}

/// Pixel geometry of the drawn panels, for the overlay.
struct Geometry {
    /// Pixel x of each span's start and end (clipped to the plot).
    spans: Vec<(i32, i32)>,
    top: i32,
    bottom: i32,
}

/// Renders the report as an SVG timeline. Never panics on an empty report.
pub fn render_timeline_svg(report: &OutageReport) -> Result<String, ReportError> {
    let buckets = &report.series.buckets;
    let generated = parse_ts(&report.generated_at)?;
    let mut raw_spans = Vec::with_capacity(report.incidents.len());
    for i in &report.incidents {
        let from = parse_ts(&i.started_at)?;
        let to = match &i.ended_at {
            Some(e) => parse_ts(e)?,
            None => generated.max(from),
        };
        raw_spans.push((from, to, i));
    }
    // The time window: the series, else the incidents.
    let (t0, t1) = if let (Some(first), Some(last)) = (buckets.first(), buckets.last()) {
        (first.t as f64, last.t as f64 + 1.0)
    } else if !raw_spans.is_empty() {
        let a = raw_spans.iter().map(|s| s.0).fold(f64::INFINITY, f64::min);
        let b = raw_spans
            .iter()
            .map(|s| s.1)
            .fold(f64::NEG_INFINITY, f64::max);
        (a, b.max(a + 1.0))
    } else {
        return Ok(empty_svg(report));
    };
    let spans: Vec<Span<'_>> = raw_spans
        .into_iter()
        .filter(|(a, b, _)| *b >= t0 && *a <= t1)
        .map(|(a, b, i)| Span {
            from: a.max(t0) - t0,
            to: b.min(t1) - t0,
            incident: i,
        })
        .collect();

    let mut svg = String::new();
    let geometry = {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let g = draw_panels(&root, report, &spans, t0, t1 - t0)?;
        root.present().map_err(draw_err)?;
        g
    };
    Ok(add_overlay(svg, report, &spans, &geometry))
}

fn time_label(t0: f64, x: f64) -> String {
    let secs = (t0 + x).floor() as i64;
    match time::OffsetDateTime::from_unix_timestamp(secs) {
        Ok(t) => format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second()),
        Err(_) => format!("{x:.0}s"),
    }
}

fn draw_panels<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    report: &OutageReport,
    spans: &[Span<'_>],
    t0: f64,
    width_s: f64,
) -> Result<Geometry, ReportError> {
    let buckets = &report.series.buckets;
    let (title, rest) = root.split_vertically(TITLE_H);
    let (band_area, rest) = rest.split_vertically(BAND_H);
    let (outcomes_area, rest) = rest.split_vertically(OUTCOMES_H);
    let (share_area, _legend_area) = rest.split_vertically(SHARE_H);

    let heading = format!(
        "Outage record: {} incident(s), generated {}",
        report.totals.incidents, report.generated_at
    );
    title
        .draw(&Text::new(
            heading,
            (Y_LABEL_W as i32, 12),
            ("sans-serif", 18).into_font().color(&BLACK),
        ))
        .map_err(draw_err)?;

    let fmt = |x: &f64| time_label(t0, *x);

    // 1. Breaker state band.
    let mut band = ChartBuilder::on(&band_area)
        .margin_right(MARGIN_R)
        .y_label_area_size(Y_LABEL_W)
        .x_label_area_size(0)
        .caption("breaker state", ("sans-serif", 13))
        .build_cartesian_2d(0f64..width_s, 0f64..1f64)
        .map_err(draw_err)?;
    let mut runs: Vec<(f64, f64, BreakerState)> = Vec::new();
    for b in buckets {
        let x = (b.t as f64) - t0;
        match runs.last_mut() {
            Some(r) if r.2 == b.breaker && (r.1 - x).abs() < 1e-9 => r.1 = x + 1.0,
            _ => runs.push((x, x + 1.0, b.breaker)),
        }
    }
    if runs.is_empty() {
        runs.push((0.0, width_s, report.current.breaker));
    }
    band.draw_series(
        runs.iter()
            .map(|(a, b, s)| Rectangle::new([(*a, 0.0), (*b, 1.0)], state_colour(*s).filled())),
    )
    .map_err(draw_err)?;
    band.plotting_area()
        .draw(&Rectangle::new(
            [(0.0, 0.0), (width_s, 1.0)],
            BLACK.stroke_width(1),
        ))
        .map_err(draw_err)?;

    // 2. Checks per second, stacked.
    let max_total = buckets
        .iter()
        .map(|b| b.online + b.offline + b.refused)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let mut outcomes = ChartBuilder::on(&outcomes_area)
        .margin_right(MARGIN_R)
        .y_label_area_size(Y_LABEL_W)
        .x_label_area_size(25)
        .caption("checks per second", ("sans-serif", 13))
        .build_cartesian_2d(0f64..width_s, 0f64..(max_total * 1.1))
        .map_err(draw_err)?;
    outcomes
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .x_labels(8)
        .y_labels(5)
        .x_label_formatter(&fmt)
        .y_desc("checks/s")
        .draw()
        .map_err(draw_err)?;
    // Step shape: each bucket is flat over its second.
    let steps = |f: &dyn Fn(&andal::outage::SeriesBucket) -> u32| -> Vec<(f64, f64)> {
        let mut v = Vec::with_capacity(buckets.len() * 2);
        for b in buckets {
            let x = b.t as f64 - t0;
            let y = f(b) as f64;
            v.push((x, y));
            v.push((x + 1.0, y));
        }
        v
    };
    // Drawn tallest first, opaque, so the layers stack without blending.
    type Layer<'a> = (&'a str, RGBColor, RGBColor, Vec<(f64, f64)>);
    let layers: [Layer<'_>; 3] = [
        (
            "refused",
            C_REFUSED,
            F_REFUSED,
            steps(&|b| b.online + b.offline + b.refused),
        ),
        (
            "offline",
            C_OFFLINE,
            F_OFFLINE,
            steps(&|b| b.online + b.offline),
        ),
        ("online", C_ONLINE, F_ONLINE, steps(&|b| b.online)),
    ];
    for (name, line, colour, points) in layers {
        outcomes
            .draw_series(AreaSeries::new(points, 0.0, colour).border_style(line))
            .map_err(draw_err)?
            .label(name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled()));
    }
    outcomes
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 12))
        .draw()
        .map_err(draw_err)?;

    // 3. Offline share.
    let mut share = ChartBuilder::on(&share_area)
        .margin_right(MARGIN_R)
        .y_label_area_size(Y_LABEL_W)
        .x_label_area_size(25)
        .caption("offline share of checks (%)", ("sans-serif", 13))
        .build_cartesian_2d(0f64..width_s, 0f64..100f64)
        .map_err(draw_err)?;
    share
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .x_labels(8)
        .y_labels(5)
        .x_label_formatter(&fmt)
        .y_desc("% offline")
        .draw()
        .map_err(draw_err)?;
    let pts: Vec<(f64, f64)> = buckets
        .iter()
        .filter_map(|b| {
            let total = b.online + b.offline + b.refused;
            (total > 0).then(|| {
                (
                    b.t as f64 - t0 + 0.5,
                    100.0 * b.offline as f64 / total as f64,
                )
            })
        })
        .collect();
    share
        .draw_series(LineSeries::new(pts, C_OFFLINE.stroke_width(2)))
        .map_err(draw_err)?;

    let top = band.backend_coord(&(0.0, 1.0)).1;
    let bottom = share.backend_coord(&(0.0, 0.0)).1;
    let spans = spans
        .iter()
        .map(|s| {
            let a = outcomes.backend_coord(&(s.from, 0.0)).0;
            let b = outcomes.backend_coord(&(s.to, 0.0)).0;
            (a, b.max(a + 1))
        })
        .collect();
    Ok(Geometry { spans, top, bottom })
}

/// Adds, behind the plotters drawing, a white background and the incident rectangles
/// (with tooltips), and, on top, the breaker-state legend.
fn add_overlay(svg: String, report: &OutageReport, spans: &[Span<'_>], g: &Geometry) -> String {
    let mut under = String::new();
    let _ = write!(
        under,
        "\n<rect x=\"0\" y=\"0\" width=\"{WIDTH}\" height=\"{HEIGHT}\" fill=\"#ffffff\"/>\n<g id=\"incidents\">"
    );
    for (s, (x0, x1)) in spans.iter().zip(&g.spans) {
        let i = s.incident;
        let mut causes: Vec<(&String, &u64)> = i.causes.iter().collect();
        causes.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let why: Vec<String> = causes
            .iter()
            .take(3)
            .map(|(k, n)| format!("{k} x{n}"))
            .collect();
        let tip = format!(
            "Incident {}: {} to {} ({} ms){}; why: {}; served {} online, {} offline, {} refused",
            i.id,
            i.started_at,
            i.ended_at.as_deref().unwrap_or("now"),
            i.duration_ms,
            if i.ongoing { ", ongoing" } else { "" },
            if why.is_empty() {
                "no failed attempt recorded".into()
            } else {
                why.join(", ")
            },
            i.checks.online,
            i.checks.offline,
            i.checks.refused
        );
        let _ = write!(
            under,
            "\n<rect class=\"incident\" data-incident=\"{}\" x=\"{x0}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{C_INCIDENT}\" fill-opacity=\"0.18\" stroke=\"{C_INCIDENT}\" stroke-width=\"1\"><title>{}</title></rect>",
            i.id.0,
            g.top,
            x1 - x0,
            g.bottom - g.top,
            esc(&tip)
        );
    }
    under.push_str("\n</g>");

    let mut legend =
        String::from("\n<g id=\"legend\" font-family=\"sans-serif\" font-size=\"12\">");
    let y = (TITLE_H + BAND_H + OUTCOMES_H + SHARE_H + 25) as i32;
    let mut x = Y_LABEL_W as i32;
    let items: [(&str, String); 6] = [
        ("closed", hex(C_CLOSED)),
        ("half-open", hex(C_HALF_OPEN)),
        ("open", hex(C_OPEN)),
        ("forced open", hex(C_FORCED_OPEN)),
        ("disabled", hex(C_DISABLED)),
        ("incident", C_INCIDENT.to_owned()),
    ];
    let _ = write!(legend, "\n<text x=\"{x}\" y=\"{}\">breaker:</text>", y + 10);
    x += 60;
    for (name, colour) in items {
        let opacity = if name == "incident" { "0.35" } else { "1" };
        let _ = write!(
            legend,
            "\n<rect x=\"{x}\" y=\"{y}\" width=\"12\" height=\"12\" fill=\"{colour}\" fill-opacity=\"{opacity}\"/><text x=\"{}\" y=\"{}\">{}</text>",
            x + 16,
            y + 10,
            esc(name)
        );
        x += 24 + 8 * name.len() as i32;
    }
    if report.summarised.count > 0 {
        let _ = write!(
            legend,
            "\n<text x=\"{}\" y=\"{}\">{} earlier incident(s) summarised, not drawn</text>",
            Y_LABEL_W,
            y + 34,
            report.summarised.count
        );
    }
    legend.push_str("\n</g>\n");

    // Insert `under` right after the opening <svg ...> tag and the legend before </svg>.
    let open_end = svg
        .find("<svg")
        .and_then(|i| svg[i..].find('>').map(|j| i + j + 1))
        .unwrap_or(0);
    let close = svg.rfind("</svg>").unwrap_or(svg.len());
    let mut out = String::with_capacity(svg.len() + under.len() + legend.len() + 64);
    out.push_str(&svg[..open_end]);
    out.push_str(&under);
    out.push_str(&svg[open_end..close]);
    out.push_str(&legend);
    out.push_str(&svg[close..]);
    if !out.contains("</svg>") {
        out.push_str("</svg>\n");
    }
    out
}

fn empty_svg(report: &OutageReport) -> String {
    format!(
        "<svg width=\"{w}\" height=\"120\" viewBox=\"0 0 {w} 120\" xmlns=\"http://www.w3.org/2000/svg\">\n<rect x=\"0\" y=\"0\" width=\"{w}\" height=\"120\" fill=\"#ffffff\"/>\n<text x=\"20\" y=\"40\" font-family=\"sans-serif\" font-size=\"18\">Outage record: no data yet</text>\n<text x=\"20\" y=\"70\" font-family=\"sans-serif\" font-size=\"12\">generated {g}; breaker {b}</text>\n</svg>\n",
        w = WIDTH,
        g = esc(&report.generated_at),
        b = match report.current.breaker {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half-open",
            BreakerState::ForcedOpen => "forced open",
            _ => "disabled",
        }
    )
}
