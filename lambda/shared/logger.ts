import { Console } from 'node:console';

/** Log levels, most verbose first. `SILENT` turns logging off. */
export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT'] as const;

/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Extra fields merged into a log line. Values must be JSON-serializable. */
export type LogFields = Readonly<Record<string, unknown>>;

/** A structured logger writing one JSON object per line. */
export interface Logger {
  readonly level: LogLevel;
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const SEVERITY: Readonly<Record<LogLevel, number>> = { DEBUG: 10, INFO: 20, WARN: 30, ERROR: 40, SILENT: 100 };

/**
 * Serializes a log line. Never throws: a value JSON can't represent (a BigInt, a cycle) degrades the line
 * to its level, message and timestamp plus a note, instead of failing the request that logs it.
 */
function serialize(line: Record<string, unknown>): string {
  try {
    return JSON.stringify(line);
  } catch {
    return JSON.stringify({
      level: line.level,
      message: line.message,
      timestamp: line.timestamp,
      logError: 'fields were not serializable',
    });
  }
}

/**
 * Creates a logger that writes one JSON line per call (`level`, `message`, `timestamp`, then the given fields).
 *
 * It writes through its own `Console` on `process.stdout`/`process.stderr`, which bypasses the Lambda runtime's
 * patched global console (and its text prefix), as Powertools does. DEBUG and INFO go to stdout, WARN and ERROR to
 * stderr. Lines below `level` are dropped.
 */
export function createLogger(level: LogLevel = 'INFO'): Logger {
  const out = new Console({ stdout: process.stdout, stderr: process.stderr });
  const threshold = SEVERITY[level];

  const write = (lineLevel: Exclude<LogLevel, 'SILENT'>, message: string, fields?: LogFields): void => {
    if (SEVERITY[lineLevel] < threshold) return;
    const timestamp = new Date().toISOString();
    // Standard keys first for readability; re-assigned after the spread so fields can't override them.
    const line: Record<string, unknown> = { level: lineLevel, message, timestamp, ...fields };
    Object.assign(line, { level: lineLevel, message, timestamp });
    const text = serialize(line);
    if (lineLevel === 'WARN' || lineLevel === 'ERROR') out.error(text);
    else out.log(text);
  };

  return {
    level,
    debug: (message, fields) => write('DEBUG', message, fields),
    info: (message, fields) => write('INFO', message, fields),
    warn: (message, fields) => write('WARN', message, fields),
    error: (message, fields) => write('ERROR', message, fields),
  };
}
