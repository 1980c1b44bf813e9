/**
 * Service processes started from the project's own command (`node cli/strata.ts …`), for tests,
 * benchmarks and the local deployment: spawn, wait for the one JSON ready line on stdout, stop
 * gracefully (SIGTERM, then SIGKILL after a grace period) or kill (SIGKILL). Stderr (the logs)
 * is kept in a bounded tail for error messages, and copied to `logFile` when given.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { StrataError, TimeoutError } from "../../sdk/errors.ts";

/** The repository's (or package's) root: two folders up from this file. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The command's entry point. */
export const STRATA_BIN = join(ROOT, "cli", fileURLToPath(import.meta.url).endsWith(".ts") ? "strata.ts" : "strata.js");

/** A service process that failed to start or ended unexpectedly. */
export class ServiceProcessError extends StrataError {
  override name = "ServiceProcessError" as const;
}

export interface StartOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Longest wait for the ready line (ms; default 120 s): a start that hangs fails instead of hanging. */
  readonly readyTimeoutMs?: number;
  /** In its own process group (a terminal's Ctrl-C does not reach it; `npm start` stops it itself). */
  readonly detached?: boolean;
  /** Where its stderr is copied. */
  readonly logFile?: string;
  /** Its name in errors (default: the first arguments). */
  readonly name?: string;
  /** Called with each stdout line after the ready line. */
  readonly onLine?: (line: string) => void;
}

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly name: string;
  /** The ready line's fields. */
  readonly ready: Record<string, unknown>;
  /** Resolves with the exit code (or the signal's name) when the process ends. */
  readonly exited: Promise<number | string>;
  /** The last logs (stderr) it wrote. */
  logs(): string;
  /** SIGTERM, then SIGKILL after `graceMs` (default 15 s); resolves with how it ended. */
  stop(graceMs?: number): Promise<number | string>;
  /** SIGKILL (a crash); resolves when it is gone. */
  kill(): Promise<number | string>;
}

const TAIL_BYTES = 64 * 1024;

/** Starts `strata <args>` and waits for its ready line. */
export function startService(args: readonly string[], options: StartOptions = {}): Promise<ServiceProcess> {
  return startProcess(process.execPath, [STRATA_BIN, ...args], { name: args.slice(0, 2).join(" "), ...options });
}

/** Starts any command that prints a JSON ready line (`{"ready":true,…}`) and waits for it. */
export function startProcess(
  command: string,
  args: readonly string[],
  options: StartOptions = {},
): Promise<ServiceProcess> {
  const name = options.name ?? [command, ...args].join(" ");
  const child = spawn(command, args, {
    cwd: options.cwd ?? ROOT,
    env: options.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: options.detached ?? false,
  });
  let tail = "";
  const log: WriteStream | undefined =
    options.logFile === undefined ? undefined : createWriteStream(options.logFile, { flags: "a" });
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => {
    tail = (tail + chunk).slice(-TAIL_BYTES);
    log?.write(chunk);
  });
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => {
      log?.end();
      resolve(code ?? signal ?? "unknown");
    });
  });
  const detached = options.detached ?? false;
  // A detached child leads a process group of its own: signals go to the whole group, and it has
  // ended only when every process of the group has (a wrapper's child outlives the wrapper).
  const signal = (sig: NodeJS.Signals) => {
    try {
      if (detached && child.pid !== undefined) process.kill(-child.pid, sig);
      else child.kill(sig);
    } catch {
      // already gone
    }
  };
  const groupGone = async (graceMs: number) => {
    if (!detached || child.pid === undefined) return;
    const deadline = Date.now() + graceMs;
    for (;;) {
      try {
        process.kill(-child.pid, 0);
      } catch {
        return; // no process of the group is left
      }
      if (Date.now() > deadline) {
        // killed: a process in a system call (an fsync on a loaded disk) still ends a moment later
        signal("SIGKILL");
        if (Date.now() > deadline + 10_000) return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const end = async (sig: NodeJS.Signals, graceMs: number): Promise<number | string> => {
    if (child.exitCode === null && child.signalCode === null) {
      signal(sig);
      const timer = sig === "SIGKILL" ? undefined : setTimeout(() => signal("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    }
    await groupGone(sig === "SIGKILL" ? 1_000 : graceMs);
    return exited;
  };
  return new Promise<ServiceProcess>((resolve, reject) => {
    let buffer = "";
    let ready: Record<string, unknown> | undefined;
    const timeoutMs = options.readyTimeoutMs ?? 120_000;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new TimeoutError(`${name} printed no ready line within ${timeoutMs} ms`, { name, logs: tail.slice(-4000) }),
      );
    }, timeoutMs);
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => {
      buffer += chunk;
      let at: number;
      while ((at = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, at);
        buffer = buffer.slice(at + 1);
        if (ready !== undefined) {
          options.onLine?.(line);
          continue;
        }
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          if (parsed.ready === true) {
            ready = parsed;
            clearTimeout(timer);
            resolve({
              child,
              name,
              ready,
              exited,
              logs: () => tail,
              stop: (graceMs = 15_000) => end("SIGTERM", graceMs),
              kill: () => end("SIGKILL", 0),
            });
          }
        } catch {
          options.onLine?.(line);
        }
      }
    });
    void exited.then((how) => {
      if (ready === undefined) {
        clearTimeout(timer);
        reject(
          new ServiceProcessError(`${name} ended (${how}) before it was ready: ${lastLine(tail)}`, {
            name,
            exit: how,
            logs: tail.slice(-4000),
          }),
        );
      }
    });
  });
}

/** The last non-empty line of `text` (a failed command's one-line error). */
function lastLine(text: string): string {
  const lines = text.trim().split("\n");
  return lines[lines.length - 1] ?? "";
}
