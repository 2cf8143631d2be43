//! The timeline chart, written as SVG by hand (exact control of where every label goes, so
//! the legend never covers data and every count is a whole number).
//!
//! Layout, top to bottom: title; two lines per incident (the headline, also in the
//! picture, not only in a tooltip); the legend of connection states; the "connection"
//! band; people checked per interval (stacked bars: served normally, served offline,
//! turned away) with its legend above the plot; the share turned away and served offline
//! (%) with its legend above the plot; the time axis in the office's zone. Incidents are
//! shaded across the three panels (`<g class="incident" data-incident="N">`).

use std::fmt::Write as _;

use andal::locale::{Language, format_date, format_time};
use andal::outage::{Incident, OutageReport, SeriesBucket};
use andal::resilience::BreakerState;

use crate::catalogue::{fill, text};
use crate::story::{number, parse_time, short_lines};
use crate::{RenderOptions, ReportError};

/// Width of the SVG, in pixels (its height depends on the number of incidents).
pub const WIDTH: u32 = 1000;
const L: f64 = 78.0;
const R: f64 = 980.0;
/// Incidents whose headline is written in the picture (the most recent ones).
const HEADLINES: usize = 3;
/// At most this many bars: longer series are grouped into wider intervals.
const MAX_BINS: u64 = 240;

const C_ONLINE: (&str, &str) = ("#2e7d32", "#81c784");
const C_OFFLINE: (&str, &str) = ("#1565c0", "#64b5f6");
const C_REFUSED: (&str, &str) = ("#c62828", "#e57373");
const C_INCIDENT: &str = "#ff9800";

fn phase_colour(s: BreakerState) -> &'static str {
    match s {
        BreakerState::Closed => "#66bb6a",
        BreakerState::HalfOpen => "#ffb300",
        BreakerState::Open => "#e53935",
        BreakerState::ForcedOpen => "#8e24aa",
        _ => "#9e9e9e",
    }
}

fn phase_key(s: BreakerState) -> &'static str {
    match s {
        BreakerState::Closed => "phase.closed",
        BreakerState::HalfOpen => "phase.half_open",
        BreakerState::Open => "phase.open",
        BreakerState::ForcedOpen => "phase.forced_open",
        _ => "phase.disabled",
    }
}

/// XML text escape.
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A rough width of `s` in pixels at `size` (sans-serif averages ~0.55 em per character):
/// enough to wrap legend rows, never used to place data.
fn text_width(s: &str, size: f64) -> f64 {
    s.chars().count() as f64 * size * 0.55
}

/// One interval of the chart: counts summed over `secs` seconds from `t`.
#[derive(Debug, Clone, Copy, Default)]
struct Bin {
    t: i64,
    online: u64,
    offline: u64,
    refused: u64,
}

impl Bin {
    fn total(&self) -> u64 {
        self.online + self.offline + self.refused
    }
}

/// The interval width: the smallest "round" number of seconds that keeps at most
/// [`MAX_BINS`] bars.
fn bin_seconds(window: u64) -> u64 {
    const STEPS: [u64; 14] = [
        1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200,
    ];
    STEPS
        .into_iter()
        .find(|s| window.div_ceil(*s) <= MAX_BINS)
        .unwrap_or_else(|| window.div_ceil(MAX_BINS).max(1))
}

fn bins(buckets: &[SeriesBucket], t0: i64, secs: u64) -> Vec<Bin> {
    let mut out: Vec<Bin> = Vec::new();
    for b in buckets {
        let start = t0 + (b.t - t0).div_euclid(secs as i64) * secs as i64;
        if out.last().is_none_or(|l| l.t != start) {
            out.push(Bin {
                t: start,
                ..Bin::default()
            });
        }
        let last = out.last_mut().expect("pushed");
        last.online += u64::from(b.online);
        last.offline += u64::from(b.offline);
        last.refused += u64::from(b.refused);
    }
    out
}

/// A "nice" whole-number axis: (step, top) with at most five steps.
fn count_axis(max: u64) -> (u64, u64) {
    let max = max.max(1);
    let mut step = 1u64;
    loop {
        for m in [1, 2, 5] {
            let s = step * m;
            if max.div_ceil(s) <= 5 {
                return (s, max.div_ceil(s) * s);
            }
        }
        step *= 10;
    }
}

fn time_step(window: f64) -> i64 {
    const STEPS: [i64; 16] = [
        1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
    ];
    STEPS
        .into_iter()
        .find(|s| window / (*s as f64) <= 8.0)
        .unwrap_or(43200)
}

