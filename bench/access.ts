/**
 * Access metrics (seed 004 §IV, issue 5): gas of `AccessTokens` as a resource
 * owner pays it — a hand-over from crew A to crew B, a mint — and of
 * `hasAccess` as a contract calling it pays it, on a fresh in-process chain
 * (Ignition deployments, driven through the SDK), next to a minimal ERC-4907
 * (`setUser`) and a plain OpenZeppelin ERC-721 `mint` measured in the same run.
 *
 * Transaction gas is the receipt's `gasUsed` (21,000 base, calldata,
 * execution, refunds). A hand-over and its baseline carry the same calldata:
 * token 1, the same crew address, the same end time. `hasAccess` gas is read
 * with `gasleft()` around the call by `CryptoProbe.gasOfCall` (the call, cold
 * account included, and the callee), as `nbiot.verifyReading.gas` is. Keys
 * and times are fixed, so the figures are the same on every run.
 */
import { id, parseEther, type Provider, Wallet } from "ethers";
import { network } from "hardhat";

import AccessTokensModule from "../ignition/modules/AccessTokens.ts";
import RegistryModule from "../ignition/modules/DeviceRegistry.ts";
import { type Hex } from "../sdk/index.ts";
import { AccessTokensClient, type Shift } from "../sdk/exports/access.ts";
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
/** The chain's clock is set here first: every shift's time (and calldata) is fixed. */
const T0 = 4_000_000_000n;
const HOUR = 3_600n;

/** A key from a fixed seed (deterministic, unlike `Wallet.createRandom()`). */
function benchKey(seed: string, provider?: Provider): Wallet {
  return new Wallet(id(`strata-bench/access/${seed}`), provider);
}

