//! The outage page: one self-contained HTML file (inline CSS and SVG; no script, font,
//! image or style loaded from anywhere, enforced by its Content-Security-Policy) that an
//! office can print or show on a screen.
//!
//! Every number a person reads about an incident is also in a `data-field` attribute with
//! its raw value (`<strong data-field="offline" data-value="120">120</strong>` inside
//! `<article class="incident" data-incident="1">`), so a test can compare the page with
//! the report JSON.

use std::fmt::Write as _;

use andal::locale::{Language, format_datetime, format_duration};
use andal::outage::{Incident, OutageReport};
use andal::resilience::BreakerState;

use crate::catalogue::{fill, text};
use crate::story::{capitalise, causes_sentence, number, parse_time, tell_times};
use crate::svg::esc;
use crate::{RenderOptions, ReportError};

const CSS: &str = r#"
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;color:#1a1a1a;background:#fff;line-height:1.5}
main{max-width:62rem;margin:0 auto;padding:1.5rem 1rem 3rem}
h1{font-size:1.7rem;margin:0 0 .25rem}
h2{font-size:1.25rem;margin:2rem 0 .75rem;border-bottom:2px solid #e0e0e0;padding-bottom:.25rem}
h3{font-size:1.1rem;margin:0 0 .5rem;display:flex;flex-wrap:wrap;gap:.5rem;align-items:baseline}
p{margin:.35rem 0}
.meta{color:#555}
.now{padding:.75rem 1rem;border-radius:.4rem;background:#e8f5e9;border-left:.35rem solid #2e7d32;font-weight:600}
.now.ongoing{background:#ffebee;border-left-color:#c62828}
.now.recovering{background:#fff8e1;border-left-color:#ffb300}
.incident{border:1px solid #ddd;border-radius:.4rem;padding:1rem;margin:0 0 1rem;break-inside:avoid}
.badge{font-size:.8rem;font-weight:600;padding:.1rem .5rem;border-radius:1rem;background:#e8f5e9;color:#1b5e20}
.badge.ongoing{background:#ffebee;color:#b71c1c}
.numbers{display:grid;grid-template-columns:repeat(auto-fit,minmax(9rem,1fr));gap:.5rem;margin:.75rem 0 0;padding:0;list-style:none}
.numbers li{background:#f5f5f5;border-radius:.3rem;padding:.4rem .6rem;overflow-wrap:anywhere}
.numbers .n{display:block;font-size:1.35rem;font-weight:700}
.numbers .refused .n{color:#b71c1c}.numbers .offline .n{color:#0d47a1}
figure{margin:0}
figure svg{display:block;width:100%;height:auto;max-width:100%}
figcaption{color:#555;font-size:.9rem;margin-top:.5rem}
dl.glossary dt{font-weight:600;margin-top:.5rem}
dl.glossary dd{margin:0}
footer{margin-top:2rem;color:#666;font-size:.85rem}
@media print{main{max-width:none;padding:0}h2{break-after:avoid}.now,.badge,.numbers li{-webkit-print-color-adjust:exact;print-color-adjust:exact}figure{break-inside:avoid}}
"#;

fn field(name: &str, value: u64, lang: Language) -> String {
    format!(
        "<strong data-field=\"{name}\" data-value=\"{value}\">{}</strong>",
        number(value, lang)
    )
}

/// Renders the page.
pub fn render(report: &OutageReport, opts: &RenderOptions) -> Result<String, ReportError> {
    let lang = opts.lang;
    let zone = opts.zone;
    let generated = parse_time(&report.generated_at)?;
    let since = parse_time(&report.recording_since)?;
    let t = |k| esc(text(lang, k));
    let mut h = String::with_capacity(32 * 1024);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n<h1>{}</h1>\n",
        lang.tag(),
        t("page.title"),
        t("page.title")
    );
    let _ = writeln!(
        h,
        "<p class=\"meta\" id=\"generated\">{}</p>",
        esc(&fill(
            lang,
            "page.generated",
            &[
                ("when", &format_datetime(generated, zone, lang)),
                ("since", &format_datetime(since, zone, lang)),
            ]
        ))
    );

    // The state now.
    let open = report
        .current
        .open_incident
        .and_then(|id| report.incidents.iter().find(|i| i.id == id));
    let (class, words) = match open {
        None => ("normal", text(lang, "now.normal").to_owned()),
        Some(i) => {
            let key = if matches!(report.current.breaker, BreakerState::HalfOpen) {
                "now.recovering"
            } else {
                "now.ongoing"
            };
            let told = tell_times(i, zone, lang)?;
            (
                if key == "now.recovering" {
                    "recovering"
                } else {
                    "ongoing"
                },
                fill(
                    lang,
                    key,
                    &[
                        ("id", &i.id.0.to_string()),
                        ("since", &told.start_text),
                        ("duration", &told.duration_text),
                    ],
                ),
            )
        }
    };
    let _ = writeln!(
        h,
        "<h2>{}</h2>\n<p class=\"now {class}\" id=\"now\" data-state=\"{class}\">{}</p>",
        t("now.heading"),
        esc(&words)
    );

    // Incidents, most recent first (the one a reader came for).
    let _ = writeln!(h, "<h2>{}</h2>", t("incidents.heading"));
    if report.incidents.is_empty() {
        let _ = writeln!(h, "<p class=\"none\">{}</p>", t("incidents.none"));
    }
    for i in report.incidents.iter().rev() {
        incident(&mut h, i, opts)?;
    }

    // The chart.
    let svg = crate::svg::render(report, opts)?;
    let _ = write!(
        h,
        "<h2>{}</h2>\n<figure>\n{}<figcaption>{}</figcaption>\n</figure>\n",
        t("chart.heading"),
        svg,
        t("chart.caption")
    );

    // Totals.
    let tot = &report.totals;
    let _ = writeln!(
        h,
        "<h2>{}</h2>\n<p id=\"totals\">{}</p>",
        t("totals.heading"),
        esc(&fill(
            lang,
            "totals.text",
            &[
                ("incidents", &number(tot.incidents, lang)),
                ("duration", &format_duration(tot.incident_time_ms, lang)),
                ("online", &number(tot.checks.online, lang)),
                ("offline", &number(tot.checks.offline, lang)),
                ("refused", &number(tot.checks.refused, lang)),
            ]
        ))
    );
    let m = &report.summarised;
    if m.count > 0 {
        let when = |s: &Option<String>| {
            s.as_deref()
                .and_then(andal::locale::parse_rfc3339)
                .map(|t| format_datetime(t, zone, lang))
                .unwrap_or_else(|| "?".into())
        };
        let _ = writeln!(
            h,
            "<p id=\"summarised\">{}</p>",
            esc(&fill(
                lang,
                "totals.summarised",
                &[
                    ("n", &number(m.count, lang)),
                    ("from", &when(&m.first_started_at)),
                    ("to", &when(&m.last_ended_at)),
                    ("offline", &number(m.checks.offline, lang)),
                    ("refused", &number(m.checks.refused, lang)),
                    ("confirmed", &number(m.reconciliation.confirmed, lang)),
                    ("contradicted", &number(m.reconciliation.contradicted, lang)),
                ]
            ))
        );
    }

    // What the words mean.
    let _ = write!(
        h,
        "<h2>{}</h2>\n<dl class=\"glossary\">\n",
        t("glossary.heading")
    );
    for k in [
        "glossary.offline",
        "glossary.refused",
        "glossary.recon",
        "glossary.pause",
    ] {
        let s = text(lang, k);
        let (term, def) = s.split_once(':').unwrap_or((s, ""));
        let _ = writeln!(h, "<dt>{}</dt><dd>{}</dd>", esc(term), esc(def.trim()));
    }
    let _ = write!(
        h,
        "</dl>\n<footer>{}</footer>\n</main>\n</body>\n</html>\n",
        t("footer")
    );
    Ok(h)
}

fn incident(h: &mut String, i: &Incident, opts: &RenderOptions) -> Result<(), ReportError> {
    let lang = opts.lang;
    let told = tell_times(i, opts.zone, lang)?;
    let (badge_class, badge) = if i.ongoing {
        ("badge ongoing", text(lang, "incident.badge.ongoing"))
    } else {
        ("badge", text(lang, "incident.badge.ended"))
    };
    let _ = write!(
        h,
        "<article class=\"incident\" data-incident=\"{}\" data-ongoing=\"{}\">\n<h3><span>{}</span> <span class=\"{badge_class}\">{}</span></h3>\n",
        i.id.0,
        i.ongoing,
        esc(&fill(lang, "incident.name", &[("id", &i.id.0.to_string())])),
        esc(badge)
    );
    let when = match &told.end_text {
        Some(end) => fill(
            lang,
            "incident.when.ended",
            &[
                ("start", &told.start_text),
                ("end", end),
                ("duration", &told.duration_text),
            ],
        ),
        None => fill(
            lang,
            "incident.when.ongoing",
            &[
                ("start", &told.start_text),
                ("duration", &told.duration_text),
            ],
        ),
    };
    let what = match causes_sentence(&i.causes, lang) {
        Some(c) => fill(lang, "incident.what", &[("causes", &c)]),
        None => text(lang, "incident.what.none").to_owned(),
    };
    // Numbers are filled as markers first, then escaped text is split around them, so the
    // catalogue sentence stays whole and every number carries its raw value.
    let people = fill(
        lang,
        "incident.people",
        &[
            ("offline", "\u{1}offline\u{1}"),
            ("refused", "\u{1}refused\u{1}"),
            ("online", "\u{1}online\u{1}"),
        ],
    );
    let c = &i.checks;
    let r = &i.reconciliation;
    let with_fields = |s: &str| -> String {
        let mut out = String::new();
        for (n, part) in s.split('\u{1}').enumerate() {
            if n % 2 == 0 {
                out.push_str(&esc(part));
            } else {
                let v = match part {
                    "offline" => c.offline,
                    "refused" => c.refused,
                    "online" => c.online,
                    "confirmed" => r.confirmed,
                    "contradicted" => r.contradicted,
                    _ => r.unreconciled,
                };
                out.push_str(&field(part, v, lang));
            }
        }
        out
    };
    let recon = if c.offline == 0 && r.confirmed + r.contradicted == 0 {
        esc(text(lang, "incident.recon.none"))
    } else {
        with_fields(&fill(
            lang,
            "incident.recon",
            &[
                ("confirmed", "\u{1}confirmed\u{1}"),
                ("contradicted", "\u{1}contradicted\u{1}"),
                ("unreconciled", "\u{1}unreconciled\u{1}"),
            ],
        ))
    };
    let _ = write!(
        h,
        "<p class=\"when\" data-started-at=\"{}\">{}</p>\n<p class=\"what\">{}</p>\n<p class=\"people\">{}</p>\n<p class=\"recon\">{}</p>\n",
        esc(&i.started_at),
        esc(&when),
        esc(&capitalise(&what)),
        with_fields(&people),
        recon
    );
    let _ = writeln!(h, "<ul class=\"numbers\">");
    for (name, value) in [
        ("offline", c.offline),
        ("refused", c.refused),
        ("confirmed", r.confirmed),
        ("contradicted", r.contradicted),
    ] {
        let _ = writeln!(
            h,
            "<li class=\"{name}\"><span class=\"n\" data-value=\"{value}\">{}</span>{}</li>",
            number(value, lang),
            esc(text(lang, &format!("field.{name}")))
        );
    }
    let _ = writeln!(
        h,
        "<li class=\"duration\"><span class=\"n\" data-value=\"{}\">{}</span>{}</li>\n</ul>\n</article>",
        i.duration_ms,
        esc(&told.duration_text),
        esc(text(lang, "field.duration"))
    );
    Ok(())
}
