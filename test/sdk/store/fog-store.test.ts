/**
 * The fog node's SQLite store on its own: each device's last sequence number and
 * the open store's tag pages come from rows of their own, agree with a full scan
 * of the readings, and are filled once for a file made before those rows existed.
 */
import { expect } from "chai";
import { DatabaseSync } from "node:sqlite";

import { type Hex } from "../../../sdk/core/bytes.ts";
import { type NewReading, type ReadingClass, FogStore } from "../../../sdk/store/fog-store.ts";
import { makeWorld, randomId, type World } from "../../helpers/nbiot.ts";

const TAGS = ["alarm", "a_arm", "hot", "Hot", "50%", "door"];

/** 12 devices, 30 readings each, mixed classes and tag sets, written in chunks that mix devices. */
function fill(store: FogStore): void {
  const devices = Array.from({ length: 12 }, () => randomId());
  let n = 0;
  for (let seq = 1; seq <= 30; seq += 3) {
    const chunk: { cls: ReadingClass; reading: NewReading }[] = [];
    for (const device of devices) {
      for (let s = seq + 2; s >= seq; s--) {
        n++;
        if ((n * 7) % 11 === 0) continue; // gaps: not every sequence number arrives
        const tags = TAGS.filter((_, k) => (n >> k) % 3 === 0);
        chunk.push({
          cls: n % 4 === 0 ? "sensitive" : "normal",
          reading: {
            device,
            seq: s,
            time: 1_800_000_000_000 + n,
            received: n,
            tags,
            reading: new Uint8Array([n & 255]),
          },
        });
      }
    }
    store.append(chunk);
  }
}

/** The full-scan answers, straight from the readings tables. */
function scan(path: string): { last: Map<Hex, number>; tagged: Map<string, number[]> } {
  const db = new DatabaseSync(path, { readOnly: true });
  const last = new Map<Hex, number>();
  const tagged = new Map<string, number[]>(TAGS.map((t) => [t, []]));
  for (const table of ["open_readings", "sensitive_readings"]) {
    for (const r of db.prepare(`SELECT id, device, seq, tags FROM ${table} ORDER BY id`).all()) {
      const device = `0x${Buffer.from(r.device as Uint8Array).toString("hex")}` as Hex;
      last.set(device, Math.max(last.get(device) ?? 0, Number(r.seq)));
      if (table === "open_readings") {
        for (const t of String(r.tags).split(",")) if (t !== "") tagged.get(t)!.push(Number(r.id));
      }
    }
  }
  db.close();
  return { last, tagged };
}

/** Every page of a tag, 7 readings at a time. */
function pages(store: FogStore, tag: string): number[] {
  const ids: number[] = [];
  for (;;) {
    const page = store.queryOpen({ tag, limit: 7, afterId: ids.at(-1) ?? 0 });
    for (const r of page) expect(r.tags).to.include(tag);
    ids.push(...page.map((r) => r.id));
    if (page.length < 7) return ids;
  }
}

function count(path: string, table: string): number {
  const db = new DatabaseSync(path, { readOnly: true });
  const n = Number((db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n);
  db.close();
  return n;
}

describe("FogStore hot paths", function () {
  let w: World;
  let node: Hex;
  beforeEach(function () {
    w = makeWorld();
    node = randomId();
  });
  afterEach(function () {
    w.cleanup();
  });

  it("keeps each device's last sequence in a row of its own, equal to a full scan, across a reopen", function () {
    const path = `${w.dir}/fog.sqlite`;
    // the store holds its file exclusively: the full scan reads it once the store is closed
    let store = new FogStore(path, node);
    fill(store);
    let seen = store.lastSequences();
    store.close();
    expect(seen).to.deep.equal(scan(path).last);
    store = new FogStore(path, node);
    seen = store.lastSequences();
    store.close();
    expect(seen).to.deep.equal(scan(path).last);
    expect(count(path, "device_last")).to.equal(12);
  });

  it("pages a tag exactly (no pattern characters, case kept) through its tag rows, as a full scan finds it", function () {
    const path = `${w.dir}/tags.sqlite`;
    let store = new FogStore(path, node);
    fill(store);
    store.close(); // the store holds its file exclusively: the full scan reads it closed
    const { tagged } = scan(path);
    store = new FogStore(path, node);
    for (const tag of TAGS) expect(pages(store, tag), tag).to.deep.equal(tagged.get(tag));
    // with a device and a time range as well
    const some = store.queryOpen({ limit: 1 })[0]!;
    const expected = store
      .queryOpen({ device: some.device, limit: 10_000 })
      .filter((r) => r.tags.includes("hot") && r.time >= some.time)
      .map((r) => r.id);
    expect(store.queryOpen({ tag: "hot", device: some.device, from: some.time }).map((r) => r.id)).to.deep.equal(
      expected,
    );
    store.close();
  });

  it("fills the last-sequence and tag rows once from the readings of a file made before they existed", function () {
    const path = `${w.dir}/old.sqlite`;
    let store = new FogStore(path, node);
    fill(store);
    store.close();
    const db = new DatabaseSync(path);
    db.exec("DROP TABLE IF EXISTS device_last; DROP TABLE IF EXISTS open_tags");
    db.close();
    store = new FogStore(path, node);
    const seen = store.lastSequences();
    const paged = TAGS.map((tag) => pages(store, tag));
    store.close(); // the store holds its file exclusively: the full scan reads it closed
    const { last, tagged } = scan(path);
    expect(seen).to.deep.equal(last);
    TAGS.forEach((tag, i) => expect(paged[i], tag).to.deep.equal(tagged.get(tag)));
    expect(count(path, "device_last")).to.equal(12);
    expect(count(path, "open_tags")).to.equal([...tagged.values()].reduce((a, ids) => a + ids.length, 0));
  });
});
