/**
 * The life of a service process: the one JSON ready line on stdout when it listens, a graceful
 * stop on SIGINT/SIGTERM (stop accepting, finish and flush, close the stores), a hard exit on a
 * second signal, and an unhandled rejection logged and ending the process (exit 1) instead of
 * leaving it half-alive.
 */
import type { Logger } from "./log.ts";

/** Prints the ready line (`{"ready":true,...}`) that scripts and tests wait for. */
export function announceReady(info: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ ready: true, ...info })}\n`);
}

/**
 * Runs until SIGINT or SIGTERM, then `close()` once and exit 0 (1 when closing failed). Resolves
 * never: the process ends here.
 */
export function runUntilSignal(name: string, logger: Logger, close: () => Promise<void>): Promise<never> {
  let closing = false;
  const stop = (signal: string) => {
    if (closing) {
      logger.warn({ signal }, `${name}: second signal, exiting now`);
      process.exit(1);
    }
    closing = true;
    logger.info({ signal }, `${name}: stopping`);
    close().then(
      () => {
        logger.info(`${name}: stopped`);
        logger.flush();
        process.exit(0);
      },
      (e: unknown) => {
        logger.error({ err: e }, `${name}: stopping failed`);
        logger.flush();
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("unhandledRejection", (reason) => {
    logger.fatal({ err: reason }, `${name}: unhandled rejection`);
    logger.flush();
    process.exit(1);
  });
  return new Promise<never>(() => undefined);
}
