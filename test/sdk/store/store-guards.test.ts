/**
 * What the store open path guards beyond identity (docs/stores.md): a
 * rollback journal is never replayed, a new file appears at its path only
 * complete, every log is bound to its file (each commit writes page 1), one
 * writer holds a file at a time, an open reads the whole file only when it is
 * small or was not closed cleanly, and SQLite errors after open are
 * `StoreError`s. Every refusal leaves the file, its -wal, -shm and -journal
 * byte for byte as they were. Real files in a temporary directory.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";

import { expect } from "chai";

import { type Hex, toHex } from "../../../sdk/core/bytes.ts";
import { type Block, blockHash, ciphertextDigest, ZERO_HASH } from "../../../sdk/core/nbiot/block.ts";
import { StoreError, type StoreRejection } from "../../../sdk/errors.ts";
import { FogStore } from "../../../sdk/store/fog-store.ts";
import { type NewBlock, SqliteFlowStore } from "../../../sdk/store/flow-store.ts";
import { ObjectStore } from "../../../sdk/store/object-store.ts";
import { unboundCommits } from "../../../sdk/store/sqlite.ts";

const randomId = (): Hex => toHex(crypto.getRandomValues(new Uint8Array(32)));

function blocks(station: Hex, count: number, from = 1): NewBlock[] {
  const node = randomId();
  return Array.from({ length: count }, (_, i) => {
    const primary = crypto.getRandomValues(new Uint8Array(40));
    const block: Block = {
      node,
      bs: station,
      seq: from + i,
      time: 1_800_000_000_000 + i,
      digest: ciphertextDigest(primary),
      prev: ZERO_HASH,
    };
    return { block, hash: blockHash(block), primary };
  });
}

function seal(store: SqliteFlowStore, count: number): Hex {
  const ids = store.append(blocks(store.station, count));
  const root = toHex(randomBytes(32));
  store.saveBatch({
    number: store.lastBatchNumber + 1,
    root,
    leafCount: ids.length,
    firstId: ids[0]!,
    lastId: ids.at(-1)!,
    signature: new Uint8Array(64),
    createdAt: 0,
  });
  return root;
}

/** The bytes of a file and of its -wal, -shm and -journal (`absent` for a missing one). */
function snapshot(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const suffix of ["", "-wal", "-shm", "-journal"]) {
    const file = `${path}${suffix}`;
    out[suffix || "main"] = existsSync(file) ? createHash("sha256").update(readFileSync(file)).digest("hex") : "absent";
  }
  return out;
}

