/**
 * The registry part of the demo (seed 001): a small city joins the device registry (labels from
 * connection lifetime and hardware, coordination, serving full nodes), a full node goes offline
 * and its devices are reassigned, a misbehaving meter is reported until it is blocked, and a
 * forged registration is refused; the meter's provenance is read back from the events.
 */
import { type HDNodeWallet, id, type JsonRpcSigner, parseEther, Wallet } from "ethers";

import { ContractRevertError, formatUuid, type Hex, type Uuid } from "../../sdk/index.ts";
import {
  buildRegistration,
  DeviceRegistryClient,
  Kind,
  Label,
  LABEL_NAMES,
  minimalProfile,
  newChallenge,
  recommendLabel,
  type RegistryConfig,
  reportersToSanction,
  STATUS_NAMES,
} from "../../sdk/exports/registry.ts";
import type { DemoChain } from "./chain.ts";

export interface RegistryDemoContext {
  readonly chain: DemoChain;
  readonly chainId: bigint;
  readonly registryAddress: string;
  /** The registry's rules (as deployed). */
  readonly cfg: RegistryConfig;
  /** The registry's admin, and the edge layer's operator. */
  readonly admin: JsonRpcSigner;
  readonly operator: JsonRpcSigner;
  /** The edge layer the city's devices join. */
  readonly layer: string;
  step(text: string): void;
  info(text: string): void;
}

export interface Member {
  readonly name: string;
  readonly uuid: Uuid;
  readonly id: Hex;
  readonly key: HDNodeWallet;
}

