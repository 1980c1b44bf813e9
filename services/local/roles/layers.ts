/**
 * The layers of a local deployment (seed 003): a city layer on the second chain (anvil) over two
 * district layers on the first (`hardhat node`), each district over a crossing's edge layer with
 * its object database (a delivery van in district A, a traffic light in district B), established
 * once (`establishLayers`, what `strata layer establish` does), then one `strata layer run`
 * process per member and one `strata edge run` per edge layer, on ports fixed before they start
 * (each member's configuration names its peers' URLs).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";

import { Wallet } from "ethers";

import { establishLayers } from "../../layers/establish.ts";
import type { LayersFile } from "../../layers/layout.ts";
import type { LocalChain } from "../chain-setup.ts";
import type { Ports } from "../ports.ts";
import type { Supervisor } from "../supervisor.ts";

export const CITY = "strata://metro/city";
export const DISTRICT_A = "strata://metro/city/district-a";
export const DISTRICT_B = "strata://metro/city/district-b";
export const EDGE_A = "strata://metro/city/district-a/crossing-1";
export const EDGE_B = "strata://metro/city/district-b/crossing-9";
/** The route of a contract from edge A to edge B (the reverse for the answers). */
export const ROUTE = [DISTRICT_A, CITY, DISTRICT_B] as const;

export interface Layers {
  readonly file: LayersFile;
  /** Layer name (`city`, `district-a`, `district-b`) → its ledger and chain. */
  readonly ledgers: ReadonlyMap<string, { readonly address: string; readonly chain: LocalChain }>;
  /** Each edge layer's central node. */
  readonly edges: { readonly a: string; readonly b: string };
}

const short = (address: string): string => address.split("/").pop()!;

export async function startLayers(o: {
  readonly dir: string;
  readonly hardhat: LocalChain;
  readonly anvil: LocalChain;
  readonly supervisor: Supervisor;
  readonly passphrase: string;
  /** Members per high-level layer. */
  readonly members: number;
  readonly ports: Ports;
  /** Mean wait between district B's first member's self-examinations (ms; none when absent). */
  readonly examineEveryMs?: number;
}): Promise<Layers> {
  const { hardhat, anvil, supervisor, members } = o;
  // One deployer on both chains: it deploys the ledgers and funds the members.
  const deployer = new Wallet(Wallet.createRandom().privateKey);
  await hardhat.fund(deployer.address, "1000");
  await anvil.fund(deployer.address, "1000");
  const out = join(o.dir, "layers");
  const { file, layers } = await establishLayers({
    plan: {
      fundEth: "10",
      layers: [
        { address: CITY, rpc: anvil.url, members },
        {
          address: DISTRICT_A,
          rpc: hardhat.url,
          members,
          superior: CITY,
          edges: [
            {
              address: EDGE_A,
              objects: [{ classPath: "Vehicle/Van", permissions: 3, description: "delivery van 17" }],
            },
          ],
        },
        {
          address: DISTRICT_B,
          rpc: hardhat.url,
          members,
          superior: CITY,
          edges: [
            {
              address: EDGE_B,
              objects: [{ classPath: "Infrastructure/TrafficLight", permissions: 1, description: "crossing 9" }],
            },
          ],
        },
      ],
    },
    out,
    deployer,
    passphrase: o.passphrase,
  });
  const urls: { layers: Record<string, string[]>; edges: Record<string, string> } = { layers: {}, edges: {} };
  for (const l of layers.layers) {
    urls.layers[l.address] = [];
    for (let i = 0; i < l.members.length; i++) urls.layers[l.address]!.push(`http://127.0.0.1:${await o.ports.tcp()}`);
  }
  for (const e of layers.edges) urls.edges[e.address] = `http://127.0.0.1:${await o.ports.tcp()}`;
  const env = { STRATA_PASSPHRASE: o.passphrase };
  const port = (url: string): number => Number(new URL(url).port);
  const memberSpecs = layers.layers.flatMap((l) =>
    l.members.map((_, i) => {
      const config = join(o.dir, `layer-${short(l.address)}-${i + 1}.json`);
      const listen = { port: port(urls.layers[l.address]![i]!) };
      const examine =
        l.address === DISTRICT_B && i === 0 && o.examineEveryMs ? { examineEveryMs: o.examineEveryMs } : {};
      writeFileSync(
        config,
        JSON.stringify({ layers: file, layer: l.address, index: i, listen, network: urls, ...examine }),
      );
      return { name: `${short(l.address)}-${i + 1}`, args: ["layer", "run", "--config", config], stage: "layer", env };
    }),
  );
  await supervisor.startAll(memberSpecs.map((s) => ({ ...s, stage: "layer" as const })));
  await supervisor.startAll(
    layers.edges.map((e) => {
      const config = join(o.dir, `edge-${short(e.address)}.json`);
      const listen = { port: port(urls.edges[e.address]!) };
      writeFileSync(config, JSON.stringify({ layers: file, edge: e.address, listen, network: urls }));
      return { name: `edge-${short(e.address)}`, args: ["edge", "run", "--config", config], stage: "gateway", env };
    }),
  );
  const ledgers = new Map<string, { address: string; chain: LocalChain }>();
  for (const l of layers.layers) {
    ledgers.set(short(l.address), { address: l.ledger, chain: l.chainId === String(anvil.chainId) ? anvil : hardhat });
  }
  return { file: layers, ledgers, edges: { a: urls.edges[EDGE_A]!, b: urls.edges[EDGE_B]! } };
}