/** Expects `open` to be refused with `reason`, the file and its companions unchanged. */
function refusedUntouched(open: () => unknown, reason: StoreRejection, path: string): StoreError {
  const before = snapshot(path);
  let caught: unknown;
  try {
    (open() as { close(): void }).close();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected StoreError ${reason}`).to.be.instanceOf(StoreError);
  expect((caught as StoreError).reason).to.equal(reason);
  expect((caught as StoreError).path).to.equal(path);
  expect(snapshot(path)).to.deep.equal(before);
  return caught as StoreError;
}

/** A rollback journal SQLite would call hot: another database's, taken in the middle of a transaction. */
function hotJournal(dir: string): Buffer {
  const x = join(dir, "x.db");
  const db = new DatabaseSync(x);
  db.exec("PRAGMA page_size = 4096; CREATE TABLE t (v BLOB)");
  db.exec("BEGIN");
  const insert = db.prepare("INSERT INTO t VALUES (?)");
  for (let i = 0; i < 3000; i++) insert.run(randomBytes(100));
  db.exec("COMMIT");
  db.exec("PRAGMA cache_size = 2; BEGIN; UPDATE t SET v = randomblob(100)");
  const journal = readFileSync(`${x}-journal`);
  db.exec("ROLLBACK");
  db.close();
  return journal;
}

const repo = resolve(import.meta.dirname, "../../..");

/** Runs `script` (ES module source) in a child Node process from the repository, with `env`. */
function child(script: string, env: Record<string, string> = {}): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    cwd: repo,
    env: { ...process.env, ...env },
    encoding: "utf8",
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe("Store guards", function () {
  let dir: string;
  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), "strata-store-guards-"));
  });
  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  describe("a rollback journal", function () {
    it("refuses another database's hot journal next to a closed store, without replaying it", function () {
      const station = randomId();
      const path = join(dir, "s.sqlite");
      const store = SqliteFlowStore.create(path, station);
      store.append(blocks(station, 2000));
      store.close();
      writeFileSync(`${path}-journal`, hotJournal(dir));
      refusedUntouched(() => SqliteFlowStore.open(path, station), "journal", path);
      refusedUntouched(() => new SqliteFlowStore(path, station), "journal", path);
      refusedUntouched(() => new SqliteFlowStore(path, station, { mode: "create" }), "journal", path);
      rmSync(`${path}-journal`);
      const again = SqliteFlowStore.open(path, station);
      expect(again.counts().blocks).to.equal(2000);
      again.close();
    });

    it("refuses a journal next to a missing file instead of creating a store beside it", function () {
      const path = join(dir, "new.sqlite");
      writeFileSync(`${path}-journal`, hotJournal(dir));
      refusedUntouched(() => new FogStore(path, randomId()), "journal", path);
      expect(existsSync(path)).to.equal(false);
    });

    it("creates a file at its path only complete: a crash while creating leaves nothing there", function () {
      // a process that dies when SQLite deletes a rollback journal (the end of a transaction in rollback mode)
      const hook = join(dir, "crash.so");
      writeFileSync(
        join(dir, "crash.c"),
        `#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>
#include <unistd.h>
#include <stdlib.h>
static int ends(const char *p, const char *s){ size_t a=strlen(p), b=strlen(s); return a>=b && !strcmp(p+a-b,s); }
int unlink(const char *p){ if(getenv("CRASH_ON_JOURNAL_UNLINK") && ends(p,"-journal")) _exit(9);
  int (*r)(const char*)=dlsym(RTLD_NEXT,"unlink"); return r(p); }
`,
      );
      try {
        execFileSync("cc", ["-shared", "-fPIC", "-o", hook, join(dir, "crash.c"), "-ldl"], { stdio: "ignore" });
      } catch {
        this.skip(); // no C compiler here
      }
      const station = randomId();
      const path = join(dir, "s.sqlite");
      const crashed = child(
        `import { SqliteFlowStore } from "./sdk/store/flow-store.ts";
         SqliteFlowStore.create(${JSON.stringify(path)}, ${JSON.stringify(station)});`,
        { LD_PRELOAD: hook, CRASH_ON_JOURNAL_UNLINK: "1" },
      );
      expect(crashed.status, crashed.out).to.equal(9);
      expect(existsSync(path)).to.equal(false);
      expect(existsSync(`${path}-journal`)).to.equal(false);
      // the next start makes the store afresh, and it is the station's for good
      const store = new SqliteFlowStore(path, station);
      store.append(blocks(station, 5));
      store.close();
      const again = SqliteFlowStore.open(path, station);
      expect(again.counts().blocks).to.equal(5);
      again.close();
      expect(
        readdirSync(dir)
          .filter((f) => f.startsWith("s.sqlite"))
          .sort(),
      ).to.include("s.sqlite");
    });
  });

  describe("a -wal is bound to its file", function () {
    it("writes page 1 in every commit of the log, autocommit writes included", function () {
      const station = randomId();
      const path = join(dir, "s.sqlite");
      const store = SqliteFlowStore.create(path, station);
      seal(store, 10);
      store.markAnchored(1, { sequence: 1n, txHash: `0x${"ab".repeat(32)}`, time: 123n });
      store.rememberNonce("scope", "key", 10);
      copyFileSync(`${path}-wal`, join(dir, "copy.sqlite-wal"));
      copyFileSync(path, join(dir, "copy.sqlite"));
      store.close();
      expect(statSync(join(dir, "copy.sqlite-wal")).size).to.be.greaterThan(32);
      expect(unboundCommits(join(dir, "copy.sqlite"))).to.equal(0);
    });

    it("refuses another station's one-commit log that holds neither page 1 nor the meta page (equal page counts)", function () {
      function make(name: string): { station: Hex; path: string; root: Hex } {
        const station = randomId();
        const path = join(dir, name);
        const store = SqliteFlowStore.create(path, station);
        const root = seal(store, 500);
        store.close();
        return { station, path, root };
      }
      const a = make("a.sqlite");
      const b = make("b.sqlite");
      expect(statSync(a.path).size).to.equal(statSync(b.path).size);
      const storeA = SqliteFlowStore.open(a.path, a.station);
      storeA.markAnchored(1, { sequence: 1n, txHash: `0x${"ab".repeat(32)}`, time: 123n });
      copyFileSync(`${a.path}-wal`, `${b.path}-wal`);
      storeA.close();
      refusedUntouched(() => SqliteFlowStore.open(b.path, b.station), "foreign-wal", b.path);
      rmSync(`${b.path}-wal`);
      const storeB = SqliteFlowStore.open(b.path, b.station);
      expect(storeB.batch(1)?.root).to.equal(b.root);
      storeB.close();
    });
  });

  describe("one writer per file", function () {
    it("refuses a second open of an open store in the same process, the file untouched", function () {
      const station = randomId();
      const path = join(dir, "s.sqlite");
      const store = SqliteFlowStore.create(path, station);
      store.append(blocks(station, 20));
      refusedUntouched(() => SqliteFlowStore.open(path, station), "unavailable", path);
      refusedUntouched(() => new SqliteFlowStore(path, station), "unavailable", path);
      store.append(blocks(station, 5));
      expect(store.counts().blocks).to.equal(25);
      store.close();
      const fog = join(dir, "f.sqlite");
      const node = randomId();
      const first = new FogStore(fog, node);
      refusedUntouched(() => new FogStore(fog, node), "unavailable", fog);
      first.close();
      const objects = join(dir, "o.sqlite");
      const layer = "strata://city/district-7/edge-3";
      const one = new ObjectStore(objects, layer);
      refusedUntouched(() => new ObjectStore(objects, layer), "unavailable", objects);
      one.close();
    });

    it("refuses an open from another process while a store is open", function () {
      const station = randomId();
      const path = join(dir, "s.sqlite");
      const store = SqliteFlowStore.create(path, station);
      store.append(blocks(station, 20));
      // the file is read from the other process only: closing any descriptor of it here would drop this process's lock
      const other = child(
        `import { createHash } from "node:crypto";
         import { existsSync, readFileSync } from "node:fs";
         import { SqliteFlowStore } from "./sdk/store/flow-store.ts";
         const path = ${JSON.stringify(path)};
         const hash = () => ["", "-wal", "-shm", "-journal"].map((s) =>
           existsSync(path + s) ? createHash("sha256").update(readFileSync(path + s)).digest("hex") : "absent").join();
         const before = hash();
         try { SqliteFlowStore.open(path, ${JSON.stringify(station)}).close(); console.log("opened"); }
         catch (e) { console.log(e.name, e.reason, hash() === before ? "untouched" : "changed"); }`,
      );
      expect(other.out.trim()).to.equal("StoreError unavailable untouched");
      store.close();
    });
  });

  describe("the cost of an open", function () {
    function damaged(): { path: string; station: Hex; node: Hex } {
      const station = randomId();
      const path = join(dir, "s.sqlite");
      const store = SqliteFlowStore.create(path, station);
      const made = blocks(station, 3000);
      store.append(made);
      store.close();
      // a leaf page of the blocks table in the middle of the file: bit rot
      const bytes = readFileSync(path);
      const middle = Math.floor(bytes.length / 2 / 4096) * 4096;
      bytes.fill(0xab, middle + 100, middle + 4096);
      writeFileSync(path, bytes);
      return { path, station, node: made[0]!.block.node };
    }

    it("reads a large, cleanly closed file without a full check; verify() and the damaged read give StoreError corrupt", function () {
      const { path, station, node } = damaged();
      const big = new SqliteFlowStore(path, station, { mode: "open", integrityCheckBytes: 0 });
      expect(() => big.verify())
        .to.throw(StoreError)
        .with.property("reason", "corrupt");
      let caught: unknown;
      try {
        for (let seq = 1; seq <= 3000; seq++) big.block(node, seq);
      } catch (e) {
        caught = e;
      }
      expect(caught).to.be.instanceOf(StoreError);
      expect(caught).to.have.property("reason", "corrupt");
      big.close();
    });

    it("refuses a large, cleanly closed file cut short (its header's page count × page size is not its size), untouched", function () {
      const station = randomId();
      const path = join(dir, "cut.sqlite");
      const store = SqliteFlowStore.create(path, station);
      store.append(blocks(station, 3000));
      store.close();
      const bytes = readFileSync(path);
      const pageSize = bytes.readUInt16BE(16) === 1 ? 65536 : bytes.readUInt16BE(16);
      // our files keep the in-header page count valid (version-valid-for = change counter)
      expect(bytes.readUInt32BE(92)).to.equal(bytes.readUInt32BE(24));
      expect(bytes.readUInt32BE(28) * pageSize).to.equal(bytes.length);
      // cut by whole pages (SQLite itself sees fewer pages than the header names) and within the last
      // page (SQLite rounds the size up to whole pages and reads the missing tail as zeros)
      for (const cut of [3 * pageSize, 100]) {
        writeFileSync(path, bytes.subarray(0, bytes.length - cut));
        const refused = refusedUntouched(
          () => new SqliteFlowStore(path, station, { mode: "open", integrityCheckBytes: 0 }),
          "corrupt",
          path,
        );
        expect(refused.details).to.include({ size: bytes.length - cut, expectedSize: bytes.length });
        refusedUntouched(() => SqliteFlowStore.inspect(path, station, 0, { integrityCheckBytes: 0 }), "corrupt", path);
      }
    });

    it("checks the whole file at open when it is small, or when its last writer did not close (a -wal is there)", function () {
      const { path, station } = damaged();
      refusedUntouched(() => SqliteFlowStore.open(path, station), "corrupt", path);
      // the same damage, with a -wal left by a writer that did not close: checked in full however large
      const live = new SqliteFlowStore(path, station, { mode: "open", integrityCheckBytes: 0 });
      live.append(blocks(station, 1, 1));
      const copy = join(dir, "crashed.sqlite");
      copyFileSync(path, copy);
      copyFileSync(`${path}-wal`, `${copy}-wal`);
      live.close();
      refusedUntouched(
        () => new SqliteFlowStore(copy, station, { mode: "open", integrityCheckBytes: 0 }),
        "corrupt",
        copy,
      );
    });
  });
});
