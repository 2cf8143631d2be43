//! The log bridge for Kotlin and Swift: the core's `tracing` events reach a [`LogSink`]
//! that the app implements (Kotlin `Slf4jLogSink`, Swift `OSLogSink`).
//!
//! [`set_log_sink`] makes a small `tracing` subscriber of this module the process's global
//! one (once) and points it at the sink. It keeps events only (spans are never created),
//! with the filter of Python's `logging` bridge: every event of Andal's own targets
//! (`andal::client`, `andal::offline`, `andal_journal::...`), whose fields carry no personal
//! data (hosts, failure kinds, reasons, paths), and only warnings and errors of the HTTP/TLS
//! crates under them. The text is the one Python shows: the message, then the fields
//! (`no offline answer reason="no_token"`).
//!
//! Levels above the sink's `max_level` are refused by `tracing`'s own per-callsite filter
//! (the global `LevelFilter` this subscriber reports), so they are never formatted and never
//! cross the FFI. A sink that throws or panics loses that record and nothing else; a record
//! emitted while the sink runs on the same thread (the sink calling back into Andal) is
//! dropped rather than re-entering the sink. No lock is held while the sink runs.

use std::cell::Cell;
use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata};

use crate::error::AndalError;

/// Severity of a [`LogRecord`], most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, uniffi::Enum)]
pub enum LogLevel {
    /// Something failed that the app should look at (a journal write failed).
    Error,
    /// Something degraded or was refused (a trust document refused, a damaged journal tail).
    Warn,
    /// Notable events (no offline answer for a check, a journal opened).
    Info,
    /// Per-attempt detail (an attempt failed, a first attempt shed).
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    /// 1 (error) ... 5 (trace); 0 is "off" in [`MAX_LEVEL`].
    fn rank(self) -> u8 {
        match self {
            LogLevel::Error => 1,
            LogLevel::Warn => 2,
            LogLevel::Info => 3,
            LogLevel::Debug => 4,
            LogLevel::Trace => 5,
        }
    }
}

impl From<&tracing::Level> for LogLevel {
    fn from(l: &tracing::Level) -> Self {
        match *l {
            tracing::Level::ERROR => LogLevel::Error,
            tracing::Level::WARN => LogLevel::Warn,
            tracing::Level::INFO => LogLevel::Info,
            tracing::Level::DEBUG => LogLevel::Debug,
            _ => LogLevel::Trace,
        }
    }
}

/// One log record. `message` is the event's text followed by its fields
/// (`no offline answer reason=no_token`); no personal data.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LogRecord {
    /// Severity.
    pub level: LogLevel,
    /// Where it comes from, Rust style (`andal::offline`): map `::` to `.` for a logger name.
    pub target: String,
    /// The text with its fields.
    pub message: String,
}

/// Receives the library's log records (implemented in Kotlin/Swift). Called synchronously
/// on the thread that logged (a check's thread or the bindings' runtime): keep it quick,
/// never block. What it throws is dropped with the record.
#[uniffi::export(foreign)]
pub trait LogSink: Send + Sync {
    /// Handle one record.
    fn log(&self, record: LogRecord) -> Result<(), LogSinkError>;
}

/// What a sink may throw; the record is dropped (Kotlin `LogSinkException`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum LogSinkError {
    /// The sink failed.
    #[error("log sink failed: {reason}")]
    Failed {
        /// Why.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for LogSinkError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        LogSinkError::Failed { reason: e.reason }
    }
}

/// The sink records go to; swapped by [`set_log_sink`], read (and cloned) per record.
static SINK: RwLock<Option<Arc<dyn LogSink>>> = RwLock::new(None);
/// The most verbose level forwarded ([`LogLevel::rank`]; 0: nothing).
static MAX_LEVEL: AtomicU8 = AtomicU8::new(0);
/// Whether the bridge became the process's global `tracing` subscriber (tried once).
static INSTALLED: OnceLock<bool> = OnceLock::new();

