/**
 * What a local deployment shows while it runs (`npm start`): read, never inferred, from the two
 * places that hold the truth — each service's `/metrics` (readings in, rejections, batches, queue
 * depths, contracts sent) and the chains' events (`DataAnchor.Anchored` for every station's and the
 * fog cluster's batch roots, `SummaryLedger` blocks, summaries, accomplished contracts and replays
 * on both chains) — refreshed until stopped. On a terminal it redraws one screen; otherwise (a
 * log, CI) it prints one line per refresh, or one JSON snapshot per line (`json`, for tests).
 */
import { Contract, type InterfaceAbi, type JsonRpcProvider } from "ethers";

import { DataAnchor, SummaryLedger } from "../../sdk/artifacts/index.ts";

export type ViewMode = "tty" | "plain" | "json";

/** A chain the view reads: its contracts of interest and their readable names. */
export interface ViewChain {
  readonly name: string;
  readonly chainId: bigint;
  readonly provider: JsonRpcProvider;
  readonly dataAnchor?: string;
  /** Layer name → its `SummaryLedger`. */
  readonly ledgers: ReadonlyMap<string, string>;
}

/** A service the view asks for its metrics. */
export interface ViewService {
  readonly name: string;
  readonly url: string | undefined;
}

export interface ViewSource {
  services(): readonly ViewService[];
  readonly chains: readonly ViewChain[];
  /** Registry id or address (lower case) → the service's name. */
  readonly names: ReadonlyMap<string, string>;
}

export interface Snapshot {
  readonly uptimeS: number;
  readonly chains: readonly { readonly name: string; readonly chainId: string; readonly block: number }[];
  /** Anchored batch roots by gateway name (stations, the fog cluster). */
  readonly anchors: Readonly<Record<string, { readonly batches: number; readonly leaves: number }>>;
  /** Per layer: contract blocks opened, summaries recorded, contracts accomplished, replays refused. */
  readonly ledgers: Readonly<
    Record<string, { opened: number; recorded: number; accomplished: number; replayed: number; chain: string }>
  >;
  /** Per service: its metrics (counters and gauges summed over labels; histograms by count), or why not. */
  readonly services: Readonly<Record<string, Readonly<Record<string, number>> | string>>;
  /** The latest events (services started or ended, alarms), newest last. */
  readonly events: readonly string[];
}

/** Metrics every service has (Node's process metrics): not shown. */
const PROCESS_METRIC = /^strata_(process_|nodejs_)/;

/** Sums a Prometheus text exposition per metric name (histograms: `_count` only). */
export function parseMetrics(text: string): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const name = match[1]!;
    if (PROCESS_METRIC.test(name) || name.endsWith("_bucket") || name.endsWith("_sum")) continue;
    const value = Number(match[3]);
    if (Number.isFinite(value)) sums[name] = (sums[name] ?? 0) + value;
  }
  return sums;
}

export class LiveView {
  readonly #source: ViewSource;
  readonly #mode: ViewMode;
  readonly #write: (text: string) => void;
  readonly #started = Date.now();
  readonly #events: string[] = [];
  readonly #anchors: Record<string, { batches: number; leaves: number }> = {};
  readonly #ledgers: Record<
    string,
    { opened: number; recorded: number; accomplished: number; replayed: number; chain: string }
  > = {};
  /** The next block to read, per chain. */
  readonly #from = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<Snapshot> | undefined;

  constructor(source: ViewSource, mode: ViewMode, write: (text: string) => void) {
    this.#source = source;
    this.#mode = mode;
    this.#write = write;
  }

