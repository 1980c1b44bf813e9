/**
 * Proof bundles of a base station's reading (seed 000), from the real data path on the
 * in-process network: a node hands readings to a registered station, which seals and signs its
 * batch (Cha–Cheon IBS) and anchors the root in `DataAnchor` from its own key. The bundle is
 * made from a light node's `ReadingProof` and from an application's verified `Reading`, checked
 * offline and on chain (anchored, then final), and every part tampered with fails its check.
 */
import { expect } from "chai";
import { network } from "hardhat";

import DataAnchorModule from "../../../ignition/modules/DataAnchor.ts";
import { type Hex } from "../../../sdk/index.ts";
import {
  type BundleVerdict,
  DataAnchorClient,
  parseBundle,
  type ReadingBundle,
  serializeBundle,
  verifyBundle,
} from "../../../sdk/exports/anchoring.ts";
import { Application, openPrimaryKey } from "../../../sdk/exports/nbiot.ts";
import { Kind } from "../../../sdk/exports/registry.ts";
import { enter, makeWorld, randomId, reading, sendAll, type World } from "../../helpers/nbiot.ts";
import { type City, coordinator, fullNode, type Node, registryFixture } from "../../helpers/registry.ts";

const { ethers, ignition, networkHelpers } = await network.create();
const deployRegistryFixture = registryFixture(ethers, ignition);

/** The last hex digit of `h` changed. */
const flip = (h: string): string => `${h.slice(0, -1)}${h.endsWith("0") ? "1" : "0"}`;
const failing = (v: BundleVerdict): string[] => v.checks.filter((c) => !c.ok).map((c) => c.check);

