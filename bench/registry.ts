/**
 * Registry metrics: gas of what users send to `DeviceRegistry`, measured
 * through the SDK client on a fresh in-process chain (Ignition deployment),
 * next to baselines deployed and measured in the same run.
 *
 * Gas is `receipt.gasUsed`: the whole transaction (21,000 base, calldata,
 * execution, after refunds), as its sender pays it. Every key, UUID, profile
 * and deadline is derived from fixed seeds, so calldata (zero and non-zero
 * bytes) and signatures are the same on every run and so is the gas.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { encodeBytes32String, getBytes, id, keccak256, parseEther, type Provider, type Signer, Wallet } from "ethers";
import { network } from "hardhat";

import RegistryModule from "../ignition/modules/DeviceRegistry.ts";
import {
  type CompactSignature,
  deviceId,
  type Hex,
  peerChallengeDigest,
  type RegistrationMessage,
} from "../sdk/index.ts";
import {
  buildRegistration,
  DeviceRegistryClient,
  encodeP256DeviceSignature,
  Kind,
  Label,
  minimalProfile,
  newChallenge,
  p256SoftwareKey,
  type Profile,
  Status,
  ZERO_ID,
} from "../sdk/exports/registry.ts";
import { median, type Metrics } from "./metrics.ts";

const LAYER = "strata://city/district-7/edge-3";
/** 2100-01-01: fixed, so the signed messages (and the calldata) never change. */
const DEADLINE = 4_102_444_800n;
const METER_CLASS = "Device/Meter/Electric";
/** Meter permissions bitmap: publish readings, answer peer challenges. */
const METER_PERMISSIONS = 0b11;
const REGISTER_SAMPLES = 5;
const BATCH = 100;
const REASSIGNED = 50;

