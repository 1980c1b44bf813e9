/**
 * Anchoring metrics (seed 000, issue 4): gas of `DataAnchor.anchor` as a
 * gateway's key pays it, and of `verifyReading` for a real 2^20-leaf tree, on
 * a fresh in-process chain (Ignition deployments, driven through the SDK),
 * next to an EAS-style write-once `timestamp(bytes32)` measured in the same run.
 *
 * `nbiot.anchor.gas` is the receipt's `gasUsed` of a gateway's non-first anchor
 * (21,000 base, calldata, execution); it is checked to be identical for 1 and
 * 2^20 leaves, whose roots are chosen without zero bytes so that their calldata
 * costs the same. `nbiot.verifyReading.gas` is what a contract pays to call the
 * view (the call, cold account included, and the callee), read with `gasleft()`
 * around the call by `CryptoProbe.gasOfCall`; `nbiot.verifyReading.txGas` is
 * `eth_estimateGas` of a transaction calling it, which is the EIP-7623 calldata
 * floor (its baseline): 20 siblings of 32 random bytes cost more as a floor
 * than the whole verification does.
 *
 * Fog batches (seed 004): `secuchain.fog.batchAnchor.gas` is the receipt's
 * `gasUsed` of `anchorFogBatch` with a real group signature combined from 3 of
 * 5 members' sign shares, sent by an account that is no fog node; identical for
 * 1 and 2^20 leaves (roots and signatures chosen without zero bytes); the plain
 * gateway `anchor` of the same run is its baseline. The cluster's key is dealt
 * from a fixed secret (a DKG makes a key of the same shape, but a random one),
 * so keys, proofs, approvals and signatures, and thus the gas, are the same on
 * every run. `secuchain.fog.registerCluster.gas` is the cluster's registration.
 */
import { createKeccak } from "hash-wasm";
import { getBytes, id, parseEther, type Provider, Wallet } from "ethers";
import { network } from "hardhat";

import DataAnchorModule from "../ignition/modules/DataAnchor.ts";
import RegistryModule from "../ignition/modules/DeviceRegistry.ts";
import { toHex, buildTree, verifyProof, type Hex } from "../sdk/index.ts";
import { DataAnchorClient } from "../sdk/exports/anchoring.ts";
import { g1ToEip2537, g2ToEip2537, mclBackend, ThresholdScheme } from "../sdk/exports/crypto.ts";
import { FOG_POP_DST, fogPopMessage } from "../sdk/exports/fog.ts";
import {
  buildRegistration,
  DeviceRegistryClient,
  Kind,
  Label,
  minimalProfile,
  ZERO_ID,
} from "../sdk/exports/registry.ts";
import type { Metrics } from "./metrics.ts";

const LAYER = "strata://city/district-7/edge-3";
/** 2100-01-01: fixed, so the signed messages (and the calldata) never change. */
const DEADLINE = 4_102_444_800n;
const DEPTH = 20;
const LEAVES = 1 << DEPTH;
/** The reading whose inclusion is proven. */
const READING = 123_456;

/** A key from a fixed seed (deterministic, unlike `Wallet.createRandom()`). */
function benchKey(seed: string, provider: Provider): Wallet {
  return new Wallet(id(`strata-bench/anchor/${seed}`), provider);
}

/** A 32-byte word from `label` with no zero byte, so that every such word costs the same calldata. */
function denseWord(label: string): Hex {
  for (let n = 0; ; n++) {
    const word = id(`strata-bench/anchor/${label}/${n}`);
    if (!getBytes(word).includes(0)) return word as Hex;
  }
}

/** Calldata gas of a transaction (EIP-2028): 4 per zero byte, 16 per other byte. */
function calldataGas(data: string): number {
  let gas = 0;
  for (const byte of getBytes(data)) gas += byte === 0 ? 4 : 16;
  return gas;
}

