/**
 * Parsing proof bundles (sdk/core/bundle/parse.ts): a well-formed bundle of each kind reads back
 * as written, and every field of every kind, missing or of the wrong type, is refused with an
 * `InvalidInputError` that names it (`bundle.<path>`). The checks themselves run on real bundles
 * in test/sdk/contracts/bundle-*.test.ts.
 */
import { expect } from "chai";

import { InvalidInputError } from "../../../sdk/index.ts";
import { BUNDLE_KINDS, parseBundle, serializeBundle, verifyBundle } from "../../../sdk/exports/anchoring.ts";
import { blockHash, encodeBlock } from "../../../sdk/exports/nbiot.ts";
import { toHex } from "../../../sdk/index.ts";

const word = (b: string): string => `0x${b.repeat(64)}`;
const bytes = (n: number, b = "ab"): string => `0x${b.repeat(n)}`;
const anchor = {
  chainId: "31337",
  contract: `0x${"12".repeat(20)}`,
  gateway: word("a"),
  sequence: "7",
  transaction: word("b"),
  block: 42,
};
const merkle = { root: word("c"), leafCount: 5, proof: [word("d"), word("e")] };
const head = { format: "strata-proof", version: 1 };

/** A well-formed bundle of each kind (values are shapes only: parsing checks no hash). */
const BUNDLES: Record<string, Record<string, unknown>> = {
  record: { ...head, kind: "record", record: { hash: word("1"), name: "export.csv" }, leaf: word("2"), merkle, anchor },
  reading: {
    ...head,
    kind: "reading",
    reading: { block: bytes(145), hash: word("3") },
    leaf: word("4"),
    merkle,
    station: {
      batch: 3,
      time: 1_800_000_000_000,
      signature: bytes(96),
      pkg: { masterPublic: bytes(96), keyEpochMs: 86_400_000 },
    },
    anchor,
  },
  batch: {
    ...head,
    kind: "batch",
    reading: { bytes: bytes(300), hash: word("5") },
    leaf: word("6"),
    merkle,
    cluster: { groupKey: bytes(256), signature: bytes(128) },
    anchor,
  },
  summary: {
    ...head,
    kind: "summary",
    summary: { value: word("7"), message: bytes(20), time: "1800000000000" },
    layer: { id: word("8"), blockId: word("9") },
    opening: {
      request: {
        summary: word("7"),
        sourceLayer: word("f"),
        route: word("e"),
        responsible: `0x${"34".repeat(20)}`,
        expiry: "1800000000",
        deadline: "1799990000",
      },
      attestation: { signers: "7", signature: bytes(128) },
      keys: [0, 1, 2].map((index) => ({ index, publicKey: bytes(256) })),
      transaction: word("b"),
      block: 42,
    },
    anchor: { chainId: "31337", contract: `0x${"12".repeat(20)}`, transaction: word("b"), block: 42 },
  },
};

/** Every leaf of a JSON value, by path (`a.b`, `a.b[0]`). */
function leaves(value: unknown, path = ""): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => leaves(v, `${path}[${i}]`));
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).flatMap(([k, v]) => leaves(v, path === "" ? k : `${path}.${k}`));
  }
  return [path];
}

/** `doc` with the field at `path` set to `value` (undefined: removed). */
function withField(doc: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(doc);
  const keys = path.replace(/\[(\d+)\]/g, ".$1").split(".");
  let at = copy as Record<string, unknown>;
  for (const k of keys.slice(0, -1)) at = at[k] as Record<string, unknown>;
  const last = keys.at(-1)!;
  if (value === undefined) delete at[last];
  else at[last] = value;
  return copy;
}

function refusal(doc: unknown): InvalidInputError {
  try {
    parseBundle(doc);
  } catch (error) {
    expect(error).to.be.instanceOf(InvalidInputError);
    return error as InvalidInputError;
  }
  return expect.fail("parsed");
}