thread_local! {
    /// Set while this thread runs the sink: a record logged meanwhile is dropped.
    static IN_SINK: Cell<bool> = const { Cell::new(false) };
}

/// Andal's own crates at every level, the crates under them at warn and error (see the
/// module docs; the same rule as Python's `LogBridge`).
fn forwarded(metadata: &Metadata<'_>) -> bool {
    // Events and `enabled!` hints; spans never (no span is created).
    !metadata.is_span()
        && (metadata.target().starts_with("andal") || *metadata.level() <= tracing::Level::WARN)
}

fn current_sink() -> Option<Arc<dyn LogSink>> {
    // A poisoned lock still holds a valid Option (the writers cannot panic mid-write).
    SINK.read().unwrap_or_else(|p| p.into_inner()).clone()
}

/// The event's text: the message, then ` name=value` per field (values in `Debug` form).
#[derive(Default)]
struct Text {
    message: String,
    fields: String,
}

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

struct Bridge;

impl tracing::Subscriber for Bridge {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if forwarded(metadata) {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        forwarded(metadata)
            && LogLevel::from(metadata.level()).rank() <= MAX_LEVEL.load(Ordering::Relaxed)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(match MAX_LEVEL.load(Ordering::Relaxed) {
            0 => LevelFilter::OFF,
            1 => LevelFilter::ERROR,
            2 => LevelFilter::WARN,
            3 => LevelFilter::INFO,
            4 => LevelFilter::DEBUG,
            _ => LevelFilter::TRACE,
        })
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        // Never called: `enabled` refuses every span.
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        // `try_with`: an event logged while this thread's locals are torn down is dropped.
        if IN_SINK.try_with(Cell::get).unwrap_or(true) {
            return;
        }
        let Some(sink) = current_sink() else {
            return;
        };
        let _ = IN_SINK.try_with(|f| f.set(true));
        // A field's Debug or the sink itself may panic: never into the core's caller.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut text = Text::default();
            event.record(&mut text);
            text.message.push_str(&text.fields);
            let meta = event.metadata();
            let _ = sink.log(LogRecord {
                level: meta.level().into(),
                target: meta.target().to_owned(),
                message: text.message,
            });
        }));
        let _ = IN_SINK.try_with(|f| f.set(false));
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

fn set_max_level(rank: u8) {
    MAX_LEVEL.store(rank, Ordering::Relaxed);
    // Callsites cache the global maximum level: recompute it.
    tracing::callsite::rebuild_interest_cache();
}

/// Send the library's log records up to `max_level` to `sink`, for the whole process
/// (replacing any sink set before). Kotlin: `Slf4jLogSink.install()`; Swift:
/// `OSLogSink.install()`. Throws `Config` if another global `tracing` subscriber already
/// owns this process (only possible when Andal is linked into a larger Rust library).
#[uniffi::export]
pub fn set_log_sink(sink: Arc<dyn LogSink>, max_level: LogLevel) -> Result<(), AndalError> {
    let installed = *INSTALLED.get_or_init(|| {
        tracing::dispatcher::set_global_default(tracing::Dispatch::new(Bridge)).is_ok()
    });
    if !installed {
        return Err(AndalError::Config {
            reason: "another global `tracing` subscriber is installed in this process".into(),
        });
    }
    let previous = SINK
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .replace(sink);
    set_max_level(max_level.rank());
    // Released after the lock: dropping a foreign sink calls into Kotlin/Swift.
    drop(previous);
    Ok(())
}

/// Stop forwarding log records (the sink set by [`set_log_sink`] is released).
#[uniffi::export]
pub fn clear_log_sink() {
    if INSTALLED.get() == Some(&true) {
        set_max_level(0);
    }
    let previous = SINK.write().unwrap_or_else(|p| p.into_inner()).take();
    drop(previous);
}
