/**
 * The supervisor of a local deployment (`npm start`, `npm run demo`, the process tests): it starts
 * each service as a child process (services/runtime/process.ts) in a process group of its own, so
 * a terminal's Ctrl-C reaches the supervisor alone, and stops them in order: simulators first (no
 * new readings), then what they talk to (stations, fog nodes, edge nodes), the layers, the key
 * servers, and whatever was adopted last (the chains). Nothing is restarted: a child that ends
 * while it should be running is reported, everything else is stopped in order, and the run ends
 * with a non-zero code.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";

import { type ServiceProcess, startService } from "../runtime/process.ts";

/**
 * When a service stops, lowest first: the stages stop one after the other, the services of one
 * stage together.
 */
export const STAGES = ["simulator", "gateway", "layer", "keyserver", "chain"] as const;
export type Stage = (typeof STAGES)[number];

export interface ServiceSpec {
  /** Its name in the view and the logs (`station-1`). */
  readonly name: string;
  /** The `strata` command's arguments (`["station", "run", "--config", file]`). */
  readonly args: readonly string[];
  readonly stage: Stage;
  readonly env?: NodeJS.ProcessEnv;
  /** Called with each stdout line after the ready line. */
  readonly onLine?: (line: string) => void;
}

/** A started service: its spec, its ready line and its process. */
export interface Running {
  readonly spec: ServiceSpec;
  readonly process: ServiceProcess;
  /** The ready line's `url`, when it has one. */
  readonly url: string | undefined;
}

/** What the supervisor tells its viewer. */
export type SupervisorEvent =
  | { readonly kind: "started"; readonly name: string; readonly url: string | undefined }
  | { readonly kind: "died"; readonly name: string; readonly how: number | string; readonly logs: string }
  | { readonly kind: "stopping"; readonly stage: Stage; readonly names: readonly string[] }
  | { readonly kind: "stopped"; readonly name: string; readonly how: number | string };

interface Member {
  readonly name: string;
  readonly stage: Stage;
  readonly stop: () => Promise<number | string>;
  readonly kill: () => Promise<unknown>;
}

export interface SupervisorOptions {
  /** Where each service's logs (stderr, pino JSON lines) are written: `<logDir>/<name>.log`. */
  readonly logDir: string;
  readonly onEvent?: (event: SupervisorEvent) => void;
  /** Grace before a stopped service is killed (ms, default 15 s). */
  readonly graceMs?: number;
}

export class Supervisor {
  readonly running: Running[] = [];
  private readonly members: Member[] = [];
  private readonly options: SupervisorOptions;
  private stopping: Promise<boolean> | undefined;
  private failure: { name: string; how: number | string } | undefined;
  private readonly failed: Promise<{ name: string; how: number | string }>;
  /** Services stopped on purpose while the others run (`stopService`): their end is no failure. */
  private readonly retired = new Set<string>();
  private fail!: (f: { name: string; how: number | string }) => void;

  constructor(options: SupervisorOptions) {
    this.options = options;
    mkdirSync(options.logDir, { recursive: true });
    this.failed = new Promise((resolve) => (this.fail = resolve));
  }

  /** The first service that ended unexpectedly, if any. */
  get firstFailure(): { name: string; how: number | string } | undefined {
    return this.failure;
  }

  /** Resolves when a service ends while it should be running. */
  whenFailed(): Promise<{ name: string; how: number | string }> {
    return this.failed;
  }

