// Logging and auditing (issue 16): audit records, xferlog, counters and Prometheus metrics, readable lines.
export { AuditLog, attachAuditLog } from './audit.js';
export { XferLog, attachXferLog, xferLine, type LineSink } from './xferlog.js';
export { StatsCollector, type ServerStats, type ServerEventSource } from './stats.js';
export { metricsText, serveMetrics, METRICS_CONTENT_TYPE, type MetricsServer, type MetricsServerOptions } from './metrics.js';
export { prettyLine, prettyDestination } from './pretty.js';
export { LogFile, openLogFile, type LogFileOptions } from './log-file.js';
