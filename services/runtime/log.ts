/**
 * Structured logs of every service: pino JSON lines on stderr (stdout carries the ready line
 * and command output), one `service` field naming the process.
 */
import { pino, type Logger } from "pino";

export type { Logger } from "pino";

/** A logger for `service`; `level` defaults to `STRATA_LOG_LEVEL` or "info". */
export function createLogger(service: string, level: string = process.env.STRATA_LOG_LEVEL ?? "info"): Logger {
  return pino({ name: service, level, base: { service, pid: process.pid } }, pino.destination({ fd: 2, sync: false }));
}

/** A logger that writes nothing (for in-process use in tests and benchmarks). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
