/**
 * Seed 003's high-level layers:
 * - `layers.summary.record.gas`: a following summary recorded (statements
 *   4-5: one fresh slot), the receipt's gasUsed; baseline the least a record
 *   can do (`BaselineSummaryRecord`).
 * - `layers.attestation.verify{7,31}.gas`: verifying a quorum attestation (an
 *   aggregate BLS signature of exactly 2f+1 members, the worst case: f
 *   non-signers' keys subtracted) as a contract calling `isValidAttestation`
 *   pays it (`CryptoProbe.gasOfCall`, the same way `nbiot.verifyReading.gas`
 *   is measured); baseline one BLS signature under one key
 *   (`BLSSignatures.verify`, same probe). `...txGas` is the same check as a
 *   transaction of its own (21,000 and the calldata included).
 * - `layers.route.ms`: a 3-layer round trip (first communication from a
 *   vehicle to a traffic light through district A, the city and district B,
 *   each layer on its own in-process network, and the reply back), the median
 *   of the runs; baseline the ledger writes alone (the three opens with
 *   attestations made beforehand and the three records) on the same networks.
 */
import type { Metrics } from "./metrics.ts";

export async function ledgerMetrics(): Promise<Metrics> {
  const { network } = await import("hardhat");
  const { ethers } = await network.create();
  const { keccak256, toUtf8Bytes } = await import("ethers");
  const { attest, beginning, first, layerId, layerMembers, quorumOf } =
    await import("../test/contracts/ledger/layer.ts");
  const accounts = await ethers.getSigners();
  const sub = layerId("edge-0");
  const sum = (s: string): string => keccak256(toUtf8Bytes(s));

  async function deploy(n: number) {
    const members = layerMembers(
      n,
      accounts.slice(0, 4).map((a) => a.address),
      `bench-${n}`,
    );
    const args = beginning(`L1-${n}`, members, [{ layerId: sub, ledger: accounts[19]!.address, chainId: 31337n }]);
    const ledger = await ethers.deployContract("SummaryLedger", [args]);
    return { ledger, members };
  }

  const probe = await ethers.deployContract("CryptoProbe");
  const harness = await ethers.deployContract("CryptoHarness");
  async function probed(target: string, data: string): Promise<number> {
    const [ok, gas, returned] = (await probe.getFunction("gasOfCall").staticCall(target, data, 1_000_000n)) as [
      boolean,
      bigint,
      string,
    ];
    if (!ok || BigInt(returned) !== 1n) throw new Error("bench: the probed verification did not return true");
    return Number(gas);
  }

  async function verifyGas(n: number): Promise<{ call: number; tx: number }> {
    const { ledger, members } = await deploy(n);
    const digest = sum(`bench decision ${n}`);
    const a = attest(members, digest, first(quorumOf(n)));
    const data = ledger.interface.encodeFunctionData("isValidAttestation", [digest, a.signers, a.signature]);
    const call = await probed(await ledger.getAddress(), data);
    const tx = await accounts[0]!.sendTransaction({ to: await ledger.getAddress(), data });
    return { call, tx: Number((await tx.wait())!.gasUsed) };
  }

  /** The same-run baseline: one BLS signature under one key over a 32-byte digest, as a calling contract pays it. */
  async function singleVerifyGas(): Promise<{ call: number; tx: number }> {
    const [member] = layerMembers(1, [accounts[0]!.address], "bench-single");
    const digest = sum("bench single");
    const a = attest([member!], digest, [0]);
    const data = harness.interface.encodeFunctionData("blsVerifyPopScheme", [member!.publicKey, digest, a.signature]);
    const call = await probed(await harness.getAddress(), data);
    const tx = await harness.getFunction("blsVerifyPopSchemeTx")(member!.publicKey, digest, a.signature);
    return { call, tx: Number((await tx.wait())!.gasUsed) };
  }

  async function recordGas(): Promise<number> {
    const { ledger, members } = await deploy(7);
    const block = await ethers.provider.getBlock("latest");
    const now = BigInt(block!.timestamp);
    const request = {
      summary: sum("M1"),
      sourceLayer: sub,
      route: sum("route"),
      responsible: accounts[0]!.address,
      expiry: now + 3600n,
      deadline: now + 600n,
    };
    const a = attest(members, await ledger.getFunction("openDigest")(request), first(quorumOf(7)));
    await (await ledger.getFunction("open")(request, a.signers, a.signature)).wait();
    const blockId = (await ledger.getFunction("openingOf")(request.summary))[0] as string;
    const gas: number[] = [];
    for (let i = 2; i <= 4; i++) {
      const tx = await ledger.getFunction("record")(blockId, sum(`M${i}`), false);
      gas.push(Number((await tx.wait())!.gasUsed));
    }
    return Math.max(...gas);
  }

  /** The same-run baseline: the least a summary record can do (`BaselineSummaryRecord`), a following record. */
  async function baselineRecordGas(): Promise<number> {
    const baseline = await ethers.deployContract("BaselineSummaryRecord");
    const blockId = sum("baseline block");
    await (await baseline.getFunction("record")(blockId, sum("B1"))).wait();
    const gas: number[] = [];
    for (let i = 2; i <= 4; i++) {
      const tx = await baseline.getFunction("record")(blockId, sum(`B${i}`));
      gas.push(Number((await tx.wait())!.gasUsed));
    }
    return Math.max(...gas);
  }

  const verify7 = await verifyGas(7);
  const verify31 = await verifyGas(31);
  const single = await singleVerifyGas();
  const record = await recordGas();
  const minimal = await baselineRecordGas();
  const route = await routeMs();
  const target = { op: "<=", value: 150_000 } as const;
  const verifyBaseline = {
    name: "one BLS signature under one key (BLSSignatures.verify, calling contract)",
    value: single.call,
  };
  const txBaseline = { name: "one BLS signature under one key, as a transaction", value: single.tx };
  return {
    "layers.summary.record.gas": {
      value: record,
      unit: "gas",
      baseline: { name: "BaselineSummaryRecord (write-once summary + event)", value: minimal },
      target: { op: "<=", value: 50_000 },
    },
    "layers.attestation.verify7.gas": { value: verify7.call, unit: "gas", baseline: verifyBaseline, target },
    "layers.attestation.verify31.gas": { value: verify31.call, unit: "gas", baseline: verifyBaseline, target },
    "layers.attestation.verify7.txGas": { value: verify7.tx, unit: "gas", baseline: txBaseline },
    "layers.attestation.verify31.txGas": { value: verify31.tx, unit: "gas", baseline: txBaseline },
    "layers.route.ms": {
      value: route.route,
      unit: "ms",
      baseline: {
        name: "the same ledger writes alone (3 opens, attestations made beforehand, 3 records)",
        value: route.writes,
      },
    },
  };
}

