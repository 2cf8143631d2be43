package id.andal

import java.util.concurrent.ConcurrentHashMap
import org.slf4j.Logger
import org.slf4j.LoggerFactory

/**
 * Forwards the library's log records to SLF4J. Logger names follow the Rust target with
 * `::` as `.` (`andal.client`, `andal.offline`, `andal_journal.journal`), so an
 * application configures them like any other logger. Records carry no personal data.
 *
 * ```kotlin
 * Slf4jLogSink.install()                  // levels the `andal` logger has enabled now
 * Slf4jLogSink.install(LogLevel.DEBUG)    // or an explicit ceiling
 * ```
 */
class Slf4jLogSink : LogSink {
    private val loggers = ConcurrentHashMap<String, Logger>()

    override fun log(record: LogRecord) {
        val logger = loggers.computeIfAbsent(record.target) { LoggerFactory.getLogger(it.replace("::", ".")) }
        when (record.level) {
            LogLevel.ERROR -> logger.error(record.message)
            LogLevel.WARN -> logger.warn(record.message)
            LogLevel.INFO -> logger.info(record.message)
            LogLevel.DEBUG -> logger.debug(record.message)
            LogLevel.TRACE -> logger.trace(record.message)
        }
    }

    companion object {
        /**
         * Sends the library's records to SLF4J for the whole process. [maxLevel] defaults
         * to the most verbose level the `andal` logger has enabled at this moment: records
         * above it are never formatted on the Rust side. After changing SLF4J levels at run
         * time, call again.
         */
        @JvmStatic
        @JvmOverloads
        fun install(maxLevel: LogLevel = enabledLevel(LoggerFactory.getLogger("andal"))) {
            setLogSink(Slf4jLogSink(), maxLevel)
        }

        /** The most verbose level [logger] has enabled. */
        @JvmStatic
        fun enabledLevel(logger: Logger): LogLevel = when {
            logger.isTraceEnabled -> LogLevel.TRACE
            logger.isDebugEnabled -> LogLevel.DEBUG
            logger.isInfoEnabled -> LogLevel.INFO
            logger.isWarnEnabled -> LogLevel.WARN
            else -> LogLevel.ERROR
        }
    }
}
