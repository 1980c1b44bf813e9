/**
 * Simulated NB-IoT nodes (seed 000's sensing layer) for the demo, tests and load: each device is
 * an `NbiotNode` with identity keys from the key servers, authenticating to a base station over
 * CoAP, sending readings at a rate, re-entering and re-sending after any refusal, and moving to
 * the next station every `handoverEvery` readings (a handover). Each device's state — its tip,
 * and every sealed reading not yet confirmed — is written to a SQLite file before the frame
 * leaves, so a restarted simulator resumes where it stopped and never seals two readings under
 * one sequence number (the station would refuse the second as a `conflict`).
 *
 * The simulator makes each device's primary key itself and keeps it in its state: seed 000 has
 * the application provision it (`sealPrimaryKey`); here the simulator stands in for both.
 */
import { DatabaseSync } from "node:sqlite";

import { type Hex } from "../../sdk/core/bytes.ts";
import { NbiotNode } from "../../sdk/core/nbiot/device.ts";
import type { ChainTip } from "../../sdk/core/nbiot/handshake.ts";
import type { NbiotParams, NodeKeys } from "../../sdk/core/nbiot/params.ts";
import { InvalidInputError, RejectionError, StrataError } from "../../sdk/errors.ts";
import { type CoapTarget, coapPost, coapTarget } from "./nbiot-coap.ts";

/** A device the simulator runs: its registered id and device key (which proves it to the key servers). */
export interface SimDevice {
  readonly id: Hex;
  readonly privateKey: Hex;
}

/** A station the devices reach: its registered id and CoAP URL. */
export interface SimStation {
  readonly id: Hex;
  readonly url: string;
}

export interface NbiotSimOptions {
  readonly params: NbiotParams;
  readonly stations: readonly SimStation[];
  readonly devices: readonly SimDevice[];
  /** The SQLite file of the devices' state (created if missing). */
  readonly statePath: string;
  /** A device's identity keys (the key servers: `requestIdentityKeys`). */
  readonly nodeKeys: (device: SimDevice) => Promise<NodeKeys>;
  /** Readings per second per device. */
  readonly rate: number;
  /** Readings per device, then the device stops once all are confirmed (default: until `stop`). */
  readonly count?: number;
  /** Readings a device sends at one station before it moves to the next (default: never moves). */
  readonly handoverEvery?: number;
  /** The devices' clock (ms). */
  readonly clock?: () => number;
  /** Longest wait of one CoAP exchange (ms). */
  readonly timeoutMs?: number;
  /** Told of each refusal (logs). */
  readonly onRefusal?: (device: Hex, error: StrataError) => void;
}