/** EIP-7623 floor of a transaction's gas: 21,000 + 10 per token, a token per zero byte, 4 per other byte. */
function calldataFloor(data: string): number {
  let tokens = 0;
  for (const byte of getBytes(data)) tokens += byte === 0 ? 1 : 4;
  return 21_000 + 10 * tokens;
}

/**
 * 2^20 `StandardMerkleTree` leaves over (block hash, index): leaf i is
 * keccak256(keccak256(abi.encode(blockHash_i, i))), blockHash_i = keccak256(i);
 * `valuesHash` is reading `READING`'s keccak256(abi.encode(blockHash, index)),
 * what `verifyReading` takes.
 */
async function readingLeaves(): Promise<{ flat: Uint8Array; valuesHash: Hex }> {
  const h = await createKeccak(256);
  const flat = new Uint8Array(LEAVES * 32);
  let valuesHash = "0x" as Hex;
  const input = new Uint8Array(64);
  const view = new DataView(input.buffer);
  for (let i = 0; i < LEAVES; i++) {
    view.setUint32(60, i);
    h.init();
    h.update(input.subarray(32, 64));
    input.set(h.digest("binary"), 0);
    h.init();
    h.update(input);
    const inner = h.digest("binary");
    if (i === READING) valuesHash = toHex(inner);
    h.init();
    h.update(inner);
    flat.set(h.digest("binary"), i * 32);
  }
  return { flat, valuesHash };
}