fn bin_words(secs: u64, lang: Language) -> String {
    if secs.is_multiple_of(60) {
        let n = secs / 60;
        if n == 1 {
            return match lang {
                Language::Indonesian => "menit".into(),
                Language::English => "minute".into(),
            };
        }
        fill(lang, "bin.minutes", &[("n", &n.to_string())])
    } else if secs == 1 {
        match lang {
            Language::Indonesian => "detik".into(),
            Language::English => "second".into(),
        }
    } else {
        fill(lang, "bin.seconds", &[("n", &secs.to_string())])
    }
}

/// Renders the report as the SVG timeline in the given language and zone.
pub fn render(report: &OutageReport, opts: &RenderOptions) -> Result<String, ReportError> {
    let lang = opts.lang;
    let zone = opts.zone;
    let generated = parse_time(&report.generated_at)?;
    let gen_s = unix(generated);
    let mut spans: Vec<(f64, f64, &Incident)> = Vec::with_capacity(report.incidents.len());
    for i in &report.incidents {
        let a = unix(parse_time(&i.started_at)?);
        let b = match (&i.ended_at, i.ongoing) {
            (Some(e), false) => unix(parse_time(e)?),
            _ => gen_s.max(a),
        };
        spans.push((a, b, i));
    }
    let buckets = &report.series.buckets;
    let window = if let (Some(f), Some(l)) = (buckets.first(), buckets.last()) {
        Some((f.t as f64, l.t as f64 + 1.0))
    } else if !spans.is_empty() {
        let a = spans.iter().map(|s| s.0).fold(f64::INFINITY, f64::min);
        let b = spans.iter().map(|s| s.1).fold(f64::NEG_INFINITY, f64::max);
        Some((a.floor(), b.ceil().max(a.floor() + 1.0)))
    } else {
        None
    };

    let mut body = String::new();
    let mut y = 30.0;
    let title = fill(
        lang,
        "chart.title",
        &[("n", &number(report.totals.incidents, lang))],
    );
    let _ = write!(
        body,
        "\n<text class=\"chart-title\" x=\"{L}\" y=\"{y}\" font-size=\"18\" font-weight=\"bold\">{}</text>",
        esc(&title)
    );
    y += 8.0;
    // The headline of the most recent incidents, in the picture.
    let shown = report.incidents.len().saturating_sub(HEADLINES);
    for i in &report.incidents[shown..] {
        let [a, b] = short_lines(i, zone, lang)?;
        y += 20.0;
        let _ = write!(
            body,
            "\n<text class=\"headline\" data-incident=\"{}\" x=\"{L}\" y=\"{y}\" font-size=\"12.5\" font-weight=\"bold\">{}</text>",
            i.id.0,
            esc(&a)
        );
        y += 17.0;
        let _ = write!(
            body,
            "\n<text class=\"headline\" data-incident=\"{}\" x=\"{}\" y=\"{y}\" font-size=\"12.5\">{}</text>",
            i.id.0,
            L + 12.0,
            esc(&b)
        );
    }
    if shown > 0 {
        y += 18.0;
        let _ = write!(
            body,
            "\n<text x=\"{L}\" y=\"{y}\" font-size=\"12\">{}</text>",
            esc(&fill(
                lang,
                "chart.more",
                &[("n", &number(shown as u64, lang))]
            ))
        );
    }

    let Some((t0, t1)) = window else {
        y += 30.0;
        let _ = write!(
            body,
            "\n<text x=\"{L}\" y=\"{y}\" font-size=\"14\">{}</text>",
            esc(text(lang, "chart.nodata"))
        );
        return Ok(wrap(&title, &body, y + 20.0));
    };
    let width_s = (t1 - t0).max(1.0);
    let x_of = |t: f64| L + (t - t0).clamp(0.0, width_s) / width_s * (R - L);

    // Legend of the connection states that occur, and of the incident shading.
    let mut states: Vec<BreakerState> = Vec::new();
    for s in buckets
        .iter()
        .map(|b| b.breaker)
        .chain(buckets.is_empty().then_some(report.current.breaker))
    {
        if !states.contains(&s) {
            states.push(s);
        }
    }
    states.sort_by_key(|s| match s {
        BreakerState::Closed => 0,
        BreakerState::Open => 1,
        BreakerState::HalfOpen => 2,
        BreakerState::ForcedOpen => 3,
        _ => 4,
    });
    y += 28.0;
    let phase_label = format!("{}:", text(lang, "chart.phase"));
    let _ = write!(
        body,
        "\n<text x=\"{L}\" y=\"{}\" font-size=\"12\" font-weight=\"bold\">{}</text>",
        y + 10.5,
        esc(&phase_label)
    );
    let mut items: Vec<(String, &str, f64)> = states
        .iter()
        .map(|s| (text(lang, phase_key(*s)).to_owned(), phase_colour(*s), 1.0))
        .collect();
    items.push((text(lang, "legend.incident").to_owned(), C_INCIDENT, 0.35));
    y = legend_row(
        &mut body,
        y,
        L + text_width(&phase_label, 12.0) + 12.0,
        &items,
        "legend-phase",
    );

    // Incident labels above the band.
    y += 16.0;
    let label_y = y;
    y += 6.0;
    let band_top = y;
    let band_h = 26.0;
    // Connection band: runs of equal state.
    let mut runs: Vec<(f64, f64, BreakerState)> = Vec::new();
    for b in buckets {
        let a = b.t as f64;
        match runs.last_mut() {
            Some(r) if r.2 == b.breaker && (r.1 - a).abs() < 1e-9 => r.1 = a + 1.0,
            _ => runs.push((a, a + 1.0, b.breaker)),
        }
    }
    if runs.is_empty() {
        runs.push((t0, t1, report.current.breaker));
    }
    body.push_str("\n<g class=\"phases\">");
    for (a, b, s) in &runs {
        let (xa, xb) = (x_of(*a), x_of(*b));
        let _ = write!(
            body,
            "\n<rect x=\"{xa:.1}\" y=\"{band_top}\" width=\"{:.1}\" height=\"{band_h}\" fill=\"{}\"><title>{}</title></rect>",
            (xb - xa).max(0.5),
            phase_colour(*s),
            esc(text(lang, phase_key(*s)))
        );
    }
    body.push_str("\n</g>");
    let _ = write!(
        body,
        "\n<rect x=\"{L}\" y=\"{band_top}\" width=\"{}\" height=\"{band_h}\" fill=\"none\" stroke=\"#333\"/>",
        R - L
    );
    y = band_top + band_h;

    // People checked per interval, stacked bars.
    let secs = bin_seconds(width_s.ceil() as u64);
    let bins = bins(buckets, t0 as i64, secs);
    let max = bins.iter().map(Bin::total).max().unwrap_or(0);
    let (step, top) = count_axis(max);
    y += 30.0;
    let _ = write!(
        body,
        "\n<text x=\"{L}\" y=\"{y}\" font-size=\"13\" font-weight=\"bold\">{}</text>",
        esc(&fill(
            lang,
            "chart.people",
            &[("bin", &bin_words(secs, lang))]
        ))
    );
    y += 8.0;
    y = legend_row(
        &mut body,
        y,
        L,
        &[
            (text(lang, "legend.online").to_owned(), C_ONLINE.1, 1.0),
            (text(lang, "legend.offline").to_owned(), C_OFFLINE.1, 1.0),
            (text(lang, "legend.refused").to_owned(), C_REFUSED.1, 1.0),
        ],
        "legend-people",
    );
    y += 8.0;
    let people_top = y;
    let people_h = 170.0;
    let people_bottom = people_top + people_h;
    let y_count = |n: u64| people_bottom - n as f64 / top as f64 * people_h;
    body.push_str("\n<g class=\"axis\" font-size=\"11\">");
    let mut v = 0;
    while v <= top {
        let yy = y_count(v);
        let _ = write!(
            body,
            "\n<line x1=\"{L}\" y1=\"{yy:.1}\" x2=\"{R}\" y2=\"{yy:.1}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            L - 6.0,
            yy + 4.0,
            number(v, lang)
        );
        v += step;
    }
    body.push_str("\n</g>\n<g class=\"bars\">");
    let bar_w = (secs as f64 / width_s * (R - L)).max(0.6);
    for b in &bins {
        let x = x_of(b.t as f64);
        let w = bar_w.min(R - x);
        let mut base = 0u64;
        for (n, (line, fill_c)) in [
            (b.online, C_ONLINE),
            (b.offline, C_OFFLINE),
            (b.refused, C_REFUSED),
        ] {
            if n == 0 {
                continue;
            }
            let (ya, yb) = (y_count(base + n), y_count(base));
            let _ = write!(
                body,
                "\n<rect x=\"{x:.1}\" y=\"{ya:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{fill_c}\" stroke=\"{line}\" stroke-width=\"0.3\"/>",
                yb - ya
            );
            base += n;
        }
    }
    body.push_str("\n</g>");
    let _ = write!(
        body,
        "\n<line x1=\"{L}\" y1=\"{people_bottom}\" x2=\"{R}\" y2=\"{people_bottom}\" stroke=\"#333\"/>"
    );
    y = people_bottom;

    // Share turned away and served offline, percent.
    y += 34.0;
    let _ = write!(
        body,
        "\n<text x=\"{L}\" y=\"{y}\" font-size=\"13\" font-weight=\"bold\">{}</text>",
        esc(text(lang, "chart.share"))
    );
    y += 8.0;
    y = legend_row(
        &mut body,
        y,
        L,
        &[
            (
                text(lang, "legend.share_refused").to_owned(),
                C_REFUSED.0,
                1.0,
            ),
            (
                text(lang, "legend.share_offline").to_owned(),
                C_OFFLINE.0,
                1.0,
            ),
        ],
        "legend-share",
    );
    y += 8.0;
    let share_top = y;
    let share_h = 110.0;
    let share_bottom = share_top + share_h;
    let y_pct = |p: f64| share_bottom - p / 100.0 * share_h;
    body.push_str("\n<g class=\"axis\" font-size=\"11\">");
    for p in [0u64, 25, 50, 75, 100] {
        let yy = y_pct(p as f64);
        let _ = write!(
            body,
            "\n<line x1=\"{L}\" y1=\"{yy:.1}\" x2=\"{R}\" y2=\"{yy:.1}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{p} %</text>",
            L - 6.0,
            yy + 4.0
        );
    }
    body.push_str("\n</g>");
    for (class, colour, dash, f) in [
        (
            "share-refused",
            C_REFUSED.0,
            "",
            (|b: &Bin| b.refused) as fn(&Bin) -> u64,
        ),
        (
            "share-offline",
            C_OFFLINE.0,
            " stroke-dasharray=\"6 3\"",
            |b: &Bin| b.offline,
        ),
    ] {
        let mut d = String::new();
        let mut pen_down = false;
        for b in &bins {
            let total = b.total();
            if total == 0 {
                pen_down = false;
                continue;
            }
            let x = x_of(b.t as f64 + secs as f64 / 2.0);
            let yy = y_pct(100.0 * f(b) as f64 / total as f64);
            let _ = write!(d, "{}{x:.1},{yy:.1} ", if pen_down { "L" } else { "M" });
            pen_down = true;
        }
        if !d.is_empty() {
            let _ = write!(
                body,
                "\n<path class=\"{class}\" d=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"{dash}/>",
                d.trim_end()
            );
        }
    }
    let _ = write!(
        body,
        "\n<line x1=\"{L}\" y1=\"{share_bottom}\" x2=\"{R}\" y2=\"{share_bottom}\" stroke=\"#333\"/>"
    );
    y = share_bottom;

    // Incident shading over the three panels, labelled above the band.
    let mut shading = String::from("\n<g id=\"incidents\">");
    let mut label_end = f64::NEG_INFINITY;
    for (a, b, i) in &spans {
        if *b < t0 || *a > t1 {
            continue;
        }
        let (xa, xb) = (x_of(*a), x_of(*b));
        let w = (xb - xa).max(2.0);
        let tip = short_lines(i, zone, lang)?.join(" ");
        let _ = write!(
            shading,
            "\n<g class=\"incident\" data-incident=\"{}\"><title>{}</title>",
            i.id.0,
            esc(&tip)
        );
        for (top, bottom) in [
            (band_top, band_top + band_h),
            (people_top, people_bottom),
            (share_top, share_bottom),
        ] {
            let _ = write!(
                shading,
                "<rect x=\"{xa:.1}\" y=\"{top:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{C_INCIDENT}\" fill-opacity=\"0.16\" stroke=\"{C_INCIDENT}\" stroke-width=\"1\"/>",
                bottom - top
            );
        }
        // The label: the full name, or just the number when incidents sit close together
        // (labels never overlap; an incident with no room keeps its tooltip and headline).
        let full = fill(lang, "incident.name", &[("id", &i.id.0.to_string())]);
        let short = i.id.0.to_string();
        for name in [full, short] {
            let w = text_width(&name, 11.0);
            // Keep the label inside the picture when the incident is at the right edge.
            let lx = xa.min(R - w);
            if lx < label_end + 4.0 {
                continue;
            }
            label_end = lx + w;
            let _ = write!(
                shading,
                "<text x=\"{lx:.1}\" y=\"{label_y}\" font-size=\"11\" font-weight=\"bold\" fill=\"#b45f00\">{}</text>",
                esc(&name)
            );
            break;
        }
        shading.push_str("</g>");
    }
    shading.push_str("\n</g>");
    body.push_str(&shading);

    // Time axis in the office's zone.
    let step = time_step(width_s);
    let first =
        (t0 as i64).div_euclid(step) * step + if (t0 as i64) % step == 0 { 0 } else { step };
    body.push_str("\n<g class=\"time-axis\" font-size=\"11\">");
    let mut t = first;
    while (t as f64) <= t1 {
        let x = x_of(t as f64);
        let label = format_time(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(t.max(0) as u64),
            zone,
            lang,
            step < 60,
        );
        let label = label.trim_end_matches(zone.abbreviation()).trim_end();
        let anchor = if x > R - 30.0 { "end" } else { "middle" };
        let _ = write!(
            body,
            "\n<line x1=\"{x:.1}\" y1=\"{y}\" x2=\"{x:.1}\" y2=\"{}\" stroke=\"#333\"/><text x=\"{x:.1}\" y=\"{}\" text-anchor=\"{anchor}\">{}</text>",
            y + 4.0,
            y + 16.0,
            esc(label)
        );
        t += step;
    }
    body.push_str("\n</g>");
    y += 36.0;
    let start_time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(t0.max(0.0) as u64);
    let _ = write!(
        body,
        "\n<text class=\"axis-title\" x=\"{}\" y=\"{y}\" font-size=\"12\" text-anchor=\"middle\">{}</text>",
        (L + R) / 2.0,
        esc(&fill(
            lang,
            "chart.time",
            &[
                ("zone", zone.abbreviation()),
                ("date", &format_date(start_time, zone, lang))
            ]
        ))
    );
    if report.summarised.count > 0 {
        y += 20.0;
        let _ = write!(
            body,
            "\n<text x=\"{L}\" y=\"{y}\" font-size=\"12\">{}</text>",
            esc(&fill(
                lang,
                "chart.summarised",
                &[("n", &number(report.summarised.count, lang))]
            ))
        );
    }
    Ok(wrap(&title, &body, y + 16.0))
}