/** Runs the story; returns the registry's client (as the operator), the coordination cameras and the last local id used. */
export async function runRegistryDemo(
  ctx: RegistryDemoContext,
): Promise<{ client: DeviceRegistryClient; cameras: Member[]; localId: bigint }> {
  const { chain, chainId, registryAddress, cfg, admin, operator, step, info } = ctx;
  const LAYER = ctx.layer;
  const short = (x: string): string => `${x.slice(0, 10)}…`;
  step(`A device registry of the local deployment, on the anvil process (chain ${chainId})`);
  const client = new DeviceRegistryClient(registryAddress, operator);
  info(`DeviceRegistry at ${registryAddress}`);
  await client.connect(admin).setLayerOperator(LAYER, operator.address);
  info(`edge layer ${LAYER} is operated by ${operator.address}: only it registers UUIDs there`);

  info(
    `rules: k=${cfg.fullNodeApprovals} approvals for full nodes, -${cfg.reportPenalty} trust per report, ` +
      `suspend < ${cfg.suspendBelow}, block < ${cfg.blockBelow}, heartbeat every ${cfg.heartbeatTimeout} s`,
  );

  step("Choosing labels from connection lifetime and hardware");
  const fleet = [
    {
      name: "camera",
      traits: {
        connectionHoursPerSession: 8760,
        uptimeRatio: 0.999,
        memoryMiB: 512,
        storageGiB: 16,
        mainsPowered: true,
      },
    },
    {
      name: "gateway",
      traits: {
        connectionHoursPerSession: 8760,
        uptimeRatio: 0.999,
        memoryMiB: 8192,
        storageGiB: 512,
        mainsPowered: true,
      },
    },
    {
      name: "meter",
      traits: {
        connectionHoursPerSession: 0.05,
        uptimeRatio: 0.02,
        memoryMiB: 0.25,
        storageGiB: 0,
        mainsPowered: false,
      },
    },
  ];
  for (const f of fleet) {
    const r = recommendLabel(f.traits);
    info(`${f.name.padEnd(8)} → ${LABEL_NAMES[r.label]} (${r.reason})`);
  }

  step("Registering the city in one batch: 3 coordination cameras, 3 full-node gateways, 12 meters");
  let localId = 0n;
  const plan: { name: string; label: Label; kind: Kind; cls: string }[] = [
    ...[1, 2, 3].map((i) => ({
      name: `camera-${i}`,
      label: Label.Coordination,
      kind: Kind.Device,
      cls: "Device/Camera",
    })),
    ...[1, 2, 3].map((i) => ({ name: `gateway-${i}`, label: Label.Full, kind: Kind.EdgeNode, cls: "Gateway/Edge" })),
    ...Array.from({ length: 12 }, (_, i) => ({
      name: `meter-${i + 1}`,
      label: Label.Lightweight,
      kind: Kind.Device,
      cls: "Device/Meter/Electric",
    })),
  ];
  const deadline = (await chain.latest()) + 3600n;
  const members: Member[] = [];
  const reqs = [];
  const sigs = [];
  for (const p of plan) {
    const key = Wallet.createRandom().connect(chain.provider);
    const uuid = { layer: LAYER, localId: ++localId };
    const req = buildRegistration({
      uuid,
      key: key.address,
      kind: p.kind,
      label: p.label,
      permissions: 1,
      profile: minimalProfile(p.cls),
      deadline,
    });
    reqs.push(req);
    sigs.push(await client.signRegistration(key, req, operator.address));
    members.push({ name: p.name, uuid, id: "0x" as Hex, key });
  }
  const batch = await client.registerBatch(reqs, sigs);
  members.forEach((m, i) => Object.assign(m, { id: batch.ids[i] }));
  info(
    `${batch.ids.length} devices registered in one transaction: ${batch.gasUsed} gas (${Math.round(Number(batch.gasUsed) / batch.ids.length)} per device)`,
  );
  for (const m of members) await (await admin.sendTransaction({ to: m.key.address, value: parseEther("0.1") })).wait();
  const byName = (name: string): Member => members.find((m) => m.name === name)!;
  const cameras = members.filter((m) => m.name.startsWith("camera"));
  const gateways = members.filter((m) => m.name.startsWith("gateway"));
  const meters = members.filter((m) => m.name.startsWith("meter"));

  step("The admin appoints the coordination nodes");
  for (const c of cameras) {
    await client.connect(admin).appointCoordinator(c.id);
    info(`${c.name} (${formatUuid(c.uuid)}) is a coordination node`);
  }

  step(`Full nodes join with approvals from ${cfg.fullNodeApprovals} distinct coordination nodes`);
  for (const g of gateways) {
    for (const c of cameras.slice(0, cfg.fullNodeApprovals)) await client.connect(c.key).approve(c.id, g.id);
    info(`${g.name} admitted, live: ${await client.isLive(g.id)}`);
  }

  step("Coordination nodes admit the meters and assign each a serving full node");
  for (const [i, m] of meters.entries()) {
    const serving = gateways[i % 2]!; // gateway-3 is kept as the spare
    const coordinator = cameras[i % cameras.length]!;
    await client.connect(coordinator.key).approve(coordinator.id, m.id, serving.id);
  }
  for (const g of gateways) info(`${g.name} serves ${await client.servedCount(g.id)} meters`);

  step("Peer authentication with no central arbiter");
  {
    const meter = byName("meter-1");
    const gateway = byName("gateway-1");
    const now = BigInt(Math.floor(Date.now() / 1000)); // the verifier's own clock
    const challenge = newChallenge(meter.id, gateway.id, crypto.getRandomValues(new Uint8Array(32)), now);
    const signature = await client.signChallenge(meter.key, challenge);
    await client.verifyPeer({ expected: challenge, answered: challenge, signature });
    info(`gateway-1 verified meter-1's signed challenge against the key on chain`);
    const impostor = Wallet.createRandom();
    try {
      await client.verifyPeer({
        expected: challenge,
        answered: challenge,
        signature: await client.signChallenge(impostor as never, challenge),
      });
    } catch (e) {
      info(`an impostor answering for meter-1 is refused: ${(e as Error & { reason: string }).reason}`);
    }
  }

  step("gateway-1 goes silent: it misses its heartbeat");
  await chain.increase(cfg.heartbeatTimeout + 1);
  for (const g of [byName("gateway-2"), byName("gateway-3")]) await client.connect(g.key).heartbeat(g.id);
  info(
    `gateway-1 live: ${await client.isLive(byName("gateway-1").id)}, gateway-3 live: ${await client.isLive(byName("gateway-3").id)}`,
  );
  const batches = await client
    .connect(cameras[0]!.key)
    .reassignAll(cameras[0]!.id, byName("gateway-1").id, byName("gateway-3").id, 4);
  info(
    `camera-1 reassigned gateway-1's meters to gateway-3 in ${batches.length} bounded batches of ≤ 4 ` +
      `(${batches.map((b) => b.gasUsed).join(", ")} gas)`,
  );
  for (const g of gateways) info(`${g.name} serves ${await client.servedCount(g.id)} meters`);

  step("meter-7 floods the network: independent nodes report it");
  {
    const needed = reportersToSanction(cfg);
    info(`each node counts once per trust case: ${needed.suspend} reporters suspend, ${needed.block} block`);
  }
  const rogue = byName("meter-7");
  const reporters = [...cameras, byName("gateway-2"), byName("gateway-3")];
  for (const [i, r] of reporters.entries()) {
    const status = (await client.getDevice(rogue.id)).status;
    if (STATUS_NAMES[status] === "Blocked") break;
    const res = await client.connect(r.key).report(r.id, rogue.id, id(`flood evidence ${i}`) as Hex);
    const rec = await client.getDevice(rogue.id);
    info(`${r.name} reports meter-7 → trust ${rec.trust}, status ${STATUS_NAMES[rec.status]} (${res.gasUsed} gas)`);
  }

  step("Forged IDs: registering a second device under meter-3's UUID");
  {
    const attacker = Wallet.createRandom();
    const forged = buildRegistration({
      uuid: byName("meter-3").uuid,
      key: attacker.address,
      kind: Kind.Device,
      label: Label.Lightweight,
      permissions: 0xffffffff,
      profile: minimalProfile("Device/Meter/Electric"),
      deadline: (await chain.latest()) + 600n,
    });
    for (const [who, signer] of [
      ["an outsider", admin],
      ["even the layer's own operator", operator],
    ] as const) {
      try {
        await client.connect(signer).register(forged, await client.signRegistration(attacker, forged, signer.address));
        throw new Error("a forged registration was accepted");
      } catch (e) {
        if (!(e instanceof ContractRevertError)) throw e;
        info(`${who}: refused with ${e.errorName}(${short(String(e.args[0]))})`);
      }
    }
  }

  step("Provenance of meter-7 (every change is an event with its block time)");
  for (const e of await client.history(rogue.id)) {
    const when = new Date(Number(e.timestamp) * 1000).toISOString().replace(".000Z", "Z");
    const detail =
      e.event === "DeviceStatusChanged"
        ? `${STATUS_NAMES[Number(e.args.previous)]} → ${STATUS_NAMES[Number(e.args.current)]}`
        : e.event === "MisbehaviourReported"
          ? `trust ${e.args.trust}`
          : e.event === "ServingNodeAssigned"
            ? `serving ${short(String(e.args.fullNode))}`
            : "";
    info(`${when}  block ${String(e.blockNumber).padStart(3)}  ${e.event.padEnd(22)} ${detail}`);
  }

  step("Summary");
  const rows = await Promise.all(members.map(async (m) => ({ m, rec: await client.getDevice(m.id) })));
  for (const { m, rec } of rows) {
    const serving = members.find((x) => x.id === rec.servingNode)?.name ?? "-";
    console.log(
      `   ${m.name.padEnd(10)} ${LABEL_NAMES[rec.label].padEnd(12)} ${STATUS_NAMES[rec.status].padEnd(9)} trust ${String(rec.trust).padStart(4)}  served by ${serving}`,
    );
  }
  return { client, cameras, localId };
}