export async function accessMetrics(): Promise<Metrics> {
  const { ethers, ignition, networkHelpers } = await network.create();
  const { time } = networkHelpers;
  const provider = ethers.provider;
  const [admin, owner, funder] = await ethers.getSigners();
  if (!admin || !owner || !funder) throw new Error("bench needs three hardhat accounts");
  const crewA = benchKey("crew/A").address;
  const crewB = benchKey("crew/B").address;
  const crewC = benchKey("crew/C").address;

  // ------------------------------------------------------------ the city
  // The owner operates an edge layer and owns two devices: a meter's data stream and a valve, both
  // admitted (Active) by two coordination nodes: tokens are minted for Active resources only.
  const { registry } = await ignition.deploy(RegistryModule);
  const registryClient = new DeviceRegistryClient(await registry.getAddress(), admin);
  await registryClient.setLayerOperator(LAYER, owner.address);
  const register = async (seed: string, localId: bigint, kind: Kind, label: Label) => {
    const key = benchKey(seed, provider);
    const req = buildRegistration({
      uuid: { layer: LAYER, localId },
      key: key.address,
      kind,
      label,
      permissions: 0,
      profile: minimalProfile(`Device/${seed}`),
      deadline: DEADLINE,
    });
    const sig = await registryClient.signRegistration(key, req, owner.address);
    return { id: (await registryClient.connect(owner).register(req, sig)).id, key };
  };
  const coordinators = [
    await register("coordinator/1", 101n, Kind.EdgeNode, Label.Coordination),
    await register("coordinator/2", 102n, Kind.EdgeNode, Label.Coordination),
  ];
  for (const c of coordinators) {
    await (await funder.sendTransaction({ to: c.key.address, value: parseEther("1") })).wait();
    await registryClient.appointCoordinator(c.id);
  }
  const device = async (seed: string, localId: bigint): Promise<Hex> => {
    const { id: deviceId } = await register(seed, localId, Kind.Device, Label.Full);
    for (const c of coordinators) await registryClient.connect(c.key).approve(c.id, deviceId, ZERO_ID);
    return deviceId;
  };
  const stream = await device("meter", 1n);
  const valve = await device("valve", 2n);

  const { accessTokens } = await ignition.deploy(AccessTokensModule, {
    parameters: { AccessTokens: { registry: await registry.getAddress() } },
  });
  const address = await accessTokens.getAddress();
  const tokens = new AccessTokensClient(address, owner);

  // ------------------------------------------------------------------ mint
  // The owner's first token ever (two fresh slots more: its balance, the resource's list),
  // then a typical one: another token of the same resource.
  const firstMint = await tokens.mint(stream);
  const mint = await tokens.mint(stream);
  if (firstMint.tokenId !== 1n) throw new Error("bench: the first token is not token 1");
  const erc721 = await ethers.deployContract("BaselineERC721", owner);
  await (await erc721.mint(owner.address, 1n)).wait();
  const erc721Receipt = await (await erc721.mint(owner.address, 2n)).wait();
  if (!erc721Receipt) throw new Error("bench: ERC-721 mint dropped");

  // -------------------------------------------------------------- hand-over
  // Token 1: crew A's shift is current; the owner hands the token to crew B at T0 + 4h, then
  // back to crew A and to crew B again (each a current shift's word rewritten).
  await time.setNextBlockTimestamp(T0);
  await tokens.scheduleShift(1n, crewA, T0, T0 + 8n * HOUR);
  const end = T0 + 12n * HOUR;
  await time.setNextBlockTimestamp(T0 + 4n * HOUR);
  const handOver = await tokens.handOver(1n, crewB, end);
  if (handOver.previousHolder !== crewA) throw new Error("bench: crew A did not hold token 1");
  await tokens.handOver(1n, crewA, end);
  const again = await tokens.handOver(1n, crewB, end);
  if (again.gasUsed !== handOver.gasUsed) {
    throw new Error(`bench: hand-over gas varies (${handOver.gasUsed}, ${again.gasUsed})`);
  }
  if (!(await tokens.hasAccess(stream, crewB)) || (await tokens.hasAccess(stream, crewA))) {
    throw new Error("bench: access did not move from crew A to crew B");
  }
  // A token never lent before: its first shift's word is fresh (20,000 gas more).
  const firstHandOver = await tokens.handOver(2n, crewA, end);
  // With the next crew already queued, the hand-over also reads that shift (its overlap check).
  const queuedToken = (await tokens.mint(valve)).tokenId;
  await tokens.scheduleShifts(queuedToken, [
    { holder: crewA, start: 0n, end: T0 + 8n * HOUR },
    { holder: crewC, start: T0 + 12n * HOUR, end: T0 + 20n * HOUR },
  ]);
  const queued = await tokens.handOver(queuedToken, crewB, end);

  // Baseline: ERC-4907 setUser on token 1, first set then overwrites, same calldata as above.
  const erc4907 = await ethers.deployContract("BaselineERC4907", owner);
  await (await erc4907.mint(owner.address, 1n)).wait();
  const setUser = async (user: string): Promise<number> => {
    const receipt = await (await erc4907.setUser(1n, user, end)).wait();
    if (!receipt) throw new Error("bench: setUser dropped");
    return Number(receipt.gasUsed);
  };
  const setUserFirst = await setUser(crewA);
  const setUserOverwrite = await setUser(crewB);
  if ((await setUser(crewA)) !== setUserOverwrite) throw new Error("bench: setUser overwrite gas varies");

  // ------------------------------------------------------------- hasAccess
  // A contract asks whether crew B may use the meter's stream: the first token read is crew B's.
  const probe = await ethers.deployContract("CryptoProbe", admin);
  const gasOfHasAccess = async (resource: Hex, account: string): Promise<number> => {
    const data = accessTokens.interface.encodeFunctionData("hasAccess", [resource, account]);
    const [ok, gas, returned] = (await probe.gasOfCall.staticCall(address, data, 1_000_000n)) as [
      boolean,
      bigint,
      string,
    ];
    if (!ok || BigInt(returned) !== 1n) throw new Error("bench: probed hasAccess did not return true");
    return Number(gas);
  };
  const hasAccessGas = await gasOfHasAccess(stream, crewB);

  // The bound: 8 live tokens on the valve, 16 shifts each, the first 15 ended unpruned, and the
  // account asked about holds the current shift of the last token read.
  for (let n = 1; n < 8; n++) await tokens.mint(valve);
  const valveTokens = await tokens.tokensOf(valve);
  const base = T0 + 24n * HOUR; // every earlier shift has ended by then
  await time.setNextBlockTimestamp(base - HOUR);
  for (const [k, token] of valveTokens.entries()) {
    const holder = k === valveTokens.length - 1 ? crewC : crewA;
    const day: Shift[] = Array.from({ length: 16 }, (_, i) => ({
      holder: i === 15 ? holder : crewB,
      start: base + BigInt(i) * 60n,
      end: base + BigInt(i + 1) * 60n - (i === 15 ? -HOUR : 1n),
    }));
    await tokens.scheduleShifts(token, day);
  }
  await time.increaseTo(base + 15n * 60n + 30n);
  const worstGas = await gasOfHasAccess(valve, crewC);

  console.log(
    `bench: hand-over ${handOver.gasUsed} gas (ERC-4907 setUser overwrite ${setUserOverwrite}, first ${setUserFirst});` +
      ` first lend ${firstHandOver.gasUsed}, with the next crew queued ${queued.gasUsed};` +
      ` mint ${mint.gasUsed} (first ${firstMint.gasUsed}, ERC-721 mint ${erc721Receipt.gasUsed});` +
      ` hasAccess ${hasAccessGas} (8 tokens x 16 shifts: ${worstGas})`,
  );

  return {
    "secuchain.access.shiftHandover.gas": {
      value: Number(handOver.gasUsed),
      unit: "gas",
      baseline: { name: "ERC-4907 setUser (overwrite)", value: setUserOverwrite },
      target: { op: "<=", value: 35_000 },
    },
    "secuchain.access.shiftHandover.firstGas": {
      value: Number(firstHandOver.gasUsed),
      unit: "gas",
      baseline: { name: "ERC-4907 setUser (first)", value: setUserFirst },
    },
    "secuchain.access.shiftHandover.queuedGas": { value: Number(queued.gasUsed), unit: "gas" },
    "secuchain.access.mint.gas": {
      value: Number(mint.gasUsed),
      unit: "gas",
      baseline: { name: "OpenZeppelin ERC-721 mint", value: Number(erc721Receipt.gasUsed) },
    },
    "secuchain.access.mint.firstGas": { value: Number(firstMint.gasUsed), unit: "gas" },
    "secuchain.access.hasAccess.gas": { value: hasAccessGas, unit: "gas" },
    "secuchain.access.hasAccess.worstGas": { value: worstGas, unit: "gas" },
  };
}