/** A 3-layer round trip, each layer on its own in-process network: the median of `ROUTE_RUNS`, and the ledger writes alone. */
async function routeMs(): Promise<{ route: number; writes: number }> {
  const ROUTE_RUNS = 9;
  const { network } = await import("hardhat");
  const { utf8ToBytes } = await import("@noble/hashes/utils.js");
  const { backend, CITY, DISTRICT_A, DISTRICT_B, EDGE_A, EDGE_B, memberKey, testbed } =
    await import("../test/helpers/layers.ts");
  const { attest, quorumOf } = await import("../sdk/exports/layers.ts");
  const { summaryOf } = await import("../sdk/exports/layers.ts");
  const chains = [];
  for (const chainId of [31_501, 31_502, 31_503]) {
    const { ethers } = await network.create({ override: { chainId } });
    chains.push(await ethers.getSigners());
  }
  const bed = await testbed(chains);
  const layers = [DISTRICT_A, CITY, DISTRICT_B].map((x) => bed.layers.get(x)!);
  const route = layers.map((l) => l.layerId);
  const [a, b] = [bed.edges.get(EDGE_A)!, bed.edges.get(EDGE_B)!];
  const { median } = await import("./metrics.ts");

  const trips: number[] = [];
  for (let i = 0; i <= ROUTE_RUNS; i++) {
    const started = performance.now();
    const there = await bed.router.route(
      await a.open(bed.vehicle.localId, bed.light.uuid, utf8ToBytes(`green please #${i}`), route),
    );
    if (there.delivery === undefined) throw new Error("bench: the first communication was not delivered");
    const back = await bed.router.route(
      await b.follow(there.delivery.packet, bed.light.localId, utf8ToBytes(`ok #${i}`)),
    );
    if (back.delivery === undefined) throw new Error("bench: the reply was not delivered");
    if (i > 0) trips.push(performance.now() - started); // run 0 warms up
  }

  const writes: number[] = [];
  for (let i = 0; i <= ROUTE_RUNS; i++) {
    const opens = [];
    for (const [k, layer] of layers.entries()) {
      const node = layer.nodes[0]!;
      const provider = node.ledger.runner.provider!;
      const now = BigInt((await provider.getBlock("latest"))!.timestamp);
      const request = {
        summary: summaryOf(utf8ToBytes(`baseline ${i} ${k}`), now),
        sourceLayer: k === 0 ? bed.edges.get(EDGE_A)!.layerId : route[k - 1]!,
        route: summaryOf(utf8ToBytes("route"), now),
        responsible: node.node,
        expiry: now + 3600n,
        deadline: now + 600n,
      };
      const digest = await node.ledger.openDigest(request);
      const signers = layer.nodes.slice(0, quorumOf(layer.nodes.length)).map((n, index) => ({
        index,
        secretKey: memberKey(k === 1 ? CITY : k === 0 ? DISTRICT_A : DISTRICT_B, n.index),
      }));
      opens.push({ node, request, attestation: attest(backend, digest, signers) });
    }
    const started = performance.now();
    const blocks: `0x${string}`[] = [];
    for (const o of opens) blocks.push((await o.node.ledger.open(o.request, o.attestation)).blockId);
    for (const [k, o] of opens.entries())
      await o.node.ledger.record(blocks[k]!, summaryOf(utf8ToBytes(`r ${i} ${k}`), 1n));
    if (i > 0) writes.push(performance.now() - started);
  }
  return { route: median(trips), writes: median(writes) };
}
