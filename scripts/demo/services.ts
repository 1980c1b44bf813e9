/**
 * The last part of the demo: what the running services of the local deployment did meanwhile,
 * read back over their own interfaces on loopback and checked against the chains. A simulated
 * NB-IoT device's readings are acquired from the three stations over HTTP (`HttpStationLink`),
 * verified block by block (chain links, station signatures, handovers), each root found in
 * `DataAnchor` as anchored by its station, and decrypted with the device's primary key; an insider
 * with file access edits one of those readings in a station's SQLite store, and the next
 * acquisition over HTTP, verified against the anchored roots, catches it; the fog
 * cluster's open store and its sensitive batches are read over HTTP, each batch root found in
 * `DataAnchor` under the cluster (a group signature of 3 of its 5 members); and a contract crosses
 * the edge nodes and the layer members, district A and B on the first chain, the city on the
 * second.
 */
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";

import { mclBackend } from "../../sdk/core/crypto/backend.ts";
import { bytes32ValuesHash, keccakReady } from "../../sdk/core/merkle.ts";
import { type AcquisitionResponse, pageEnd, verifyAcquisition } from "../../sdk/core/nbiot/acquisition.ts";
import { nbiotParams } from "../../sdk/core/nbiot/params.ts";
import { AeadKey } from "../../sdk/core/crypto/aead.ts";
import { openPrimary } from "../../sdk/core/nbiot/session.ts";
import { fromHex, toHex, type Hex } from "../../sdk/core/bytes.ts";
import { DataAnchorClient } from "../../sdk/contracts/anchor.ts";
import { ProtocolError } from "../../sdk/errors.ts";
import { loadKeyServerPublic } from "../../services/keyserver/client.ts";
import type { LocalDeployment } from "../../services/local/deployment.ts";
import { sendContract } from "../../services/local/roles/contracts.ts";
import { requestJson } from "../../services/runtime/http-client.ts";
import { SimState } from "../../services/sim/nbiot.ts";
import { HttpStationLink } from "../../services/station/link.ts";