  /** Adds a line to the event list (a service started or died, an alarm). */
  note(text: string): void {
    this.#events.push(`${new Date().toISOString().slice(11, 19)} ${text}`);
    if (this.#events.length > 200) this.#events.splice(0, this.#events.length - 200);
    if (this.#mode !== "tty") this.#write(`${this.#mode === "json" ? JSON.stringify({ event: text }) : text}\n`);
  }

  /** Reads the services and the chains once. */
  poll(): Promise<Snapshot> {
    this.#polling ??= this.#read().finally(() => (this.#polling = undefined));
    return this.#polling;
  }

  /** Polls and shows every `intervalMs` until `stop()`. */
  start(intervalMs: number): void {
    const tick = async () => {
      try {
        this.#show(await this.poll());
      } catch (e) {
        this.note(`view: ${(e as Error).message}`);
      }
      if (this.#timer !== undefined) this.#timer = setTimeout(() => void tick(), intervalMs);
    };
    this.#timer = setTimeout(() => void tick(), 0);
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #read(): Promise<Snapshot> {
    const chains = await Promise.all(this.#source.chains.map((c) => this.#readChain(c)));
    const services: Record<string, Record<string, number> | string> = {};
    await Promise.all(
      this.#source.services().map(async (s) => {
        if (s.url === undefined) return;
        try {
          const res = await fetch(`${s.url}/metrics`, { signal: AbortSignal.timeout(2_000) });
          services[s.name] = res.ok ? parseMetrics(await res.text()) : `HTTP ${res.status}`;
        } catch (e) {
          services[s.name] = `unreachable (${(e as Error).message})`;
        }
      }),
    );
    return {
      uptimeS: Math.round((Date.now() - this.#started) / 1000),
      chains,
      anchors: structuredClone(this.#anchors),
      ledgers: structuredClone(this.#ledgers),
      services,
      events: this.#events.slice(-8),
    };
  }

  async #readChain(c: ViewChain): Promise<{ name: string; chainId: string; block: number }> {
    const head = await c.provider.getBlockNumber();
    const from = this.#from.get(c.name) ?? 0;
    const name = (id: string): string => this.#source.names.get(id.toLowerCase()) ?? `${id.slice(0, 10)}…`;
    if (from <= head) {
      if (c.dataAnchor !== undefined) {
        const anchor = new Contract(c.dataAnchor, DataAnchor.abi as InterfaceAbi, c.provider);
        for (const log of await anchor.queryFilter(anchor.filters.Anchored!(), from, head)) {
          if (!("args" in log)) continue;
          const a = (this.#anchors[name(String(log.args[0]))] ??= { batches: 0, leaves: 0 });
          a.batches++;
          a.leaves += Number(log.args[3]);
        }
      }
      for (const [layer, address] of c.ledgers) {
        const ledger = new Contract(address, SummaryLedger.abi as InterfaceAbi, c.provider);
        const l = (this.#ledgers[layer] ??= { opened: 0, recorded: 0, accomplished: 0, replayed: 0, chain: c.name });
        for (const log of await ledger.queryFilter("*", from, head)) {
          if (!("eventName" in log)) continue;
          if (log.eventName === "BlockOpened") l.opened++;
          else if (log.eventName === "SummaryRecorded") l.recorded++;
          else if (log.eventName === "BlockAccomplished") l.accomplished++;
          else if (log.eventName === "SummaryReplayed") {
            l.replayed++;
            this.note(`alarm: ${layer} refused a replayed summary (block ${log.blockNumber} on ${c.name})`);
          }
        }
      }
      this.#from.set(c.name, head + 1);
    }
    return { name: c.name, chainId: String(c.chainId), block: head };
  }

  #show(s: Snapshot): void {
    if (this.#mode === "json") return this.#write(`${JSON.stringify(s)}\n`);
    if (this.#mode === "plain") return this.#write(`${summaryLine(s)}\n`);
    this.#write(`\x1b[H\x1b[2J${render(s).join("\n")}\n`);
  }
}

/** One line: blocks, anchors, ledgers. */
export function summaryLine(s: Snapshot): string {
  const chains = s.chains.map((c) => `${c.name} #${c.block}`).join(", ");
  const anchors = Object.entries(s.anchors).map(([g, a]) => `${g} ${a.batches}`);
  const ledgers = Object.entries(s.ledgers).map(([l, x]) => `${l} ${x.recorded}/${x.accomplished}`);
  return `[${s.uptimeS}s] ${chains} | anchors: ${anchors.join(", ") || "none yet"} | summaries/accomplished: ${ledgers.join(", ") || "none yet"}`;
}

const metricName = (n: string): string => n.replace(/^strata_/, "").replace(/_total$/, "");

/** The terminal screen. */
export function render(s: Snapshot): string[] {
  const lines = [
    `Strata — local deployment, up ${s.uptimeS}s  (Ctrl-C stops every process in order; logs in the log folder)`,
    "",
    `chains     ${s.chains.map((c) => `${c.name} (chain ${c.chainId}) block ${c.block}`).join("   ")}`,
    "",
    "anchored batch roots (DataAnchor)",
  ];
  const anchors = Object.entries(s.anchors);
  if (anchors.length === 0) lines.push("  none yet");
  for (const [g, a] of anchors)
    lines.push(`  ${g.padEnd(16)} ${String(a.batches).padStart(5)} batches ${String(a.leaves).padStart(7)} leaves`);
  const metric = (name: string) =>
    Object.entries(s.services)
      .filter((e): e is [string, Readonly<Record<string, number>>] => typeof e[1] !== "string")
      .filter(([, m]) => (m[name] ?? 0) > 0)
      .map(([service, m]) => `${service} ${m[name]}`);
  const signers = metric("strata_fog_endorsements_total");
  if (signers.length > 0) lines.push(`  sensitive batches endorsed (sign shares) by: ${signers.join(", ")}`);
  lines.push("", "alarms and refusals");
  const alarms = Object.entries(s.services).flatMap(([service, m]) =>
    typeof m === "string"
      ? []
      : Object.entries(m)
          .filter(
            ([k, v]) =>
              v > 0 && /(alarms|rejections|refusals|refused|rejected|rpc_errors|rounds_failed)_total$/.test(k),
          )
          .map(([k, v]) => `${service}: ${metricName(k)} ${v}`),
  );
  lines.push(...(alarms.length === 0 ? ["  none"] : alarms.map((a) => `  ${a}`)));
  lines.push("", "contracts (SummaryLedger per layer)");
  const ledgers = Object.entries(s.ledgers);
  if (ledgers.length === 0) lines.push("  none yet");
  for (const [l, x] of ledgers)
    lines.push(
      `  ${l.padEnd(16)} on ${x.chain.padEnd(8)} ${x.opened} opened, ${x.recorded} summaries, ${x.accomplished} accomplished, ${x.replayed} replays refused`,
    );
  lines.push("", "services (from /metrics)");
  for (const [name, m] of Object.entries(s.services).sort(([a], [b]) => a.localeCompare(b))) {
    const shown =
      typeof m === "string"
        ? m
        : Object.entries(m)
            .filter(([, v]) => v !== 0)
            .map(([k, v]) => `${metricName(k)} ${Number.isInteger(v) ? v : v.toFixed(2)}`)
            .join(", ");
    lines.push(`  ${name.padEnd(16)} ${shown.slice(0, 160)}`);
  }
  lines.push("", "events");
  for (const e of s.events) lines.push(`  ${e}`);
  return lines;
}
