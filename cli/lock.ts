/**
 * An exclusive lock on a file, for work that reads it, acts and writes it back (`strata deploy`):
 * `<file>.lock`, created with `wx` (it fails if the file exists), holding who took it
 * (`{"pid", "host", "since", "token"}`), touched every minute while held, removed when the work is
 * done. A second taker waits for it; a lock whose process is dead (same host), or not touched for
 * `STALE_AFTER_MS` (any host), is stale and may be taken over. Taking over is itself guarded
 * (`<file>.lock.takeover`, `wx`), so two takers cannot both remove a lock and each believe they
 * hold the next one.
 */
import { randomBytes } from "node:crypto";
import { open, readFile, rm, stat, utimes } from "node:fs/promises";
import { hostname } from "node:os";

import { InvalidInputError } from "../sdk/index.ts";

/** A lock older than this is stale even if its process cannot be checked (another host). */
export const STALE_AFTER_MS = 15 * 60_000;

/** How often a holder touches its lock (its modification time is its age). */
const REFRESH_MS = 60_000;

/** How long a takeover guard may live: removing a stale lock takes milliseconds. */
const GUARD_STALE_MS = 60_000;

const POLL_MS = 200;

/** Who holds a lock, as its file says (fields missing when it cannot be read). */
export interface LockHolder {
  readonly pid?: number;
  readonly host?: string;
  readonly since?: string;
  readonly token?: string;
  /** The lock file's age, from its modification time. */
  readonly ageMs: number;
}

/** Whether a lock may be taken over: its process is gone (same host), or it is too old. */
export function isStale(holder: LockHolder, here: string, alive: (pid: number) => boolean): boolean {
  if (holder.ageMs > STALE_AFTER_MS) return true;
  return holder.host === here && holder.pid !== undefined && !alive(holder.pid);
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, and belongs to someone else
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function parseHolder(text: string, ageMs: number): LockHolder {
  try {
    const raw = JSON.parse(text) as Record<string, unknown>;
    return {
      ageMs,
      ...(Number.isSafeInteger(raw.pid) ? { pid: raw.pid as number } : {}),
      ...(typeof raw.host === "string" ? { host: raw.host } : {}),
      ...(typeof raw.since === "string" ? { since: raw.since } : {}),
      ...(typeof raw.token === "string" ? { token: raw.token } : {}),
    };
  } catch {
    return { ageMs }; // being written, or damaged: only its age tells
  }
}

const codeOf = (error: unknown): string | undefined => (error as NodeJS.ErrnoException).code;

/** The lock's holder, or undefined when there is no lock. */
async function holderOf(lock: string): Promise<LockHolder | undefined> {
  try {
    const [text, info] = await Promise.all([readFile(lock, "utf8"), stat(lock)]);
    return parseHolder(text, Date.now() - info.mtimeMs);
  } catch (error) {
    if (codeOf(error) === "ENOENT") return undefined;
    throw new InvalidInputError(`${lock} cannot be read (${codeOf(error) ?? String(error)})`, { lock });
  }
}

/** Creates the lock, or answers false when it exists. */
async function tryCreate(lock: string, token: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(lock, "wx", 0o644);
  } catch (error) {
    if (codeOf(error) === "EEXIST") return false;
    throw new InvalidInputError(`${lock} cannot be created (${codeOf(error) ?? String(error)})`, { lock });
  }
  try {
    const holder = { pid: process.pid, host: hostname(), since: new Date().toISOString(), token };
    await handle.writeFile(`${JSON.stringify(holder)}\n`);
  } finally {
    await handle.close();
  }
  return true;
}

/**
 * Removes `stale` if it still is the lock, under the takeover guard. False when another process
 * holds the guard (the caller waits before it tries again).
 */
async function takeOver(lock: string, stale: LockHolder): Promise<boolean> {
  const guard = `${lock}.takeover`;
  let handle;
  try {
    handle = await open(guard, "wx");
  } catch (error) {
    if (codeOf(error) !== "EEXIST") throw error;
    const info = await stat(guard).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > GUARD_STALE_MS) await rm(guard, { force: true });
    return false;
  }
  try {
    // only the lock judged stale, and still stale: a lock taken meanwhile is left alone
    const now = await holderOf(lock);
    if (now !== undefined && now.token === stale.token && isStale(now, hostname(), processAlive)) {
      await rm(lock, { force: true });
    }
  } finally {
    await handle.close();
    await rm(guard, { force: true });
  }
  return true;
}

export interface LockOptions {
  /** How long to wait for another holder, in ms. */
  readonly waitMs: number;
  /** Told once when the lock is held by another process and this one waits. */
  readonly onWait?: (holder: LockHolder) => void;
}

function describe(holder: LockHolder): string {
  const who = holder.pid === undefined ? "an unknown process" : `pid ${holder.pid}`;
  const where = holder.host === undefined ? "" : ` on ${holder.host}`;
  const since = holder.since === undefined ? "" : ` since ${holder.since}`;
  return `${who}${where}${since}`;
}

/**
 * Runs `work` holding `<file>.lock`; waits up to `waitMs` for another holder, then fails with an
 * `InvalidInputError` naming the lock and its holder. The lock is removed afterwards, even when
 * `work` fails (unless another process has since taken it over as stale).
 */
export async function withFileLock<T>(file: string, options: LockOptions, work: () => Promise<T>): Promise<T> {
  const lock = `${file}.lock`;
  const token = randomBytes(16).toString("hex");
  const deadline = Date.now() + options.waitMs;
  let told = false;
  for (;;) {
    if (await tryCreate(lock, token)) break;
    const holder = await holderOf(lock);
    if (holder === undefined) continue; // released in between
    if (isStale(holder, hostname(), processAlive)) {
      if (await takeOver(lock, holder)) continue;
      // another process is taking it over: wait as for a live holder, never spin
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      continue;
    }
    if (Date.now() >= deadline) {
      throw new InvalidInputError(
        `${file} is locked by ${describe(holder)} (${lock}): another strata deploy is running; run again when it is done, or remove the lock if none is`,
        { lock, pid: holder.pid, host: holder.host, since: holder.since },
      );
    }
    if (!told) {
      options.onWait?.(holder);
      told = true;
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, Math.max(1, deadline - Date.now()))));
  }
  // a live holder keeps its lock fresh, so only a lock left behind grows old
  const refresh = setInterval(() => {
    const now = new Date();
    void utimes(lock, now, now).catch(() => undefined);
  }, REFRESH_MS);
  refresh.unref();
  try {
    return await work();
  } finally {
    clearInterval(refresh);
    const holder = await holderOf(lock).catch(() => undefined);
    if (holder?.token === token) await rm(lock, { force: true });
  }
}
