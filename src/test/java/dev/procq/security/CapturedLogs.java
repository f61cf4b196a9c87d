package dev.procq.security;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.StackTraceElementProxy;
import ch.qos.logback.core.read.ListAppender;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.LoggerFactory;

/**
 * Every log event of this JVM while open, as the text an appender could write: the formatted
 * message, the raw arguments, MDC, and every exception with its causes and stack. Named loggers
 * can be turned up for the duration and are put back afterwards.
 */
public final class CapturedLogs implements AutoCloseable {
    private final ListAppender<ILoggingEvent> appender = new ListAppender<>();
    private final Logger root;
    private final Map<Logger, Level> previousLevels = new HashMap<>();

    public CapturedLogs(Level level, String... loggers) {
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        setLevel(root, level);
        for (String name : loggers) setLevel(context.getLogger(name), level);
        appender.setContext(context);
        appender.start();
        root.addAppender(appender);
    }

    private void setLevel(Logger logger, Level level) {
        previousLevels.put(logger, logger.getLevel());
        logger.setLevel(level);
    }

    /** One line of text per event, everything an encoder could print from it. */
    public List<String> lines() {
        List<ILoggingEvent> events;
        synchronized (appender) {
            events = new ArrayList<>(appender.list);
        }
        List<String> lines = new ArrayList<>();
        for (ILoggingEvent event : events) {
            StringBuilder text = new StringBuilder();
            text.append(event.getLevel()).append(' ').append(event.getLoggerName()).append(" - ")
                    .append(event.getFormattedMessage());
            if (event.getArgumentArray() != null) {
                for (Object argument : event.getArgumentArray()) text.append(" | ").append(argument);
            }
            text.append(" | mdc=").append(event.getMDCPropertyMap());
            for (IThrowableProxy error = event.getThrowableProxy(); error != null; error = error.getCause()) {
                text.append(" | ").append(error.getClassName()).append(": ").append(error.getMessage());
                for (StackTraceElementProxy frame : error.getStackTraceElementProxyArray()) {
                    text.append(" at ").append(frame.getSTEAsString());
                }
            }
            lines.add(text.toString());
        }
        return lines;
    }

    @Override
    public void close() {
        root.detachAppender(appender);
        appender.stop();
        previousLevels.forEach(Logger::setLevel);
    }
}