describe("proof bundles of a station's reading", function () {
  this.timeout(120_000);
  let w: World;
  let city: City;
  let station: Node;
  let anchorAddress: string;
  let registryAddress: string;
  let bundle: ReadingBundle;
  let fromApplication: ReadingBundle;

  before(async function () {
    city = await deployRegistryFixture();
    const coordinators = [await coordinator(city), await coordinator(city)];
    station = await fullNode(city, coordinators, Kind.BaseStation);
    registryAddress = await city.registry.getAddress();
    const { anchor } = (await ignition.deploy(DataAnchorModule, {
      parameters: { DataAnchor: { registry: registryAddress } },
    })) as unknown as { anchor: { getAddress(): Promise<string> } };
    anchorAddress = await anchor.getAddress();

    w = makeWorld();
    // the stations' and the application's clocks follow the chain's: blocks are dated before their anchor
    const now = Number((await ethers.provider.getBlock("latest"))!.timestamp) * 1000;
    const reader = new DataAnchorClient(anchorAddress, ethers.provider);
    const app = new Application({
      params: w.params,
      keys: w.applicationKeys(),
      anchors: reader,
      directory: w.directory,
    });
    const nodeId = randomId();
    const node = w.node(nodeId, openPrimaryKey(w.params, w.keys(nodeId), app.id, app.provision(nodeId, now)));
    const bs = w.station(station.id);
    await enter(node, bs, now);
    const seqs = sendAll(node, bs, [reading(21.5), reading(22), reading(35.2), reading(23.1), reading(22.8)], now);
    await bs.seal(now);
    const [anchored] = await bs.anchorPending(new DataAnchorClient(anchorAddress, station.key));
    expect(anchored!.anchor?.sequence).to.equal(1n);

    bundle = await reader.readingBundle(w.params, await bs.proof(nodeId, seqs[2]!));
    const { readings } = await app.acquire(nodeId, 0, now + 1, [bs]);
    fromApplication = await reader.readingBundle(w.params, readings[3]!);
  });

  after(function () {
    w?.cleanup();
  });

  const verify = (b: ReadingBundle, extra: { confirmations?: number; pkgMasterPublic?: Hex } = {}) =>
    verifyBundle(b, {
      provider: ethers.provider,
      trusted: { DataAnchor: anchorAddress, DeviceRegistry: registryAddress },
      confirmations: 3,
      ...extra,
    });

  it("carries the block, its path, the station's signature with the PKG key, and the anchor", function () {
    expect(bundle.kind).to.equal("reading");
    expect(bundle.anchor.gateway).to.equal(station.id.toLowerCase());
    expect(bundle.merkle.leafCount).to.equal(5);
    expect(bundle.merkle.proof.length).to.be.greaterThan(0);
    expect(bundle.station.pkg.masterPublic).to.equal(
      `0x${Buffer.from(w.params.backend.g2.toBytes(w.params.masterPublic)).toString("hex")}`,
    );
    expect(parseBundle(serializeBundle(bundle))).to.deep.equal(bundle);
  });

  it("verifies offline, then on chain: anchored, then final once enough blocks hold it", async function () {
    const offline = await verifyBundle(bundle);
    expect(offline.state).to.equal("offline");
    expect(offline.checks.map((c) => [c.check, c.ok])).to.deep.equal([
      ["reading", true],
      ["leaf", true],
      ["merkle", true],
      ["station signature", true],
    ]);
    for (const b of [bundle, fromApplication]) {
      const onChain = await verify(b);
      expect(failing(onChain)).to.deep.equal([]);
      expect(onChain.checks.map((c) => c.check)).to.include.members([
        "chain",
        "contract",
        "code",
        "transaction",
        "anchor",
        "on-chain proof",
        "station",
        "finality",
      ]);
      expect(onChain.state).to.equal("anchored");
    }
    await networkHelpers.mine(3);
    expect((await verify(bundle)).state).to.equal("final");
  });

  it("compares the bundle's PKG key with the one the verifier trusts", async function () {
    const trusted = bundle.station.pkg.masterPublic;
    const same = await verifyBundle(bundle, { pkgMasterPublic: trusted });
    expect(same.checks.at(-1)).to.include({ check: "pkg", ok: true });
    const other = makeWorld();
    try {
      const stranger =
        `0x${Buffer.from(other.params.backend.g2.toBytes(other.params.masterPublic)).toString("hex")}` as Hex;
      const verdict = await verify(bundle, { pkgMasterPublic: stranger });
      expect(verdict.state).to.equal("invalid");
      expect(failing(verdict)).to.deep.equal(["pkg"]);
    } finally {
      other.cleanup();
    }
  });

  it("names the check each tampered part fails", async function () {
    const json = JSON.parse(serializeBundle(bundle)) as {
      reading: { block: string };
      merkle: { proof: string[] };
      station: { signature: string; time: number };
      anchor: { chainId: string; contract: string; transaction: string; block: number };
    };
    type Json = typeof json;
    for (const [part, edit, check] of [
      ["the block (what was proved)", (b: Json) => (b.reading.block = flip(b.reading.block)), "reading"],
      ["a path element", (b: Json) => (b.merkle.proof[0] = flip(b.merkle.proof[0]!)), "merkle"],
      ["the station's signature", (b: Json) => (b.station.signature = flip(b.station.signature)), "station signature"],
      ["the signature's time (key epoch)", (b: Json) => (b.station.time += 1), "station signature"],
      ["the chain id", (b: Json) => (b.anchor.chainId = "1"), "chain"],
      ["the contract", (b: Json) => (b.anchor.contract = `0x${"12".repeat(20)}`), "contract"],
      ["the transaction", (b: Json) => (b.anchor.transaction = flip(b.anchor.transaction)), "transaction"],
      ["the block number", (b: Json) => (b.anchor.block += 1), "transaction"],
    ] as const) {
      const copy = structuredClone(json);
      edit(copy);
      const verdict = await verify(parseBundle(copy) as ReadingBundle);
      expect(verdict.state, part).to.equal("invalid");
      expect(failing(verdict), part).to.include(check);
    }
  });
});
