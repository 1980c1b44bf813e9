/**
 * How the three SQLite stores open their files (docs/stores.md): a store is
 * checked before anything can write to it or checkpoint its log, and every
 * refusal is a `StoreError` naming the file, with the file and its `-wal`
 * left byte for byte as they were. Real files in a temporary directory.
 */
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";

import { expect } from "chai";

import { type Hex, toHex } from "../../../sdk/core/bytes.ts";
import { type Block, blockHash, ciphertextDigest, ZERO_HASH } from "../../../sdk/core/nbiot/block.ts";
import { StoreError, type StoreRejection } from "../../../sdk/errors.ts";
import { FogStore } from "../../../sdk/store/fog-store.ts";
import { type NewBlock, SqliteFlowStore } from "../../../sdk/store/flow-store.ts";
import { ObjectStore } from "../../../sdk/store/object-store.ts";

const randomId = (): Hex => toHex(crypto.getRandomValues(new Uint8Array(32)));
const LAYER = "strata://city/district-7/edge-3";

function blocks(station: Hex, count: number): NewBlock[] {
  const node = randomId();
  return Array.from({ length: count }, (_, i) => {
    const primary = crypto.getRandomValues(new Uint8Array(40));
    const block: Block = {
      node,
      bs: station,
      seq: i + 1,
      time: 1_800_000_000_000 + i,
      digest: ciphertextDigest(primary),
      prev: ZERO_HASH,
    };
    return { block, hash: blockHash(block), primary };
  });
}

/** The bytes of a file and of its -wal and -shm (`absent` for a missing one). */
function snapshot(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const suffix of ["", "-wal", "-shm"]) {
    const file = `${path}${suffix}`;
    out[suffix || "main"] = existsSync(file) ? createHash("sha256").update(readFileSync(file)).digest("hex") : "absent";
  }
  return out;
}

