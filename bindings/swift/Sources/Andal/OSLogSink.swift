// Hand-written (not generated): the library's log records in Apple's unified logging
// (Console.app, `log stream --predicate 'subsystem == "id.andal"'`).
#if canImport(os)
import os

/// A `LogSink` that writes to `os.Logger`: subsystem `id.andal` (or yours), category the
/// Rust target (`andal::client`, `andal::offline`). The messages carry no personal data
/// (the core masks it), so they are logged as public.
///
/// ```swift
/// try OSLogSink.install()            // info and above
/// try OSLogSink.install(maxLevel: .debug)
/// ```
public final class OSLogSink: LogSink, Sendable {
    private let subsystem: String

    public init(subsystem: String = "id.andal") {
        self.subsystem = subsystem
    }

    public func log(record: LogRecord) throws {
        let logger = Logger(subsystem: subsystem, category: record.target)
        let message = record.message
        switch record.level {
        case .error: logger.error("\(message, privacy: .public)")
        case .warn: logger.warning("\(message, privacy: .public)")
        case .info: logger.info("\(message, privacy: .public)")
        case .debug: logger.debug("\(message, privacy: .public)")
        case .trace: logger.trace("\(message, privacy: .public)")
        }
    }

    /// Sends the library's records up to `maxLevel` to the unified log, for the process.
    public static func install(maxLevel: LogLevel = .info, subsystem: String = "id.andal") throws {
        try setLogSink(sink: OSLogSink(subsystem: subsystem), maxLevel: maxLevel)
    }
}
#endif
