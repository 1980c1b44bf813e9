/**
 * `npm start`: a whole Strata deployment on this machine, each role a process of its own on
 * loopback (services/local/deployment.ts), shown live until Ctrl-C, which stops the processes in
 * order (simulators first, the chains last) and exits 0. A process that ends on its own is shown
 * with its last logs and ends the run with exit 1. Knobs: STRATA_DEVICES, STRATA_SENSORS,
 * STRATA_READING_MS, STRATA_CONTRACT_MS, STRATA_BATCH_MS (services/local/scale.ts); STRATA_VIEW
 * (tty, plain or json; default tty on a terminal); STRATA_LOCAL_DIR (where the files go; default
 * a new temporary folder).
 *
 *   npm start
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { StrataError } from "../sdk/errors.ts";
import { type LocalDeployment, startLocalDeployment } from "../services/local/deployment.ts";
import { LiveView, type ViewMode } from "../services/local/live-view.ts";
import { DEFAULT_SCALE, type Scale, scaleFromEnv } from "../services/local/scale.ts";
import type { SupervisorEvent } from "../services/local/supervisor.ts";

const fail = (message: string, code: number): never => {
  process.stderr.write(`npm start: ${message}\n`);
  process.exit(code);
};

let scale: Scale = DEFAULT_SCALE;
try {
  scale = scaleFromEnv(process.env);
} catch (e) {
  fail(e instanceof StrataError ? e.shortMessage : String(e), 2);
}
const mode = (process.env.STRATA_VIEW ?? (process.stdout.isTTY ? "tty" : "plain")) as ViewMode;
if (!["tty", "plain", "json"].includes(mode)) fail(`STRATA_VIEW: expected tty, plain or json, got "${mode}"`, 2);
const dir = process.env.STRATA_LOCAL_DIR || mkdtempSync(join(tmpdir(), "strata-local-"));
const say = (text: string): void =>
  void process.stdout.write(mode === "json" ? `${JSON.stringify({ event: text })}\n` : `${text}\n`);

let view: LiveView | undefined;
const describe = (e: SupervisorEvent): string => {
  switch (e.kind) {
    case "started":
      return `started ${e.name}${e.url ? ` at ${e.url}` : ""}`;
    case "died":
      return `${e.name} ended on its own (${e.how}); its last logs:\n${e.logs.trim().split("\n").slice(-5).join("\n")}`;
    case "stopping":
      return `stopping the ${e.stage} stage: ${e.names.join(", ")}`;
    case "stopped":
      return `stopped ${e.name} (${e.how})`;
  }
};
const onNote = (text: string): void => (view ? view.note(text) : say(text));
const onEvent = (e: SupervisorEvent): void => onNote(describe(e));

// A Ctrl-C reaches this process (the services run in process groups of their own); npm passes
// the terminal's SIGINT on as well, so a signal within a second of the first is the same one.
const aborter = new AbortController();
let deployment: LocalDeployment | undefined;
let firstSignalAt: number | undefined;
let finishing: Promise<never> | undefined;
const finish = (clean: boolean): Promise<never> =>
  (finishing ??= (async () => {
    view?.stop();
    view = undefined;
    const stopped = deployment ? await deployment.stop() : true;
    say(stopped && clean ? "stopped; every process ended cleanly" : "stopped, not cleanly (see above)");
    process.exit(stopped && clean ? 0 : 1);
  })());
const onSignal = (signal: string) => {
  const now = Date.now();
  if (firstSignalAt === undefined) {
    firstSignalAt = now;
    say(`${signal}: stopping every process in order (Ctrl-C again to kill them all)`);
    aborter.abort();
    // while starting, the start below stops what has started and finishes
    if (deployment) void finish(true);
  } else if (now - firstSignalAt > 1_000) {
    say(`${signal} again: killing every process`);
    void deployment?.supervisor.kill().finally(() => process.exit(1));
  }
};
// Whatever goes wrong here, the services are not left behind: a reader of the output gone
// (`npm start | head`) or a bug stops them in order.
process.stdout.on("error", () => void finish(false));
process.on("uncaughtException", (e) => {
  process.stderr.write(`npm start: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  void finish(false);
});
process.on("SIGINT", () => onSignal("SIGINT"));
process.on("SIGTERM", () => onSignal("SIGTERM"));

say(`Starting a local Strata deployment in ${dir} …`);
try {
  deployment = await startLocalDeployment({ dir, scale, onEvent, onNote, signal: aborter.signal });
} catch (e) {
  if (!aborter.signal.aborted) fail(`could not start: ${e instanceof Error ? e.message : String(e)}`, 1);
}
if (aborter.signal.aborted) {
  await finish(true);
} else {
  view = new LiveView(deployment!.view, mode, (text) => void process.stdout.write(text));
  view.start(mode === "tty" ? 1_000 : 5_000);
  void deployment!.supervisor.whenFailed().then(() => finish(false));
}