export async function anchorMetrics(): Promise<Metrics> {
  const { ethers, ignition } = await network.create();
  const provider = ethers.provider;
  const [admin, operator, funder] = await ethers.getSigners();
  if (!admin || !operator || !funder) throw new Error("bench needs three hardhat accounts");

  // ------------------------------------------------------------- the city
  // Two coordination nodes appointed by the admin; a base station and a fog node admitted with
  // k = 2 approvals. Gateway keys send their own anchors.
  const { registry } = await ignition.deploy(RegistryModule);
  const asAdmin = new DeviceRegistryClient(await registry.getAddress(), admin);
  const asOperator = asAdmin.connect(operator);
  await asAdmin.setLayerOperator(LAYER, operator.address);
  const node = async (seed: string, localId: bigint, kind: Kind, label: Label) => {
    const key = benchKey(seed, provider);
    const req = buildRegistration({
      uuid: { layer: LAYER, localId },
      key: key.address,
      kind,
      label,
      permissions: 0,
      profile: minimalProfile(`Node/${seed}`),
      deadline: DEADLINE,
    });
    const { id: nodeId } = await asOperator.register(req, await asAdmin.signRegistration(key, req, operator.address));
    await (await funder.sendTransaction({ to: key.address, value: parseEther("10") })).wait();
    return { id: nodeId, key };
  };
  const coordinators = [
    await node("coordinator/1", 1n, Kind.EdgeNode, Label.Coordination),
    await node("coordinator/2", 2n, Kind.EdgeNode, Label.Coordination),
  ];
  for (const c of coordinators) await asAdmin.appointCoordinator(c.id);
  const baseStation = await node("base-station", 101n, Kind.BaseStation, Label.Full);
  const fogNode = await node("fog-node", 102n, Kind.FogNode, Label.Full);
  for (const gateway of [baseStation, fogNode]) {
    for (const c of coordinators) await asAdmin.connect(c.key).approve(c.id, gateway.id, ZERO_ID);
  }

  const { anchor } = await ignition.deploy(DataAnchorModule, {
    parameters: { DataAnchor: { registry: await registry.getAddress() } },
  });
  const anchorAddress = await anchor.getAddress();
  const asBaseStation = new DataAnchorClient(anchorAddress, baseStation.key);
  const asFogNode = asBaseStation.connect(fogNode.key);

  // ---------------------------------------------------------------- anchor
  // The fog node anchors first (the contract's first gateway ever); the base station's first
  // anchor is then a typical gateway's first: it enrols the gateway (two fresh slots more).
  await asFogNode.anchor(fogNode.id, denseWord("fog/1"), 1);
  const first = await asBaseStation.anchor(baseStation.id, denseWord("bs/1"), 1);
  const one = await asBaseStation.anchor(baseStation.id, denseWord("bs/2"), 1);
  const million = await asBaseStation.anchor(baseStation.id, denseWord("bs/3"), LEAVES);
  if (one.gasUsed !== million.gasUsed) {
    throw new Error(`bench: anchor gas differs with the leaf count (1: ${one.gasUsed}, 2^20: ${million.gasUsed})`);
  }
  const anchorTx = await provider.getTransaction(million.hash);
  if (!anchorTx) throw new Error("bench: anchor transaction not found");
  // What any contract keeping DataAnchor's properties pays before its first other opcode: see
  // docs/anchoring.md (the root's fresh slot, the gateway's chain slot, the registry's cold call).
  const floor = 21_000 + calldataGas(anchorTx.data) + 22_100 + 5_000 + 2_600 + 2_100;
  console.log(
    `bench: anchor ${million.gasUsed} gas for 1 and for 2^20 leaves; storage-and-call floor ${floor}` +
      ` (+${Number(million.gasUsed) - floor} event, dispatch, checks); first anchor ${first.gasUsed}`,
  );

  // Baseline: EAS-style timestamp(bytes32) of a fresh datum (after a first one), same kind of calldata.
  const timestamper = await ethers.deployContract("BaselineTimestamp", admin);
  await (await timestamper.timestamp(denseWord("eas/0"))).wait();
  const timestampReceipt = await (await timestamper.timestamp(denseWord("eas/1"))).wait();
  if (!timestampReceipt) throw new Error("bench: timestamp transaction dropped");
  const timestampGas = Number(timestampReceipt.gasUsed);

  // --------------------------------------------------------- verifyReading
  const { flat, valuesHash } = await readingLeaves();
  const tree = await buildTree(flat);
  const leaf = tree.leaf(READING);
  const proof = tree.proof(READING);
  if (proof.length !== DEPTH || !verifyProof(tree.root, leaf, proof)) throw new Error("bench: bad 2^20 proof");
  await asBaseStation.anchor(baseStation.id, tree.root, LEAVES);
  if (!(await asBaseStation.verifyReading(baseStation.id, tree.root, valuesHash, proof)))
    throw new Error("bench: reading not verified");

  const probe = await ethers.deployContract("CryptoProbe", admin);
  const data = anchor.interface.encodeFunctionData("verifyReading", [baseStation.id, tree.root, valuesHash, proof]);
  const [ok, callGas, returned] = (await probe.gasOfCall.staticCall(anchorAddress, data, 1_000_000n)) as [
    boolean,
    bigint,
    string,
  ];
  if (!ok || BigInt(returned) !== 1n) throw new Error("bench: probed verifyReading did not return true");
  const txGas = Number(await asBaseStation.estimateVerifyReading(baseStation.id, tree.root, valuesHash, proof));
  const txFloor = calldataFloor(data);
  console.log(
    `bench: verifyReading (20 siblings) ${callGas} gas for a calling contract; as a transaction ${txGas}` +
      ` = max(21000 + calldata ${calldataGas(data)} + execution, EIP-7623 floor ${txFloor})`,
  );

  // ------------------------------------------------------------ fog batches
  // A fog cluster (its own FogNode entry, whose key is the operator's) and five member fog nodes,
  // all admitted; a 3-of-5 key; the members approve it, three sign shares prove possession.
  const cluster = await node("fog-cluster", 200n, Kind.FogNode, Label.Full);
  const members = [];
  for (let i = 1; i <= 5; i++) members.push(await node(`fog-member/${i}`, 200n + BigInt(i), Kind.FogNode, Label.Full));
  for (const n of [cluster, ...members]) {
    for (const c of coordinators) await asAdmin.connect(c.key).approve(c.id, n.id, ZERO_ID);
  }
  const backend = await mclBackend();
  const th = new ThresholdScheme(backend);
  const { shares, commitments } = th.deal(3, 5, BigInt(id("strata-bench/anchor/fog-secret")) % (1n << 250n));
  const groupKey = g2ToEip2537(backend, th.groupKey(commitments));
  const sign = (signers: readonly number[], message: Uint8Array, dst?: string): Uint8Array =>
    g1ToEip2537(
      backend,
      th.combine(
        commitments,
        message,
        signers.map((i) => th.partialSign(shares[i - 1]!, message, dst)),
        dst,
      ).signature,
    );
  const asCluster = asBaseStation.connect(cluster.key);
  const memberIds = members.map((m) => m.id);
  const registered = await asCluster.registerFogCluster(cluster.id, {
    groupKey,
    threshold: 3,
    members: memberIds,
    proof: sign([1, 2, 3], fogPopMessage(groupKey), FOG_POP_DST),
    approvals: await Promise.all(
      members.map((m) =>
        asCluster.signFogClusterApproval(m.key, cluster.id, { groupKey, threshold: 3, members: memberIds }),
      ),
    ),
  });

  // Anyone submits: here the funder, no fog node. A first batch, then 1 and 2^20 leaves.
  const relay = asBaseStation.connect(funder);
  /** The next batch of `label` whose root and signature hold no zero byte, signed by members `signers`. */
  const denseBatch = async (label: string, leafCount: number, signers: readonly number[]) => {
    for (let n = 0; ; n++) {
      const batch = await relay.nextFogBatch(cluster.id, denseWord(`${label}/${n}`), leafCount);
      const signature = sign(signers, batch.message);
      if (![...signature.subarray(16, 64), ...signature.subarray(80, 128)].includes(0)) return { batch, signature };
    }
  };
  const fogRun = async (label: string, leafCount: number, signers: readonly number[]) => {
    const { batch, signature } = await denseBatch(label, leafCount, signers);
    return relay.anchorFogBatch(cluster.id, batch.root, batch.leafCount, signature);
  };
  await fogRun("fog-batch/1", 1, [1, 2, 3]);
  const fogOne = await fogRun("fog-batch/2", 1, [2, 4, 5]);
  const fogMillion = await fogRun("fog-batch/3", LEAVES, [1, 3, 5]);
  if (fogOne.gasUsed !== fogMillion.gasUsed) {
    throw new Error(
      `bench: fog batch gas differs with the leaf count (1: ${fogOne.gasUsed}, 2^20: ${fogMillion.gasUsed})`,
    );
  }
  console.log(
    `bench: fog batch (3 of 5 group signature) ${fogMillion.gasUsed} gas for 1 and for 2^20 leaves` +
      ` (+${fogMillion.gasUsed - million.gasUsed} over a gateway anchor); cluster registration ${registered.gasUsed}`,
  );

  return {
    "nbiot.anchor.gas": {
      value: Number(million.gasUsed),
      unit: "gas",
      baseline: { name: "EAS-style timestamp(bytes32)", value: timestampGas },
      target: { op: "<=", value: 50_000 },
    },
    "nbiot.anchor.firstGas": { value: Number(first.gasUsed), unit: "gas" },
    "nbiot.verifyReading.gas": { value: Number(callGas), unit: "gas", target: { op: "<=", value: 45_000 } },
    "nbiot.verifyReading.txGas": {
      value: txGas,
      unit: "gas",
      baseline: { name: "EIP-7623 calldata floor", value: txFloor },
    },
    "secuchain.fog.batchAnchor.gas": {
      value: Number(fogMillion.gasUsed),
      unit: "gas",
      baseline: { name: "gateway anchor (same run)", value: Number(million.gasUsed) },
      target: { op: "<=", value: 200_000 },
    },
    "secuchain.fog.registerCluster.gas": { value: Number(registered.gasUsed), unit: "gas" },
  };
}
