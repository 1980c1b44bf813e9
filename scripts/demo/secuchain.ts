/**
 * The Secuchain part of the demo (seed 004): a smart-city district's air
 * sensors send readings to a fog cluster of five nodes (t = 3) whose key was
 * made by DKG; the fog nodes sort the readings without decrypting them —
 * normal ones into the open store, sensitive ones into batches endorsed by
 * sign shares and anchored with one group signature checked on chain; a
 * bogus device is dropped, a compromised fog node's share is caught; two
 * maintenance crews hand an access token over through its owner, and the
 * first crew is refused once its shift has ended.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { type HDNodeWallet, id, type JsonRpcProvider, type Signer } from "ethers";

import { AccessDeniedError, type Hex } from "../../sdk/index.ts";
import { accessScope, AccessTokensClient, newAccessRequest } from "../../sdk/exports/access.ts";
import { DataAnchorClient } from "../../sdk/exports/anchoring.ts";
import { AeadKey, mclBackend, Peks, ThresholdScheme, randomScalar } from "../../sdk/exports/crypto.ts";
import { type DeviceRegistryClient, Kind, Label, minimalProfile } from "../../sdk/exports/registry.ts";
import {
  runDkg,
  filterPolicy,
  SENSITIVE,
  decodeReading,
  makeReading,
  openPayload,
  randomDeviceKey,
  sealPayload,
  FogCluster,
  type MemberReport,
  FogNode,
  registryFogDirectory,
  FogStore,
} from "../../sdk/exports/fog.ts";
import type { DemoChain } from "./chain.ts";
import { registerEntity } from "./register.ts";

export interface SecuchainDemoContext {
  readonly provider: JsonRpcProvider;
  readonly chain: DemoChain;
  /** The deployment's \`DataAnchor\` and \`AccessTokens\` (on the registry's chain). */
  readonly anchorAddress: string;
  readonly accessTokensAddress: string;
  readonly client: DeviceRegistryClient;
  readonly admin: Signer;
  readonly operator: Signer;
  readonly coordinators: readonly { readonly id: Hex; readonly key: HDNodeWallet }[];
  readonly layer: string;
  nextLocalId(): bigint;
  step(text: string): void;
  info(text: string): void;
}