function refused(open: () => unknown, reason: StoreRejection, path: string): StoreError {
  let caught: unknown;
  try {
    (open() as { close(): void }).close();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected StoreError ${reason}`).to.be.instanceOf(StoreError);
  const error = caught as StoreError;
  expect(error.reason).to.equal(reason);
  expect(error.path).to.equal(path);
  expect(error.message).to.include(path);
  return error;
}

/** Expects `open` to be refused with `reason` and the file, its log and its -shm unchanged. */
function refusedUntouched(open: () => unknown, reason: StoreRejection, path: string): StoreError {
  const before = snapshot(path);
  const error = refused(open, reason, path);
  expect(snapshot(path)).to.deep.equal(before);
  return error;
}

describe("Store files", function () {
  let dir: string;
  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), "strata-store-files-"));
  });
  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  describe("a -wal next to the file", function () {
    it("refuses another station's -wal before SQLite replays it, and the station's blocks stay intact", function () {
      const [a, b] = [randomId(), randomId()];
      const pathA = join(dir, "a.sqlite");
      const pathB = join(dir, "b.sqlite");
      const storeA = new SqliteFlowStore(pathA, a);
      storeA.append(blocks(a, 3000));
      storeA.close(); // checkpointed: a.sqlite alone holds the 3,000 blocks
      const storeB = new SqliteFlowStore(pathB, b);
      storeB.append(blocks(b, 200));
      copyFileSync(`${pathB}-wal`, `${pathA}-wal`); // B's live log, copied next to A's file
      storeB.close();

      refusedUntouched(() => new SqliteFlowStore(pathA, a), "foreign-wal", pathA);
      refusedUntouched(() => SqliteFlowStore.open(pathA, a), "foreign-wal", pathA);
      rmSync(`${pathA}-wal`);
      const reopened = SqliteFlowStore.open(pathA, a);
      expect(reopened.counts().blocks).to.equal(3000);
      reopened.close();
    });

    it("refuses a -wal of another file made for the same station (it names another file nonce)", function () {
      const station = randomId();
      const path = join(dir, "s.sqlite");
      const other = join(dir, "other.sqlite");
      // another file made for the same station: same kind and owner, another nonce and header tag
      const first = SqliteFlowStore.create(other, station);
      first.append(blocks(station, 10));
      copyFileSync(`${other}-wal`, join(dir, "old.wal"));
      first.close();
      const store = SqliteFlowStore.create(path, station);
      store.append(blocks(station, 50));
      store.close();
      copyFileSync(join(dir, "old.wal"), `${path}-wal`);
      refusedUntouched(() => SqliteFlowStore.open(path, station), "foreign-wal", path);
    });

    it("opens its own -wal left by a crash (copied while the store was open) with every block", function () {
      const station = randomId();
      const path = join(dir, "live.sqlite");
      const copy = join(dir, "copy.sqlite");
      const store = SqliteFlowStore.create(path, station);
      store.append(blocks(station, 100));
      store.close();
      const again = SqliteFlowStore.open(path, station);
      again.append(blocks(station, 30).map((x) => ({ ...x, block: { ...x.block, seq: x.block.seq + 100 } })));
      copyFileSync(path, copy);
      copyFileSync(`${path}-wal`, `${copy}-wal`);
      again.close();
      const recovered = SqliteFlowStore.open(copy, station);
      expect(recovered.counts().blocks).to.equal(130);
      recovered.close();
    });
  });

  describe("create and open", function () {
    it("refuses a 0-byte file instead of opening it as a new store", function () {
      const path = join(dir, "empty.sqlite");
      writeFileSync(path, "");
      refusedUntouched(() => new SqliteFlowStore(path, randomId()), "empty", path);
      refusedUntouched(() => new FogStore(path, randomId()), "empty", path);
      refusedUntouched(() => new ObjectStore(path, LAYER), "empty", path);
      refusedUntouched(() => SqliteFlowStore.open(path, randomId()), "empty", path);
    });

    it("opens only what is there and creates only where nothing is", function () {
      const station = randomId();
      const path = join(dir, "s.sqlite");
      refused(() => SqliteFlowStore.open(path, station), "missing", path);
      refused(() => FogStore.open(path, station), "missing", path);
      refused(() => ObjectStore.open(path, LAYER), "missing", path);
      expect(existsSync(path)).to.equal(false);
      SqliteFlowStore.create(path, station).close();
      refusedUntouched(() => SqliteFlowStore.create(path, station), "exists", path);
      refusedUntouched(() => FogStore.create(path, station), "exists", path);
      SqliteFlowStore.open(path, station).close();
    });
  });

  describe("damaged files", function () {
    function filled(): { path: string; station: Hex } {
      const station = randomId();
      const path = join(dir, "s.sqlite");
      const store = SqliteFlowStore.create(path, station);
      store.append(blocks(station, 2000));
      store.close();
      return { path, station };
    }

    it("refuses a file with bytes overwritten in the middle, without writing to it", function () {
      const { path, station } = filled();
      const bytes = readFileSync(path);
      const middle = Math.floor(bytes.length / 2 / 4096) * 4096;
      bytes.fill(0xab, middle, middle + 4096);
      writeFileSync(path, bytes);
      refusedUntouched(() => new SqliteFlowStore(path, station), "corrupt", path);
    });

    it("refuses truncated files and files that are not SQLite", function () {
      const { path, station } = filled();
      const size = readFileSync(path).length;
      truncateSync(path, Math.floor(size / 2));
      refusedUntouched(() => new SqliteFlowStore(path, station), "corrupt", path);
      truncateSync(path, 50); // not even a whole header
      refusedUntouched(() => new SqliteFlowStore(path, station), "corrupt", path);
      writeFileSync(path, "station notes, not a database ".repeat(200));
      refusedUntouched(() => new SqliteFlowStore(path, station), "corrupt", path);
    });

    it("reads a damaged value as a typed error, never as empty bytes", function () {
      const station = randomId();
      const path = join(dir, "s.sqlite");
      const store = SqliteFlowStore.create(path, station);
      const [one] = blocks(station, 1);
      store.append([one!]);
      store.close();
      const raw = new DatabaseSync(path);
      raw.exec("UPDATE blocks SET hash = 'not bytes'");
      raw.close();
      const again = SqliteFlowStore.open(path, station);
      expect(() => again.block(one!.block.node, 1))
        .to.throw(StoreError)
        .with.property("reason", "corrupt");
      again.close();
    });

    it("refuses a store written by a newer schema", function () {
      const station = randomId();
      const path = join(dir, "s.sqlite");
      SqliteFlowStore.create(path, station).close();
      const raw = new DatabaseSync(path);
      raw.exec("UPDATE meta SET value = '99' WHERE key = 'schema'");
      raw.close();
      refusedUntouched(() => SqliteFlowStore.open(path, station), "schema", path);
    });
  });

  describe("identity", function () {
    const kinds = {
      flow: (path: string, id: Hex) => new SqliteFlowStore(path, id),
      fog: (path: string, id: Hex) => new FogStore(path, id),
      object: (path: string) => new ObjectStore(path, LAYER),
    } as const;

    for (const [made, make] of Object.entries(kinds)) {
      for (const [asked, open] of Object.entries(kinds)) {
        if (made === asked) continue;
        it(`refuses a ${made} store's file opened as a ${asked} store`, function () {
          const id = randomId();
          const path = join(dir, `${made}.sqlite`);
          make(path, id).close();
          const error = refusedUntouched(() => open(path, id), "wrong-kind", path);
          expect(error.details).to.include({ kind: made, expected: asked });
        });
      }
    }

    it("refuses another owner's store of the same kind", function () {
      const path = join(dir, "fog.sqlite");
      new FogStore(path, randomId()).close();
      refusedUntouched(() => FogStore.open(path, randomId()), "wrong-owner", path);
    });

    it("refuses an SQLite file that is no Strata store", function () {
      const path = join(dir, "other.sqlite");
      const raw = new DatabaseSync(path);
      raw.exec("CREATE TABLE notes (text TEXT)");
      raw.close();
      refusedUntouched(() => ObjectStore.open(path, LAYER), "wrong-kind", path);
    });

    it("opens a store made before kinds and file tags were kept, and tags it", function () {
      const station = randomId();
      const path = join(dir, "legacy.sqlite");
      const store = SqliteFlowStore.create(path, station);
      store.append(blocks(station, 5));
      store.close();
      const raw = new DatabaseSync(path);
      raw.exec("DELETE FROM meta WHERE key IN ('kind', 'file'); PRAGMA user_version = 0;");
      raw.close();
      refused(() => FogStore.open(path, station), "wrong-kind", path); // its owner key still says flow
      const reopened = SqliteFlowStore.open(path, station);
      expect(reopened.counts().blocks).to.equal(5);
      reopened.close();
      const check = new DatabaseSync(path, { readOnly: true });
      expect(check.prepare("SELECT value FROM meta WHERE key = 'kind'").get()).to.deep.include({ value: "flow" });
      expect(Number((check.prepare("PRAGMA user_version").get() as { user_version: number }).user_version)).to.be.above(
        0,
      );
      check.close();
    });
  });
});