/** A device key from a fixed seed (deterministic, unlike `Wallet.createRandom()`). */
function deviceKey(seed: string, provider: Provider): Wallet {
  return new Wallet(id(`strata-bench/${seed}`), provider);
}

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/** RFC 4648 base32, lower case, unpadded (the multibase `b` alphabet). */
function base32(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32[(buffer >> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(buffer << (5 - bits)) & 31];
  return out;
}

/**
 * A realistic electric meter profile: its metadata document is addressed by
 * an IPFS CIDv1 (raw, sha2-256: `ipfs://bafkrei…`, a 59-character CID) and
 * committed by its keccak256.
 */
function meterProfile(serial: number): Profile {
  const document = new TextEncoder().encode(
    JSON.stringify({
      class: METER_CLASS,
      manufacturer: "Strata Metering",
      model: "EM-210 NB-IoT",
      serial: `EM210-${String(serial).padStart(6, "0")}`,
      phases: 1,
      quantity: "active energy",
      unit: "kWh",
    }),
  );
  const cid = `b${base32(Uint8Array.of(0x01, 0x55, 0x12, 0x20, ...sha256(document)))}`;
  return { ...minimalProfile(METER_CLASS), metadataURI: `ipfs://${cid}`, metadataHash: keccak256(document) as Hex };
}

interface Signed {
  readonly key: Wallet;
  readonly req: RegistrationMessage;
  readonly sig: CompactSignature;
}

export async function registryMetrics(): Promise<Metrics> {
  const { ethers, ignition } = await network.create();
  const provider = ethers.provider;
  // Deployed first, by account 0 (the admin): the same address, domain and signatures every run.
  const { registry } = await ignition.deploy(RegistryModule);
  const [admin, operator, funder] = await ethers.getSigners();
  if (!admin || !operator || !funder) throw new Error("bench needs three hardhat accounts");
  const asAdmin = new DeviceRegistryClient(await registry.getAddress(), admin);
  const asOperator = asAdmin.connect(operator);
  await asAdmin.setLayerOperator(LAYER, operator.address);

  const erc721 = await ethers.deployContract("BaselineERC721", admin);
  const didRegistry = await ethers.deployContract("BaselineDIDRegistry", admin);

  const fund = async (to: string): Promise<void> => {
    await (await funder.sendTransaction({ to, value: parseEther("10") })).wait();
  };
  const gasOf = async (tx: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>): Promise<number> => {
    const receipt = await (await tx).wait();
    if (!receipt) throw new Error("transaction dropped");
    return Number(receipt.gasUsed);
  };

  /** A registration signed by its device key for `owner`. */
  const sign = async (
    owner: Signer,
    seed: string,
    localId: bigint,
    kind: Kind,
    label: Label,
    profile: Profile,
    permissions: number,
  ): Promise<Signed> => {
    const key = deviceKey(seed, provider);
    const req = buildRegistration({
      uuid: { layer: LAYER, localId },
      key: key.address,
      kind,
      label,
      permissions,
      profile,
      deadline: DEADLINE,
    });
    return { key, req, sig: await asAdmin.signRegistration(key, req, await owner.getAddress()) };
  };
  const meter = (n: number): Promise<Signed> =>
    sign(
      operator,
      `meter/${n}`,
      7_000_000n + BigInt(n),
      Kind.Device,
      Label.Lightweight,
      meterProfile(n),
      METER_PERMISSIONS,
    );

  // ------------------------------------------------- register (one meter)
  // The operator already owns a device: the measured registrations are further ones.
  const first = await meter(0);
  await asOperator.register(first.req, first.sig);
  const registerGas: number[] = [];
  for (let n = 1; n <= REGISTER_SAMPLES; n++) {
    const m = await meter(n);
    registerGas.push(Number((await asOperator.register(m.req, m.sig)).gasUsed));
  }
  if (new Set(registerGas).size !== 1) {
    // Only calldata differs: a zero byte in a key or signature costs 4 gas instead of 16.
    console.warn(
      `bench: register gas per sample ${registerGas.join(", ")} (calldata zero bytes); reporting the median`,
    );
  }

  // ------------------------------- register a P-256 (secure-element) meter, same city, same profile
  // RFC 6979 signatures: the same seed gives the same key, signature and calldata every run.
  const p256Meter = async (n: number) => {
    const key = p256SoftwareKey(getBytes(id(`strata-bench/p256-meter/${n}`)));
    const req = buildRegistration({
      uuid: { layer: LAYER, localId: 8_000_000n + BigInt(n) },
      key: key.address,
      kind: Kind.Device,
      label: Label.Lightweight,
      permissions: METER_PERMISSIONS,
      profile: meterProfile(n),
      deadline: DEADLINE,
    });
    return { key, req, sig: await asAdmin.signRegistrationP256(key, req, operator.address) };
  };
  const registerP256Gas: number[] = [];
  for (let n = 1; n <= REGISTER_SAMPLES; n++) {
    const m = await p256Meter(n);
    registerP256Gas.push(Number((await asOperator.registerP256(m.req, m.key.publicKey, m.sig)).gasUsed));
  }

  // ---------------------------- peer verification on chain: the registry checks a device's answer
  // eth_estimateGas of isValidDeviceSignature (what a verifier's call costs, 21,000 base included).
  const challenge = newChallenge(
    id("strata-bench/prover") as Hex,
    id("strata-bench/verifier") as Hex,
    getBytes(id("strata-bench/nonce")),
    1_800_000_000n,
  );
  const domain = await asAdmin.domain();
  const digest = peerChallengeDigest(domain, challenge);
  const verifyGas = async (deviceIdOf: Hex, signature: Hex): Promise<number> => {
    if (!(await asAdmin.isValidDeviceSignature(deviceIdOf, digest, signature))) throw new Error("peer answer refused");
    return Number(await registry.getFunction("isValidDeviceSignature").estimateGas(deviceIdOf, digest, signature));
  };
  const p256Device = await p256Meter(1);
  const secpDevice = await meter(1);
  const peerP256Gas = await verifyGas(
    deviceId({ layer: LAYER, localId: 8_000_001n }),
    encodeP256DeviceSignature(p256Device.key.publicKey, await p256Device.key.signDigest(digest)),
  );
  const peerSecpGas = await verifyGas(
    deviceId({ layer: LAYER, localId: 7_000_001n }),
    secpDevice.key.signingKey.sign(digest).serialized as Hex,
  );

  // Baseline: an OpenZeppelin ERC-721 mint of a fresh token to a fresh address (after a first mint).
  // The token id is a 32-byte hash, as a device id is, so both carry the same kind of calldata.
  const tokenId = (n: number): bigint => BigInt(id(`strata-bench/token/${n}`));
  await gasOf(erc721.mint(deviceKey("nft-holder/0", provider).address, tokenId(0)));
  const mintGas = await gasOf(erc721.mint(deviceKey("nft-holder/1", provider).address, tokenId(1)));

  // ------------------------------------------------ registerBatch (100 meters)
  const batch: Signed[] = [];
  for (let n = 0; n < BATCH; n++) batch.push(await meter(1_000 + n));
  const batchResult = await asOperator.registerBatch(
    batch.map((s) => s.req),
    batch.map((s) => s.sig),
  );
  if (batchResult.ids.length !== BATCH) throw new Error(`registerBatch registered ${batchResult.ids.length}`);

  // Baseline: ERC-1056 setAttribute, first write for a fresh identity (a secp256k1 verification key).
  const identity = deviceKey("did/identity", provider);
  await fund(identity.address);
  const setAttributeGas = await gasOf(
    didRegistry
      .connect(identity)
      .setAttribute(
        identity.address,
        encodeBytes32String("did/pub/Secp256k1/veriKey/hex"),
        identity.signingKey.compressedPublicKey,
        86_400n,
      ),
  );

  // ------------------------------------------------------------- the city
  // Two coordination nodes appointed by the admin, two full nodes admitted with k = 2 approvals,
  // 50 meters served by full node A and one by full node B. Node keys send their own transactions.
  const node = async (seed: string, localId: bigint, kind: Kind, label: Label) => {
    const s = await sign(operator, seed, localId, kind, label, minimalProfile(`Node/${seed}`), 0);
    const { id: nodeId } = await asOperator.register(s.req, s.sig);
    await fund(s.key.address);
    return { id: nodeId, client: asAdmin.connect(s.key) };
  };
  const coord1 = await node("coordinator/1", 1n, Kind.EdgeNode, Label.Coordination);
  const coord2 = await node("coordinator/2", 2n, Kind.EdgeNode, Label.Coordination);
  await asAdmin.appointCoordinator(coord1.id);
  await asAdmin.appointCoordinator(coord2.id);
  const fullA = await node("full/a", 101n, Kind.BaseStation, Label.Full);
  const fullB = await node("full/b", 102n, Kind.BaseStation, Label.Full);
  for (const full of [fullA, fullB]) {
    await coord1.client.approve(coord1.id, full.id, ZERO_ID);
    await coord2.client.approve(coord2.id, full.id, ZERO_ID);
    if (!(await asAdmin.isLive(full.id))) throw new Error("full node not admitted");
  }

  const served: Signed[] = [];
  for (let n = 0; n <= REASSIGNED; n++) served.push(await meter(2_000 + n));
  const { ids: servedIds } = await asOperator.registerBatch(
    served.map((s) => s.req),
    served.map((s) => s.sig),
  );
  const reported = servedIds.pop()!; // served by B; the other 50 by A
  for (const deviceId of servedIds) await coord1.client.approve(coord1.id, deviceId, fullA.id);
  await coord2.client.approve(coord2.id, reported, fullB.id);
  if ((await asAdmin.servedCount(fullA.id)) !== BigInt(REASSIGNED)) throw new Error("meters not assigned to A");

  // ------------------------------------------- heartbeat (not the node's first)
  await fullB.client.heartbeat(fullB.id);
  const heartbeatGas = Number((await fullB.client.heartbeat(fullB.id)).gasUsed);

  // ------------------------ report (first of a reporter in the device's trust case)
  if ((await asAdmin.getDevice(reported)).status !== Status.Active) throw new Error("reported meter not active");
  const reportGas = Number(
    (await fullB.client.report(fullB.id, reported, id("evidence: replayed readings") as Hex)).gasUsed,
  );

  // ------------------------------------------- reassign (50 meters, A -> B)
  // k = 2 coordination nodes report A offline (one alone no longer takes a beating node down)
  await coord1.client.reportOffline(coord1.id, fullA.id);
  await coord2.client.reportOffline(coord2.id, fullA.id);
  const reassigned = await coord1.client.reassign(coord1.id, fullA.id, fullB.id, REASSIGNED);
  if (reassigned.moved !== REASSIGNED || (await asAdmin.servedCount(fullA.id)) !== 0n) {
    throw new Error(`reassign moved ${reassigned.moved} of ${REASSIGNED}`);
  }

  return {
    "registry.register.gas": {
      value: median(registerGas),
      unit: "gas",
      baseline: { name: "OZ ERC-721 mint", value: mintGas },
      target: { op: "<=", value: 75_000 },
    },
    "registry.registerP256.gas": {
      value: median(registerP256Gas),
      unit: "gas",
      baseline: { name: "secp256k1 register (registry.register.gas)", value: median(registerGas) },
    },
    "registry.peerVerify.p256.gas": {
      value: peerP256Gas,
      unit: "gas",
      baseline: { name: "secp256k1 isValidDeviceSignature", value: peerSecpGas },
    },
    "registry.registerBatch100.gasPerDevice": {
      value: Number(batchResult.gasUsed) / BATCH,
      unit: "gas",
      baseline: { name: "ERC-1056 setAttribute", value: setAttributeGas },
      target: { op: "<=", value: 50_000 },
    },
    "registry.report.gas": { value: reportGas, unit: "gas" },
    "registry.heartbeat.gas": { value: heartbeatGas, unit: "gas" },
    "registry.reassign.gasPerDevice": { value: Number(reassigned.gasUsed) / REASSIGNED, unit: "gas" },
  };
}