export async function runSecuchainDemo(ctx: SecuchainDemoContext): Promise<void> {
  const { provider, client, admin, operator, step, info } = ctx;
  const short = (id: string): string => `${id.slice(0, 10)}…`;
  const register = (kind: Kind, label: Label, cls: string) => registerEntity(ctx, kind, label, cls);
  const admit = async (id: Hex) => {
    for (const c of ctx.coordinators.slice(0, 2)) await client.connect(c.key).approve(c.id, id);
  };

  step("Secuchain: a fog cluster of 5 nodes joins; its t = 3 key comes from a DKG");
  const fog: { id: Hex; key: HDNodeWallet }[] = [];
  for (let i = 0; i < 5; i++) {
    const n = await register(Kind.FogNode, Label.Full, "Gateway/Fog");
    await admit(n.id);
    fog.push(n);
  }
  const clusterAccount = await register(Kind.FogNode, Label.Full, "Gateway/Fog/Cluster");
  await admit(clusterAccount.id);
  const backend = await mclBackend();
  const scheme = new ThresholdScheme(backend);
  const keys = runDkg(scheme, 3, 5);
  info(`fog-1..fog-5 Active; DKG: ${keys.qualified.length} qualified dealers, nobody holds the group secret`);
  const { anchorAddress } = ctx;
  const anchors = new DataAnchorClient(anchorAddress, admin);
  info(`DataAnchor at ${short(anchorAddress)}; the cluster registers there once its fog nodes are up`);

  step("Air sensors publish P-256 keys in their registry profiles; the city seals their data for itself");
  const peks = new Peks(backend);
  const city = peks.keygen();
  const cityKey = new AeadKey(crypto.getRandomValues(new Uint8Array(32)));
  const sensors: { name: string; id: Hex; key: ReturnType<typeof randomDeviceKey>; seq: number }[] = [];
  for (const name of ["air-north", "air-school", "air-depot"]) {
    const s = await register(Kind.Device, Label.Lightweight, "Device/Sensor/Air");
    await client.connect(ctx.coordinators[0]!.key).approve(ctx.coordinators[0]!.id, s.id, fog[0]!.id);
    const key = randomDeviceKey();
    await client
      .connect(operator)
      .updateProfile(s.id, { ...minimalProfile("Device/Sensor/Air"), p256PublicKey: key.publicKey });
    sensors.push({ name, id: s.id, key, seq: 0 });
    info(`${name.padEnd(10)} ${short(s.id)}`);
  }
  const reading = (s: (typeof sensors)[number], pm25: number, sensitive: boolean) => {
    const seq = ++s.seq;
    const time = Date.now();
    const payload = sealPayload(cityKey, s.id, seq, time, new TextEncoder().encode(JSON.stringify({ pm25 })));
    const keywords = [
      peks.encrypt(city.publicKey, sensitive ? SENSITIVE : "normal"),
      peks.encrypt(city.publicKey, pm25 > 150 ? "alarm" : "none"),
    ];
    return makeReading(s.key, s.id, seq, time, payload, keywords).bytes;
  };

  const dir = mkdtempSync(join(tmpdir(), "strata-demo-fog-"));
  try {
    const directory = registryFogDirectory(client);
    const policy = filterPolicy(peks.trapdoor(city.secret, SENSITIVE), [
      { name: "alarm", slot: 1, trapdoor: peks.trapdoor(city.secret, "alarm") },
    ]);
    const nodes = fog.map(
      (f, i) =>
        new FogNode({
          id: f.id,
          index: i + 1,
          // fog-4 is compromised: its share was replaced by an attacker's
          share: i === 3 ? { index: 4, secret: randomScalar() } : keys.shares[i]!,
          commitments: keys.commitments,
          scheme,
          policy,
          directory,
          store: new FogStore(join(dir, `fog-${i + 1}.sqlite`), f.id),
          accessScope: accessScope("read:sensitive@district-7"),
          // the chain: a reading endorsed for a sequence another batch took is released
          anchors,
        }),
    );

    step("fog-1 filters the district's traffic without decrypting anything");
    const bogus = { name: "bogus", id: id("not-in-the-registry") as Hex, key: randomDeviceKey(), seq: 0 };
    const traffic = [
      reading(sensors[0]!, 12, false),
      reading(sensors[1]!, 35, true), // near a school: sensitive
      reading(sensors[2]!, 180, false),
      reading(sensors[1]!, 41, true),
      reading(bogus, 500, true),
      reading(sensors[0]!, 14, false),
    ];
    const results = await nodes[0]!.ingest(traffic);
    results.forEach((r, i) =>
      info(
        `reading ${i + 1}: ${r.ok ? `${r.cls}${r.tags.length ? ` [${r.tags.join(",")}]` : ""}` : `dropped (${r.error.reason})`}`,
      ),
    );
    info(`counters: ${JSON.stringify(nodes[0]!.counters)}`);
    const open = nodes[0]!.queryOpen({ tag: "alarm" });
    info(
      `open store, anyone may query: ${nodes[0]!.queryOpen().length} normal readings, ${open.length} tagged alarm; the city opens one: ${new TextDecoder().decode(openPayload(cityKey, decodeReading(open[0]!.reading)))}`,
    );

    step("The cluster registers in DataAnchor, endorses the sensitive batch with sign shares and anchors it");
    const reports: MemberReport[] = [];
    const cluster = new FogCluster({
      id: clusterAccount.id,
      deployment: { chainId: (await provider.getNetwork()).chainId, anchor: anchorAddress },
      commitments: keys.commitments,
      scheme,
      members: nodes,
      anchor: anchors,
      // a member the registry suspends, blocks or revokes is not asked and its share never counts
      directory,
      // a member set aside is reported to the registry by the proposer, which lowers its trust
      report: async (r) => {
        reports.push(r);
        const evidence = id(`fog batch: member ${r.member} ${r.reason}`) as Hex;
        await client.connect(fog[0]!.key).report(fog[0]!.id, r.id, evidence);
      },
    });
    // each member signs its share of the proof of possession only for the key its share verifies
    // under (fog-4's does not: it is left out), and approves the key, threshold and members
    const registration = { client: anchors, clusterKey: clusterAccount.key, memberKeys: fog.map((f) => f.key) };
    const registered = await cluster.register(registration);
    info(
      `cluster ${short(clusterAccount.id)} registered in DataAnchor with every member's approval and a proof of possession${registered.sent ? ` (${registered.gasUsed} gas)` : ""}`,
    );
    const again = await cluster.register(registration);
    info(`registering it again changes nothing: epoch ${again.epoch}, ${again.sent ? "sent" : "nothing sent"}`);
    const anchored = (await cluster.anchorNext(nodes[0]!))!;
    info(
      `batch ${anchored.sequence}: ${anchored.leafCount} sensitive readings, root ${short(anchored.root)}, signed by fog-${anchored.signers.join(", fog-")}`,
    );
    for (const r of reports) {
      const trust = (await client.getDevice(r.id)).trust;
      info(`caught: fog-${r.member} (${short(r.id)}) — ${r.reason}; reported to the registry, trust now ${trust}`);
    }
    const record = await anchors.anchorOf(clusterAccount.id, anchored.root);
    info(
      `DataAnchor verified the group signature on chain (EIP-2537) and recorded the root for cluster ${short(record!.gateway)}`,
    );

    step("Maintenance crews: the city mints an access token for air-school and schedules shifts");
    const access = new AccessTokensClient(ctx.accessTokensAddress, operator);
    const [crewA, crewB] = [await ctx.chain.signer(3), await ctx.chain.signer(4)];
    const { tokenId } = await access.mint(sensors[1]!.id);
    const t0 = BigInt(await ctx.chain.latest());
    await access.scheduleShift(tokenId, crewA.address, t0, t0 + 8n * 3600n);
    info(
      `token #${tokenId}: crew A ${short(crewA.address)} holds the day shift; the token can only go back to the city`,
    );
    const reader = access.connect(provider);
    const ask = async (crew: typeof crewA, now: bigint) => {
      const request = newAccessRequest({
        token: tokenId,
        resource: sensors[1]!.id,
        requester: crew.address,
        issuedAt: now,
        expiresAt: now + 600n,
        scope: accessScope("read:sensitive@district-7"),
      });
      return nodes[0]!.serveSensitive(
        reader,
        request,
        await access.signAccessRequest(crew, request),
        { from: 0, to: Number.MAX_SAFE_INTEGER },
        now,
      );
    };
    info(`crew A asks fog-1 for air-school's sensitive readings: served ${(await ask(crewA, t0 + 60n)).length}`);
    await ctx.chain.increaseTo(t0 + 8n * 3600n - 5n);
    const handed = await access.handOver(tokenId, crewB.address, t0 + 16n * 3600n);
    info(`shift change: the city hands the token from crew A to crew B (${handed.gasUsed} gas)`);
    const t1 = BigInt(await ctx.chain.latest());
    info(`crew B asks: served ${(await ask(crewB, t1 + 1n)).length}`);
    try {
      await ask(crewA, t1 + 2n);
      info("!! crew A was served after its shift");
    } catch (e) {
      if (!(e instanceof AccessDeniedError)) throw e;
      info(`crew A asks after its shift: refused (${e.reason})`);
    }
    for (const n of nodes) n.store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
