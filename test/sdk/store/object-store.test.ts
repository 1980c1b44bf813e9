/**
 * The edge layer's object database (seed 003 §III.A): objects keyed by local
 * id and by deviceId(uuid), versioned partial updates with optimistic
 * concurrency, class-prefix and permission queries paged by local id, typed
 * refusals, and a file that belongs to one layer across reopens.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";

import { deviceId } from "../../../sdk/core/ids.ts";
import { InvalidInputError, StoreError } from "../../../sdk/errors.ts";
import { type JsonObject, ObjectStore, ObjectStoreError } from "../../../sdk/store/object-store.ts";

const LAYER = "strata://city/district-7/edge-3";

describe("ObjectStore", function () {
  let dir: string;
  let clock: number;
  const open = (path = ":memory:", layer = LAYER) => new ObjectStore(path, layer, { now: () => clock });

  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), "strata-objects-"));
    clock = 1_800_000_000_000;
  });
  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it("creates an object with its UUID and on-chain id, and gets it both ways", function () {
    const store = open();
    const created = store.create({
      localId: 42n,
      classPath: "Device/Sensor/Temperature",
      permissions: 0b101,
      description: "roof thermometer",
      state: { address: "10.0.0.7", celsius: 21.5, tags: ["roof", null], nested: { ok: true } },
      functions: [{ name: "read_temperature", inputs: [], outputs: ["celsius"] }],
      formats: { reading: { type: "object", properties: { celsius: { type: "number" } } }, upstream: "CSV v1" },
    });
    const id = deviceId({ layer: LAYER, localId: 42n });
    expect(created).to.deep.include({
      uuid: { layer: LAYER, localId: 42n },
      id,
      localId: 42n,
      classPath: "Device/Sensor/Temperature",
      permissions: 5,
      description: "roof thermometer",
      version: 1,
      createdAt: clock,
      updatedAt: clock,
    });
    expect(created.state).to.deep.equal({
      address: "10.0.0.7",
      celsius: 21.5,
      tags: ["roof", null],
      nested: { ok: true },
    });
    expect(created.functions).to.deep.equal([{ name: "read_temperature", inputs: [], outputs: ["celsius"] }]);
    expect(created.formats.upstream).to.equal("CSV v1");
    expect(store.get(42n)).to.deep.equal(created);
    expect(store.get(id)).to.deep.equal(created);
    expect(store.get(43n)).to.equal(undefined);
    expect(store.get(deviceId({ layer: "strata://elsewhere", localId: 42n }))).to.equal(undefined);
    // defaults, and the next local id after the highest
    const next = store.create({ classPath: "User/Individual" });
    expect(next).to.deep.include({ localId: 43n, permissions: 0, description: "", version: 1 });
    expect(next.state).to.deep.equal({});
    expect(store.count()).to.equal(2);
    store.close();
  });

  it("refuses a duplicate local id and leaves the first object alone", function () {
    const store = open();
    store.create({ localId: 7n, classPath: "Device/Meter", description: "first" });
    expect(() => store.create({ localId: 7n, classPath: "Device/Other" }))
      .to.throw(ObjectStoreError)
      .with.property("reason", "duplicate");
    expect(store.get(7n)?.description).to.equal("first");
    expect(store.count()).to.equal(1);
    store.close();
  });

  it("updates partially, bumps the version and refuses a stale expected version", function () {
    const store = open();
    store.create({ localId: 1n, classPath: "Device/Light", state: { phase: "red" } });
    clock += 1000;
    const v2 = store.update(1n, { description: "traffic light", permissions: 3 }, 1);
    expect(v2).to.deep.include({ version: 2, description: "traffic light", permissions: 3, updatedAt: clock });
    expect(v2.createdAt).to.equal(clock - 1000);
    expect(v2.state).to.deep.equal({ phase: "red" }); // untouched
    clock += 1000;
    const v3 = store.setState(1n, { phase: "green" }, 2);
    expect(v3).to.deep.include({ version: 3, updatedAt: clock });
    expect(v3.state).to.deep.equal({ phase: "green" });
    // a writer still holding version 2 is refused, and nothing changes
    expect(() => store.update(1n, { description: "stale" }, 2))
      .to.throw(ObjectStoreError)
      .with.property("reason", "stale-version");
    expect(() => store.setState(1n, { phase: "red" }, 2))
      .to.throw(ObjectStoreError)
      .with.property("reason", "stale-version");
    expect(store.get(1n)).to.deep.include({ version: 3, description: "traffic light" });
    // without an expected version the write goes through
    expect(store.update(1n, { classPath: "Device/Light/Traffic" }).version).to.equal(4);
    expect(() => store.update(9n, { description: "x" }))
      .to.throw(ObjectStoreError)
      .with.property("reason", "not-found");
    expect(store.remove(1n)).to.equal(true);
    expect(store.remove(1n)).to.equal(false);
    expect(store.count()).to.equal(0);
    store.close();
  });

  it("queries by class prefix and permission bits, paged by local id", function () {
    const store = open();
    const classes = ["Device/Sensor/Temperature", "Device/Sensor", "Device/Sensors", "Device/Sensor_x", "User/Alice"];
    for (let i = 0; i < 20; i++) {
      store.create({ localId: BigInt(i * 10 + 5), classPath: classes[i % classes.length]!, permissions: i % 4 });
    }
    const under = store.query({ classPath: "Device/Sensor" });
    expect(under.map((o) => o.classPath)).to.satisfy((cs: string[]) =>
      cs.every((c) => c === "Device/Sensor" || c.startsWith("Device/Sensor/")),
    );
    expect(under).to.have.length(8);
    expect(store.query({ classPath: "Device" })).to.have.length(16);
    expect(store.query({ classPath: "Device/Sens" })).to.have.length(0);
    const withBit2 = store.query({ permission: 2 });
    expect(withBit2.every((o) => (o.permissions & 2) === 2)).to.equal(true);
    expect(withBit2).to.have.length(10);
    expect(store.query({ permission: 3, classPath: "Device" }).every((o) => o.permissions === 3)).to.equal(true);
    // paging: pages of 6 cover everything once, in local id order (big ids included)
    store.create({ localId: (1n << 255n) + 1n, classPath: "Device/Big" });
    const seen: bigint[] = [];
    let after: bigint | undefined;
    for (;;) {
      const page = store.query({ limit: 6, ...(after === undefined ? {} : { afterLocalId: after }) });
      if (page.length === 0) break;
      seen.push(...page.map((o) => o.localId));
      after = page[page.length - 1]!.localId;
    }
    expect(seen).to.have.length(21);
    expect(seen.at(-1)).to.equal((1n << 255n) + 1n);
    expect([...seen].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).to.deep.equal(seen);
    // the next local id follows the highest
    expect(() => store.create({ classPath: "Device/Big" })).to.not.throw();
    expect(store.get((1n << 255n) + 2n)?.classPath).to.equal("Device/Big");
    store.close();
  });

  it("refuses invalid inputs, naming the field", function () {
    expect(() => open(":memory:", "not a layer")).to.throw(InvalidInputError);
    expect(() => open("", LAYER)).to.throw(InvalidInputError);
    const store = open();
    const refuses = (f: () => unknown, field: string) => {
      let caught: unknown;
      try {
        f();
      } catch (e) {
        caught = e;
      }
      expect(caught, field).to.be.instanceOf(InvalidInputError);
      expect((caught as InvalidInputError).message, field).to.include(field);
    };
    refuses(() => store.create({ localId: -1n, classPath: "Device" }), "localId");
    refuses(() => store.create({ localId: 1n << 256n, classPath: "Device" }), "localId");
    refuses(() => store.create({ localId: 1 as unknown as bigint, classPath: "Device" }), "localId");
    refuses(() => store.create({ classPath: "Device//Sensor" }), "classPath");
    refuses(() => store.create({ classPath: "Device/Sensor/" }), "classPath");
    refuses(() => store.create({ classPath: "Device - Sensor" }), "classPath");
    refuses(() => store.create({ classPath: "Device", permissions: -1 }), "permissions");
    refuses(() => store.create({ classPath: "Device", permissions: 2 ** 32 }), "permissions");
    refuses(() => store.create({ classPath: "Device", state: [] as unknown as JsonObject }), "state");
    refuses(() => store.create({ classPath: "Device", state: { t: Number.NaN } }), "state.t");
    refuses(() => store.create({ classPath: "Device", state: { n: 1n } as unknown as JsonObject }), "state.n");
    refuses(
      () => store.create({ classPath: "Device", state: { at: new Date() } as unknown as JsonObject }),
      "state.at",
    );
    refuses(() => store.create({ classPath: "Device", state: { f: undefined } as unknown as JsonObject }), "state.f");
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    refuses(() => store.create({ classPath: "Device", state: cyclic as JsonObject }), "state.self");
    refuses(
      () => store.create({ classPath: "Device", functions: [{ name: "bad name", inputs: [], outputs: [] }] }),
      "functions[0].name",
    );
    refuses(
      () =>
        store.create({
          classPath: "Device",
          functions: [
            { name: "f", inputs: [], outputs: [] },
            { name: "f", inputs: [], outputs: [] },
          ],
        }),
      "functions[1].name",
    );
    refuses(() => store.create({ classPath: "Device", formats: { x: 3 as unknown as string } }), "formats.x");
    expect(store.count()).to.equal(0);
    store.create({ localId: 1n, classPath: "Device" });
    refuses(() => store.update(1n, {}), "patch");
    refuses(() => store.update(1n, { localId: 2n } as never), "patch");
    refuses(() => store.update(1n, { classPath: "bad path" }), "classPath");
    refuses(() => store.update(1n, { description: "x" }, 0), "expectedVersion");
    refuses(() => store.setState(1n, { v: Infinity }), "state.v");
    refuses(() => store.setState(-1n, {}), "localId");
    refuses(() => store.query({ limit: 0 }), "limit");
    refuses(() => store.query({ afterLocalId: -5n }), "afterLocalId");
    refuses(() => store.query({ permission: 0 }), "permission");
    refuses(() => store.query({ classPath: "Device/" }), "classPath");
    refuses(() => store.get("0x1234" as `0x${string}`), "id");
    expect(store.get(1n)?.version).to.equal(1); // refused writes changed nothing
    store.close();
  });

  it("persists across a reopen and refuses another layer's file", function () {
    const path = join(dir, "objects.sqlite");
    let store = open(path);
    store.create({ localId: 5n, classPath: "Device/Sensor", state: { v: 1 } });
    store.setState(5n, { v: 2 }, 1);
    store.close();
    expect(() => open(path, "strata://city/district-7/edge-4"))
      .to.throw(StoreError)
      .with.nested.property("details.layer", LAYER);
    store = open(path);
    expect(store.get(5n)).to.deep.include({ version: 2, classPath: "Device/Sensor" });
    expect(store.get(5n)?.state).to.deep.equal({ v: 2 });
    expect(store.get(deviceId({ layer: LAYER, localId: 5n }))?.localId).to.equal(5n);
    expect(() => store.create({ localId: 5n, classPath: "Device" }))
      .to.throw(ObjectStoreError)
      .with.property("reason", "duplicate");
    expect(store.count()).to.equal(1);
    store.close();
  });
});
