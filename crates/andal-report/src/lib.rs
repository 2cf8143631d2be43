//! What an Andal outage record says, for people and for other systems.
//!
//! * [`render_page`]: one self-contained HTML page (inline CSS and SVG, no script, font or
//!   anything fetched) with a plain-words headline per incident: when it began and ended,
//!   how long, what failed, how many people were served offline or turned away, and what
//!   reconciliation later confirmed or contradicted; then the timeline chart.
//! * [`render_timeline_svg_with`]: the timeline chart alone, headlines in the picture.
//! * [`status_document`]: a small versioned JSON for status pages and monitoring.
//!
//! Words come from one catalogue per language (Bahasa Indonesia by default, English);
//! times are written in the office's zone (WIB, WITA, WIT) the Indonesian way
//! (`29 November 2026, 16.15 WIB`).
//!
//! ```
//! use std::sync::Arc;
//! use andal::locale::{Language, OfficeZone};
//! use andal::outage::{CheckOutcome, OutageConfig, OutageRecorder};
//! use andal::resilience::{ManualClock, SharedClock};
//! use andal_report::{RenderOptions, render_page};
//!
//! let clock: SharedClock = Arc::new(ManualClock::new());
//! let rec = OutageRecorder::new(clock, OutageConfig::default());
//! rec.record_check(CheckOutcome::Refused);
//! let page = render_page(&rec.report(), &RenderOptions::new(Language::Indonesian, OfficeZone::Wita))?;
//! assert!(page.contains("Gangguan 1"));
//! assert!(page.contains("WITA"));
//! # Ok::<(), andal_report::ReportError>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod catalogue;
mod html;
pub mod status;
pub mod story;
mod svg;

use andal::locale::{Language, OfficeZone};
use andal::outage::OutageReport;

pub use status::{STATUS_VERSION, StatusDocument, status_document};
pub use svg::WIDTH;

/// Rendering failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// A timestamp in the report is not RFC 3339.
    #[error("invalid timestamp in report: {0}")]
    Timestamp(String),
}

/// Language and office time zone of the words on the page and in the SVG.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RenderOptions {
    /// Bahasa Indonesia by default.
    pub lang: Language,
    /// WIB by default.
    pub zone: OfficeZone,
}

impl RenderOptions {
    /// Options for this language and zone.
    pub fn new(lang: Language, zone: OfficeZone) -> Self {
        RenderOptions { lang, zone }
    }
}

/// The outage page (HTML) in the given language and zone.
pub fn render_page(report: &OutageReport, opts: &RenderOptions) -> Result<String, ReportError> {
    html::render(report, opts)
}

/// The SVG timeline in the given language and zone.
pub fn render_timeline_svg_with(
    report: &OutageReport,
    opts: &RenderOptions,
) -> Result<String, ReportError> {
    svg::render(report, opts)
}

/// The SVG timeline in Bahasa Indonesia, WIB.
pub fn render_timeline_svg(report: &OutageReport) -> Result<String, ReportError> {
    svg::render(report, &RenderOptions::default())
}