export interface SimSummary {
  readonly devices: number;
  /** Readings sealed and sent (each a new sequence number) in this run. */
  sent: number;
  /** Receipts accepted in this run. */
  receipted: number;
  /** Readings every device holds confirmed (its tip), over all runs. */
  confirmed: number;
  /** Readings sent and not confirmed when the run ended. */
  unconfirmed: number;
  /** Entries (authentications) made. */
  entries: number;
  /** Session renewals made. */
  renewals: number;
  /** Refusals by reason (or error name). */
  refused: Record<string, number>;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS devices (
  id TEXT PRIMARY KEY,
  primary_key BLOB NOT NULL,
  tip_bs TEXT, tip_seq INTEGER, tip_hash BLOB,
  station INTEGER NOT NULL,
  at_station INTEGER NOT NULL DEFAULT 0,
  sent INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS outbox (
  id TEXT NOT NULL, seq INTEGER NOT NULL, primary_ct BLOB NOT NULL, PRIMARY KEY (id, seq)
);`;

interface DeviceRow {
  primary_key: Uint8Array;
  tip_bs: string | null;
  tip_seq: number | null;
  tip_hash: Uint8Array | null;
  station: number;
  at_station: number;
  sent: number;
}

/** The durable state of the simulated devices. */
export class SimState {
  readonly #db: DatabaseSync;

  constructor(path: string) {
    this.#db = new DatabaseSync(path);
    this.#db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
    this.#db.exec(SCHEMA);
  }

  device(id: Hex): DeviceRow | undefined {
    return this.#db.prepare("SELECT * FROM devices WHERE id = ?").get(id) as DeviceRow | undefined;
  }

  create(id: Hex, primaryKey: Uint8Array, station: number): void {
    this.#db
      .prepare("INSERT OR IGNORE INTO devices (id, primary_key, station) VALUES (?, ?, ?)")
      .run(id, primaryKey, station);
  }

  outbox(id: Hex): Map<number, Uint8Array> {
    const rows = this.#db.prepare("SELECT seq, primary_ct FROM outbox WHERE id = ? ORDER BY seq").all(id) as {
      seq: number;
      primary_ct: Uint8Array;
    }[];
    return new Map(rows.map((r) => [r.seq, r.primary_ct]));
  }

  /** A sealed reading, kept before its frame leaves. */
  sealed(id: Hex, seq: number, primary: Uint8Array, sent: number): void {
    this.#db.prepare("INSERT OR REPLACE INTO outbox (id, seq, primary_ct) VALUES (?, ?, ?)").run(id, seq, primary);
    this.#db.prepare("UPDATE devices SET sent = ? WHERE id = ?").run(sent, id);
  }

  /** The device's confirmed tip: readings up to it leave the outbox. */
  confirmed(id: Hex, tip: ChainTip): void {
    this.#db
      .prepare("UPDATE devices SET tip_bs = ?, tip_seq = ?, tip_hash = ? WHERE id = ?")
      .run(tip.bs, tip.seq, tip.hash, id);
    this.#db.prepare("DELETE FROM outbox WHERE id = ? AND seq <= ?").run(id, tip.seq);
  }

  moved(id: Hex, station: number, atStation: number): void {
    this.#db.prepare("UPDATE devices SET station = ?, at_station = ? WHERE id = ?").run(station, atStation, id);
  }

  /** Every device's confirmed sequence number and primary key (what a test checks acquisition against). */
  all(): { id: Hex; tipSeq: number; primaryKey: Uint8Array; unconfirmed: number }[] {
    const rows = this.#db
      .prepare(
        "SELECT d.id, d.tip_seq, d.primary_key, (SELECT COUNT(*) FROM outbox o WHERE o.id = d.id) AS waiting FROM devices d",
      )
      .all() as { id: Hex; tip_seq: number | null; primary_key: Uint8Array; waiting: number }[];
    return rows.map((r) => ({ id: r.id, tipSeq: r.tip_seq ?? 0, primaryKey: r.primary_key, unconfirmed: r.waiting }));
  }

  close(): void {
    this.#db.close();
  }
}

/** What a device sends: a small JSON reading. */
function reading(device: number, n: number, now: number): Uint8Array {
  const celsius = Math.round((20 + 5 * Math.sin(n / 7) + device / 100) * 10) / 10;
  return new TextEncoder().encode(JSON.stringify({ d: device, n, celsius, at: now }));
}

export class NbiotSimulator {
  readonly summary: SimSummary;
  readonly #o: NbiotSimOptions;
  readonly #state: SimState;
  readonly #targets: CoapTarget[];
  readonly #clock: () => number;
  #stopping = false;
  readonly #wake = new Set<() => void>();

  constructor(options: NbiotSimOptions) {
    if (options.stations.length === 0) throw new InvalidInputError("the simulator needs a station");
    if (!(options.rate > 0)) throw new InvalidInputError("rate is readings per second per device, above 0");
    this.#o = options;
    this.#targets = options.stations.map((s) => coapTarget(s.url));
    this.#state = new SimState(options.statePath);
    this.#clock = options.clock ?? Date.now;
    this.summary = {
      devices: options.devices.length,
      sent: 0,
      receipted: 0,
      confirmed: 0,
      unconfirmed: 0,
      entries: 0,
      renewals: 0,
      refused: {},
    };
  }

  /** Runs every device until each has sent `count` readings, all confirmed, or until `stop`. */
  async run(): Promise<SimSummary> {
    try {
      await Promise.all(this.#o.devices.map((d, i) => this.#device(d, i)));
    } finally {
      const all = this.#state.all();
      this.summary.confirmed = all.reduce((n, d) => n + d.tipSeq, 0);
      this.summary.unconfirmed = all.reduce((n, d) => n + d.unconfirmed, 0);
      this.#state.close();
    }
    return this.summary;
  }

  /** Devices finish the exchange under way, then stop. */
  stop(): void {
    this.#stopping = true;
    for (const wake of this.#wake) wake();
  }

  #pause(ms: number): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#wake.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#wake.add(wake);
    });
  }

  #refused(device: Hex, e: unknown): StrataError {
    const error = e instanceof StrataError ? e : new StrataError(String(e));
    const key = error instanceof RejectionError ? String(error.reason) : error.name;
    this.summary.refused[key] = (this.summary.refused[key] ?? 0) + 1;
    this.#o.onRefusal?.(device, error);
    return error;
  }

  async #device(device: SimDevice, index: number): Promise<void> {
    const o = this.#o;
    const id = device.id.toLowerCase() as Hex;
    // spread the devices' first readings over one interval
    const interval = 1000 / o.rate;
    await this.#pause(Math.floor((interval * index) / Math.max(1, o.devices.length)));
    const keys = await o.nodeKeys(device);
    this.#state.create(id, crypto.getRandomValues(new Uint8Array(32)), index % o.stations.length);
    const row = this.#state.device(id)!;
    const tip: ChainTip | undefined =
      row.tip_seq === null ? undefined : { bs: row.tip_bs as Hex, seq: row.tip_seq, hash: row.tip_hash! };
    const node = new NbiotNode(o.params, keys, row.primary_key, {
      ...(tip === undefined ? {} : { tip }),
      unconfirmed: this.#state.outbox(id),
    });
    let station = row.station;
    let atStation = row.at_station;
    let sent = row.sent;
    let live = false;
    let failures = 0;
    const timeout = { timeoutMs: o.timeoutMs ?? 15_000 };

    const confirm = () => {
      if (node.tip !== undefined) this.#state.confirmed(id, node.tip);
    };
    /** Posts a frame and takes its receipt. */
    const post = async (frame: Uint8Array) => {
      const receipt = await coapPost(this.#targets[station]!, "/frames", frame, timeout);
      const before = node.tip?.seq ?? 0;
      node.onReceipt(receipt);
      if ((node.tip?.seq ?? 0) > before) {
        this.summary.receipted++;
        confirm();
      }
    };
    const enter = async () => {
      const now = this.#clock();
      const bs = o.stations[station]!.id;
      const response = await coapPost(this.#targets[station]!, "/auth", node.enter(bs, now), timeout);
      node.accept(response, this.#clock());
      this.summary.entries++;
      confirm();
      // what the station has not confirmed is sent again (the same primary ciphertext)
      for (const frame of node.resend(this.#clock())) await post(frame);
      live = true;
    };

    while (!this.#stopping) {
      const done = o.count !== undefined && sent >= o.count;
      if (done && node.unconfirmed.length === 0) break;
      try {
        if (live && node.shouldRenew(this.#clock())) {
          // the next session key, symmetric only; a refused renewal means entering again
          try {
            const now = this.#clock();
            node.onRenewal(await coapPost(this.#targets[station]!, "/renew", node.renew(now), timeout), this.#clock());
            this.summary.renewals++;
          } catch (e) {
            this.#refused(id, e);
            live = false;
          }
        }
        if (!live) await enter();
        if (!done) {
          if (o.handoverEvery !== undefined && atStation >= o.handoverEvery && o.stations.length > 1) {
            station = (station + 1) % o.stations.length;
            atStation = 0;
            this.#state.moved(id, station, atStation);
            live = false;
            continue;
          }
          const frame = node.send(reading(index, sent + 1, this.#clock()), this.#clock());
          const seq = node.lastSeq;
          sent++;
          atStation++;
          this.summary.sent++;
          this.#state.sealed(id, seq, node.sealed(seq)!, sent);
          this.#state.moved(id, station, atStation);
          await post(frame);
        } else {
          live = false; // confirmed readings missing: enter again, which sends them again
        }
        failures = 0;
        await this.#pause(interval);
      } catch (e) {
        this.#refused(id, e);
        live = false;
        failures++;
        await this.#pause(Math.min(interval * 2 ** Math.min(failures, 6), 10_000));
      }
    }
  }
}

/** A device's registered id in hex, checked (for files listing devices). */
export function deviceFromJson(v: unknown, where: string): SimDevice {
  const d = v as { id?: unknown; privateKey?: unknown };
  if (typeof d?.id !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(d.id)) {
    throw new InvalidInputError(`${where}: id must be a 32-byte hex id`, { field: `${where}/id` });
  }
  if (typeof d.privateKey !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(d.privateKey)) {
    throw new InvalidInputError(`${where}: privateKey must be a 32-byte hex key`, { field: `${where}/privateKey` });
  }
  return { id: d.id as Hex, privateKey: d.privateKey as Hex };
}