  /** Starts `spec` and waits for its ready line; a start that fails is thrown (nothing left running). */
  async start(spec: ServiceSpec): Promise<Running> {
    if (this.stopping) throw new Error(`${spec.name}: the deployment is stopping`);
    if (this.running.some((r) => r.spec.name === spec.name)) throw new Error(`${spec.name} is running already`);
    // a service stopped on purpose may be started again (a station back after maintenance)
    this.retired.delete(spec.name);
    const child = await startService(spec.args, {
      name: spec.name,
      detached: true,
      logFile: join(this.options.logDir, `${spec.name}.log`),
      ...(spec.env ? { env: { ...process.env, ...spec.env } } : {}),
      ...(spec.onLine ? { onLine: spec.onLine } : {}),
    });
    if (this.stopping) {
      await child.stop(this.options.graceMs);
      throw new Error(`${spec.name}: the deployment is stopping`);
    }
    const url = typeof child.ready.url === "string" ? child.ready.url : undefined;
    const running: Running = { spec, process: child, url };
    this.running.push(running);
    this.members.push({
      name: spec.name,
      stage: spec.stage,
      stop: () => child.stop(this.options.graceMs),
      kill: () => child.kill(),
    });
    this.#watch(spec.name, child.exited, () => child.logs());
    this.options.onEvent?.({ kind: "started", name: spec.name, url });
    return running;
  }

  /** Starts several services of one stage together. */
  startAll(specs: readonly ServiceSpec[]): Promise<Running[]> {
    return Promise.all(specs.map((s) => this.start(s)));
  }

  /**
   * Takes over something started elsewhere (a chain node) in `stage`: stopping it, and, with
   * `exited`, reporting it when it ends while it should be running.
   */
  adopt(name: string, stage: Stage, stop: () => Promise<unknown>, exited?: Promise<number | string>): void {
    const end = async (): Promise<number> => (await stop(), 0);
    this.members.push({ name, stage, stop: end, kill: end });
    if (exited) this.#watch(name, exited, () => "");
  }

  /** A member that ends before the deployment stops is a failure: shown, and the end of the run. */
  #watch(name: string, exited: Promise<number | string>, logs: () => string): void {
    void exited.then((how) => {
      if (this.stopping || this.retired.has(name)) return;
      this.failure ??= { name, how };
      this.options.onEvent?.({ kind: "died", name, how, logs: logs() });
      this.fail({ name, how });
    });
  }

  /** The running service named `name`. */
  get(name: string): Running {
    const r = this.running.find((x) => x.spec.name === name);
    if (!r) throw new Error(`no service named ${name}`);
    return r;
  }

  /**
   * Stops the running service `name` on purpose (a node taken down while the others run): its end
   * is not a failure, and it is no longer listed or stopped with the rest (`start` with its spec
   * starts it again). Resolves with how it ended.
   */
  async stopService(name: string): Promise<number | string> {
    const running = this.get(name);
    this.retired.add(name);
    this.running.splice(this.running.indexOf(running), 1);
    const k = this.members.findIndex((m) => m.name === name);
    if (k >= 0) this.members.splice(k, 1);
    const how = await running.process.stop(this.options.graceMs);
    this.options.onEvent?.({ kind: "stopped", name, how });
    return how;
  }

  /**
   * Stops everything stage by stage; resolves `true` when every service ended with exit code 0
   * and none had died before. Called again, returns the same promise.
   */
  stop(): Promise<boolean> {
    this.stopping ??= (async () => {
      let clean = this.failure === undefined;
      for (const stage of STAGES) {
        const members = this.members.filter((m) => m.stage === stage);
        if (members.length === 0) continue;
        this.options.onEvent?.({ kind: "stopping", stage, names: members.map((m) => m.name) });
        const ends = await Promise.all(
          members.map(async (m) => {
            const how = await m.stop().catch((e: unknown) => String(e));
            this.options.onEvent?.({ kind: "stopped", name: m.name, how });
            return how;
          }),
        );
        if (ends.some((how) => how !== 0)) clean = false;
      }
      return clean;
    })();
    return this.stopping;
  }

  /** Kills every child at once (a second Ctrl-C); the adopted members are stopped. */
  async kill(): Promise<void> {
    this.stopping ??= Promise.resolve(false);
    await Promise.allSettled(this.members.map((m) => m.kill()));
  }
}