/// Writes a row of legend items (swatch + words) from `L`, wrapping at the right edge;
/// returns the y below the row. Legends sit in their own rows, never over a plot.
fn legend_row(
    body: &mut String,
    y: f64,
    from: f64,
    items: &[(String, &str, f64)],
    class: &str,
) -> f64 {
    let mut x = from;
    let mut row_y = y;
    let _ = write!(body, "\n<g class=\"legend {class}\" font-size=\"12\">");
    for (words, colour, opacity) in items {
        let w = 18.0 + text_width(words, 12.0) + 16.0;
        if x + w > R && x > from {
            x = from;
            row_y += 18.0;
        }
        let _ = write!(
            body,
            "<rect x=\"{x:.1}\" y=\"{row_y}\" width=\"12\" height=\"12\" fill=\"{colour}\" fill-opacity=\"{opacity}\" stroke=\"#555\" stroke-width=\"0.5\"/><text x=\"{:.1}\" y=\"{}\">{}</text>",
            x + 17.0,
            row_y + 10.5,
            esc(words)
        );
        x += w;
    }
    body.push_str("</g>");
    row_y + 12.0
}

fn wrap(title: &str, body: &str, height: f64) -> String {
    let h = height.ceil() as u32;
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"andal-timeline\" width=\"{WIDTH}\" height=\"{h}\" viewBox=\"0 0 {WIDTH} {h}\" role=\"img\" font-family=\"sans-serif\">\n<title>{}</title>\n<rect x=\"0\" y=\"0\" width=\"{WIDTH}\" height=\"{h}\" fill=\"#ffffff\"/>{body}\n</svg>\n",
        esc(title)
    )
}

fn unix(t: std::time::SystemTime) -> f64 {
    match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_are_whole_numbers() {
        assert_eq!(count_axis(0), (1, 1));
        assert_eq!(count_axis(3), (1, 3));
        assert_eq!(count_axis(7), (2, 8));
        assert_eq!(count_axis(23), (5, 25));
        assert_eq!(count_axis(480), (100, 500));
        assert_eq!(bin_seconds(100), 1);
        assert_eq!(bin_seconds(3600), 15);
        assert_eq!(time_step(100.0), 15);
    }
}