export interface ServicesDemoContext {
  readonly deployment: LocalDeployment;
  step(text: string): void;
  info(text: string): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runServicesDemo(ctx: ServicesDemoContext): Promise<void> {
  const { deployment: d, step, info } = ctx;
  const short = (id: string): string => `${id.slice(0, 10)}…`;
  const { hardhat } = d.chains;
  const anchors = new DataAnchorClient(hardhat.anchorAddress, hardhat.provider);
  const nameOf = (id: string) => d.stations.stations.find((s) => s.id.toLowerCase() === id.toLowerCase())?.name ?? id;

  step("The running services: a simulated NB-IoT device's readings, acquired from the three stations over HTTP");
  const params = nbiotParams(
    await mclBackend(),
    loadKeyServerPublic(await mclBackend(), d.keyServers.publicFile).masterPublic,
  );
  const links = d.stations.stations.map((s) => new HttpStationLink(s.http));
  await keccakReady();
  // a device with readings confirmed at two stations or more, all anchored (the stations seal every few seconds)
  for (let attempt = 0; ; attempt++) {
    const state = new SimState(d.stations.simState);
    const devices = state.all().filter((x) => x.tipSeq > 0);
    state.close();
    try {
      for (const device of devices) {
        const responses = await acquireAll(device.id);
        const verified = verifyAcquisition(params, device.id, responses);
        const stations = new Set(verified.blocks.map((b) => b.block.bs));
        if (stations.size < 2) continue;
        for (const [root, station] of verified.roots) {
          if ((await anchors.anchorOf(station, root)) === undefined) throw new ProtocolError("not-anchored", root);
        }
        const key = new AeadKey(device.primaryKey);
        info(
          `device ${short(device.id)}: ${verified.blocks.length} readings in one chain of blocks across ${[...stations].map(nameOf).join(", ")}`,
        );
        for (const b of verified.blocks.slice(0, 6)) {
          const ok = await anchors.verifyReading(b.block.bs, b.root, toHex(bytes32ValuesHash(b.hash)), [...b.proof]);
          const text = new TextDecoder().decode(openPrimary(key, device.id, b.block.seq, b.primary));
          info(
            `  #${String(b.block.seq).padStart(2)} ${nameOf(b.block.bs).padEnd(9)} root ${short(b.root)} verifyReading ${ok}  ${text}`,
          );
        }
        info(
          `${verified.roots.size} batch roots, each anchored in DataAnchor by its own station; ${verified.handovers?.length ?? 0} handovers`,
        );
        await insiderEdit(device.id, verified.blocks.at(-2) ?? verified.blocks[0]!);
        return await fogAndLayers();
      }
    } catch (e) {
      if (!(e instanceof ProtocolError) || attempt > 60) throw e;
    }
    if (attempt > 60) throw new Error("no device has readings anchored at two stations yet");
    await sleep(1_000);
  }

  /** Every page of `device`'s readings from every station, over HTTP. */
  async function acquireAll(device: Hex): Promise<AcquisitionResponse[]> {
    const responses: AcquisitionResponse[] = [];
    for (const link of links) {
      let after = 0;
      for (;;) {
        const page = await link.acquire(device, 0, Number.MAX_SAFE_INTEGER, after);
        responses.push(page);
        const end = pageEnd(page);
        if (!page.more || end === undefined) break;
        after = end;
      }
    }
    return responses;
  }

  /**
   * An insider with file access edits one stored reading in a station's SQLite store (the station
   * holds its file exclusively while it runs: the insider stops it, edits, and starts it again);
   * the next acquisition over HTTP, verified against the anchored roots, catches it.
   */
  async function insiderEdit(device: Hex, target: { block: { bs: Hex; seq: number } }): Promise<void> {
    const name = nameOf(target.block.bs);
    step(`An insider with file access edits reading #${target.block.seq} in ${name}'s SQLite store`);
    const { spec } = d.supervisor.get(name);
    info(`${name} stopped for maintenance (exit ${await d.supervisor.stopService(name)})`);
    const db = new DatabaseSync(join(d.dir, `${name}.sqlite`));
    try {
      const where = "WHERE seq = ? AND node_ref = (SELECT ref FROM nodes WHERE node = ?)";
      const node = fromHex(device, "device");
      const row = db.prepare(`SELECT primary_ct FROM blocks ${where}`).get(target.block.seq, node) as
        { primary_ct: Uint8Array } | undefined;
      if (!row) throw new Error(`${name} holds no reading #${target.block.seq} of the device`);
      const edited = Uint8Array.from(row.primary_ct);
      edited[edited.length - 1]! ^= 0x01;
      db.prepare(`UPDATE blocks SET primary_ct = ? ${where}`).run(edited, target.block.seq, node);
    } finally {
      db.close();
    }
    await d.supervisor.start(spec);
    info(`one bit of the stored ciphertext flipped; ${name} started again on its edited store`);
    const responses = await acquireAll(device);
    let caught: string | undefined;
    try {
      const again = verifyAcquisition(params, device, responses);
      for (const [root, station] of again.roots) {
        if ((await anchors.anchorOf(station, root)) === undefined) throw new ProtocolError("not-anchored", root);
      }
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      caught = `${e.reason} — ${e.shortMessage}`;
    }
    if (caught === undefined) throw new Error("the insider's edit went unnoticed");
    info(`acquired again over HTTP and checked against the anchored roots: caught, ${caught}`);
  }

  async function fogAndLayers(): Promise<void> {
    step("The fog cluster over HTTP: its open store, and its sensitive batches anchored with 3 of 5 sign shares");
    const coordinator = d.fog.members[0]!.url;
    let batches: { sequence: number; root: Hex; leafCount: number }[] = [];
    for (let i = 0; i < 60 && batches.length === 0; i++) {
      batches = (await requestJson<{ batches: typeof batches }>(`${coordinator}/batches`)).batches;
      if (batches.length === 0) await sleep(1_000);
    }
    const open = (await requestJson<{ readings: unknown[] }>(`${coordinator}/open?limit=10000`)).readings;
    info(`open store (anyone may query, no decryption on the fog nodes): ${open.length} normal readings`);
    for (const b of batches.slice(0, 4)) {
      const record = await anchors.anchorOf(d.fog.cluster, b.root);
      info(
        `batch ${b.sequence}: ${b.leafCount} sensitive readings, root ${short(b.root)}, in DataAnchor at sequence ${record?.sequence}`,
      );
    }
    info(`sensitive readings are served only on a valid access request (POST /sensitive with an on-chain token)`);

    step("A contract through the edge nodes and the layer members: district A, the city (anvil), district B");
    const outcomes = await sendContract(d.layers.edges.a, d.layers.edges.b, 0);
    info(`open, grant, end: ${outcomes.length} summaries recorded (${[...new Set(outcomes)].join(", ")})`);
    for (const [name, l] of d.layers.ledgers)
      info(`${name.padEnd(10)} ledger ${short(l.address)} on chain ${l.chain.chainId}`);
  }
}