describe("proof bundles: parsing", () => {
  for (const kind of BUNDLE_KINDS) {
    describe(`a ${kind} bundle`, () => {
      const doc = BUNDLES[kind]!;

      it("reads back as written, hex in lower case", () => {
        const parsed = parseBundle(JSON.stringify(doc));
        expect(parsed.kind).to.equal(kind);
        expect(JSON.parse(serializeBundle(parsed))).to.deep.equal(doc);
        const upper = JSON.stringify(doc).replace(/0x([0-9a-f]+)/g, (_m, h: string) => `0x${h.toUpperCase()}`);
        expect(JSON.parse(serializeBundle(parseBundle(upper)))).to.deep.equal(doc);
      });

      it("names each field that is missing or of the wrong type", () => {
        /** Whether the refusal names `path` or the object or array that holds it. */
        const names = (path: string, field: string): boolean =>
          path === field || path.startsWith(`${field}.`) || path.startsWith(`${field}[`);
        for (const path of leaves(doc)) {
          for (const bad of [null, true, "0xzz", -1, 1.5]) {
            if (path === "record.name" && typeof bad === "string") continue; // any string is a name
            const e = refusal(withField(doc, path, bad));
            expect(names(path, String(e.details.field)), `${path} = ${String(bad)}: ${e.message}`).to.equal(true);
            expect(e.message).to.match(/^bundle[.:]/);
          }
          // optional fields (a summary's message and time go together: tested below); array items have no name
          if (["record.name", "summary.message", "summary.time"].includes(path) || path.includes("[")) continue;
          const e = refusal(withField(doc, path, undefined));
          expect(names(path, String(e.details.field)), `${path} missing: ${e.message}`).to.equal(true);
        }
      });
    });
  }

  it("refuses another format, version or kind, and text that is not JSON", () => {
    expect(refusal({ ...BUNDLES.record, format: "other" }).details.field).to.equal("format");
    expect(refusal({ ...BUNDLES.record, version: 2 }).details.field).to.equal("version");
    expect(refusal({ ...BUNDLES.record, kind: "ledger" }).details.field).to.equal("kind");
    expect(refusal("{").message).to.match(/not JSON/);
    expect(refusal([]).message).to.match(/expected an object/);
  });

  it("takes a summary's message and time together or not at all", () => {
    const summary = BUNDLES.summary!;
    const bare = withField(withField(summary, "summary.message", undefined), "summary.time", undefined);
    expect(parseBundle(bare).kind).to.equal("summary");
    expect(refusal(withField(summary, "summary.time", undefined)).details.field).to.equal("summary.time");
    expect(refusal(withField(summary, "summary.message", undefined)).details.field).to.equal("summary.message");
  });

  it("refuses values out of range: sizes of keys and signatures, uint64 sequences, leaf counts", () => {
    const reading = BUNDLES.reading!;
    expect(refusal(withField(reading, "station.signature", bytes(95))).details.field).to.equal("station.signature");
    expect(refusal(withField(reading, "reading.block", bytes(144))).details.field).to.equal("reading.block");
    expect(refusal(withField(reading, "anchor.sequence", (1n << 64n).toString())).details.field).to.equal(
      "anchor.sequence",
    );
    expect(refusal(withField(reading, "merkle.leafCount", 0)).details.field).to.equal("merkle.leafCount");
    const batch = BUNDLES.batch!;
    expect(refusal(withField(batch, "cluster.groupKey", bytes(96))).details.field).to.equal("cluster.groupKey");
    const summary = BUNDLES.summary!;
    expect(refusal(withField(summary, "opening.keys[1].index", 64)).details.field).to.equal("opening.keys[1].index");
    expect(refusal(withField(summary, "opening.request.expiry", (1n << 40n).toString())).details.field).to.equal(
      "opening.request.expiry",
    );
  });
});

describe("proof bundles: offline checks of odd but well-formed values", () => {
  it("checks a reading whose block is dated beyond what a Date holds, without crashing", async () => {
    const block = {
      node: word("1") as `0x${string}`,
      bs: anchor.gateway as `0x${string}`, // the station that anchored
      seq: 5,
      time: 9e15,
      digest: new Uint8Array(32).fill(3),
      prev: new Uint8Array(32).fill(4),
    };
    const raw = structuredClone(BUNDLES.reading!) as { reading: { block: string; hash: string } };
    raw.reading = { block: toHex(encodeBlock(block)), hash: toHex(blockHash(block)) };
    const verdict = await verifyBundle(parseBundle(JSON.stringify(raw)));
    expect(verdict.state).to.equal("invalid"); // its path and signature are made up
    const reading = verdict.checks.find((c) => c.check === "reading")!;
    expect(reading.ok).to.equal(true);
    expect(reading.detail).to.match(/9000000000000000 ms/);
  });
});
