/**
 * `strata layer establish`: seed 003's establishment (§III.B) for a whole
 * plan, each high-level layer on the chain its plan names (one chain for all,
 * or one per layer). Fresh member keys (an account and a BLS key each) and
 * central-node accounts are made and sealed one file each (`sealSecret`);
 * members are funded for their ledger writes; each layer's ledger is deployed
 * with its beginning block, parents first, every layer linked to its superior
 * by the superior's own quorum (the SDK's `establishHierarchy`); each edge
 * layer's object database is created with its planned objects; the public
 * file is written last. All or nothing on disk: any failure removes every file
 * written (what was sent to a chain stays there and is named in the error).
 */
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";

import { type HDNodeWallet, parseEther, Wallet } from "ethers";

import { toHex, type Hex } from "../../sdk/core/bytes.ts";
import { mclBackend } from "../../sdk/core/crypto/backend.ts";
import { minSig } from "../../sdk/core/crypto/bls.ts";
import { InvalidInputError } from "../../sdk/errors.ts";
import { establishHierarchy, type LayerPlan } from "../../sdk/layers/hierarchy.ts";
import { LedgerDirectory } from "../../sdk/layers/network.ts";
import { ObjectStore, type JsonObject, type NewObject } from "../../sdk/store/object-store.ts";
import { type Chain, connect } from "../../cli/chain.ts";
import { sealSecret, writeFileAtomic } from "../runtime/secret-file.ts";
import {
  type EdgeSecret,
  type LayerPlanFile,
  type LayersFile,
  type MemberSecret,
  type PublicEdge,
  type PublicLayer,
  slug,
} from "./layout.ts";

export const LAYERS_FILE = "layers.json";

export interface EstablishRequest {
  readonly plan: LayerPlanFile;
  /** Where the key files, object databases and the public file go (created; nothing in it is overwritten). */
  readonly out: string;
  /** The account that deploys the ledgers and funds the members, on every chain of the plan. */
  readonly deployer: Wallet | HDNodeWallet;
  readonly passphrase: string;
  /** Told of each step (stderr lines). */
  readonly progress?: (line: string) => void;
}

export interface EstablishResult {
  readonly file: string;
  readonly layers: LayersFile;
}

interface Member {
  readonly layer: string;
  readonly index: number;
  readonly wallet: Wallet | HDNodeWallet;
  readonly bls: Uint8Array;
  readonly keyFile: string;
}

export async function establishLayers(r: EstablishRequest): Promise<EstablishResult> {
  const { plan, out } = r;
  const say = r.progress ?? (() => undefined);
  checkPlan(plan);
  const file = join(out, LAYERS_FILE);
  const backend = await mclBackend();
  const bls = minSig(backend);

  // Every member's and central node's keys, and every file to write, before anything is written.
  const members = new Map<string, Member[]>();
  for (const layer of plan.layers) {
    members.set(
      layer.address,
      Array.from({ length: layer.members }, (_, index) => ({
        layer: layer.address,
        index,
        wallet: Wallet.createRandom(),
        bls: bls.keygen(),
        keyFile: `${slug(layer.address)}.member-${index}.key`,
      })),
    );
  }
  const edges = plan.layers.flatMap((layer) =>
    (layer.edges ?? []).map((e) => ({
      plan: e,
      superior: layer.address,
      wallet: Wallet.createRandom(),
      keyFile: `${slug(e.address)}.edge.key`,
      store: `${slug(e.address)}.objects.sqlite`,
    })),
  );
  const files = [
    ...[...members.values()].flat().map((m) => m.keyFile),
    ...edges.flatMap((e) => [e.keyFile, e.store]),
    LAYERS_FILE,
  ];
  if (new Set(files).size !== files.length) {
    throw new InvalidInputError("two layers of the plan map to the same file name: give them distinct addresses");
  }
  mkdirSync(out, { recursive: true });
  const taken = files.filter((f) => existsSync(join(out, f)));
  if (taken.length > 0) {
    throw new InvalidInputError(`${out} already holds ${taken.join(", ")}: establish into an empty folder`, {
      out,
      files: taken,
    });
  }

  // Chains first: a chain that does not answer fails the command before anything is written.
  const chains = new Map<string, Chain>();
  for (const layer of plan.layers) {
    if (!chains.has(layer.rpc)) chains.set(layer.rpc, await connect(layer.rpc));
  }

  const written: string[] = [];
  const stores: ObjectStore[] = [];
  const sent: string[] = [];
  try {
    for (const m of [...members.values()].flat()) {
      const secret: MemberSecret = {
        kind: "layer-member",
        layer: m.layer,
        index: m.index,
        account: m.wallet.privateKey as Hex,
        bls: toHex(m.bls),
      };
      written.push(m.keyFile);
      sealSecret(join(out, m.keyFile), secret, r.passphrase);
    }
    for (const e of edges) {
      const secret: EdgeSecret = { kind: "edge-node", edge: e.plan.address, account: e.wallet.privateKey as Hex };
      written.push(e.keyFile);
      sealSecret(join(out, e.keyFile), secret, r.passphrase);
    }
    say(`sealed ${written.length} key files in ${out}`);

    const fund = parseEther(plan.fundEth ?? "1");
    for (const layer of plan.layers) {
      const chain = chains.get(layer.rpc)!;
      const deployer = r.deployer.connect(chain.provider);
      for (const m of members.get(layer.address)!) {
        const tx = await deployer.sendTransaction({ to: m.wallet.address, value: fund });
        sent.push(`fund ${m.wallet.address} on chain ${chain.chainId}: ${tx.hash}`);
        await tx.wait();
      }
    }
    say(`funded ${[...members.values()].flat().length} member accounts`);

    for (const e of edges) {
      const store = new ObjectStore(join(out, e.store), e.plan.address, { mode: "create" });
      written.push(e.store);
      stores.push(store);
      for (const o of e.plan.objects ?? []) store.create(o as NewObject & { state?: JsonObject });
    }

    const directory = new LedgerDirectory();
    const plans: LayerPlan[] = plan.layers.map((layer) => {
      const provider = chains.get(layer.rpc)!.provider;
      return {
        address: layer.address,
        members: members.get(layer.address)!.map((m) => ({ signer: m.wallet.connect(provider), secretKey: m.bls })),
        deployer: r.deployer.connect(provider),
        ...(layer.superior === undefined ? {} : { superior: layer.superior }),
        edges: edges
          .filter((e) => e.superior === layer.address)
          .map((e) => ({ store: stores[edges.indexOf(e)]!, account: e.wallet })),
      };
    });
    const hierarchy = await establishHierarchy({ layers: plans, directory, backend });
    for (const l of hierarchy.layers.values()) for (const n of l.nodes) n.stop();
    say(`deployed ${hierarchy.layers.size} ledgers and linked them`);

    const layers: PublicLayer[] = plan.layers.map((layer) => {
      const established = hierarchy.layers.get(layer.address)!;
      sent.push(`ledger of ${layer.address}: ${established.link.ledger} on chain ${established.link.chainId}`);
      return {
        address: layer.address,
        layerId: established.layerId,
        chainId: established.link.chainId.toString(),
        rpc: layer.rpc,
        ledger: established.link.ledger,
        ...(layer.superior === undefined ? {} : { superior: layer.superior }),
        consensus: layer.consensus ?? "PBFT",
        members: established.nodes.map((n, index) => ({
          index,
          node: n.node,
          publicKey: toHex(n.publicKey),
          keyFile: members.get(layer.address)![index]!.keyFile,
        })),
      };
    });
    const publicEdges: PublicEdge[] = edges.map((e) => ({
      address: e.plan.address,
      layerId: hierarchy.edges.get(e.plan.address)!.layerId,
      superior: e.superior,
      node: e.wallet.address,
      keyFile: e.keyFile,
      store: e.store,
    }));
    const result: LayersFile = { version: 1, layers, edges: publicEdges };
    for (const s of stores.splice(0)) s.close();
    writeFileAtomic(file, `${JSON.stringify(result, null, 2)}\n`, 0o644);
    return { file, layers: result };
  } catch (error) {
    for (const s of stores) s.close();
    for (const f of written) rmSync(join(out, f), { force: true });
    for (const f of written) for (const extra of ["-wal", "-shm"]) rmSync(join(out, f + extra), { force: true });
    // The chain keeps what was sent: say what, so the operator can account for it.
    say(`establishing failed: no file kept${sent.length === 0 ? "" : `; already on chain: ${sent.join("; ")}`}`);
    throw error;
  } finally {
    for (const chain of chains.values()) chain.provider.destroy();
  }
}

/** The plan's own consistency (what the schema cannot say). */
function checkPlan(plan: LayerPlanFile): void {
  const seen = new Set<string>();
  for (const layer of plan.layers) {
    const all = [layer.address, ...(layer.edges ?? []).map((e) => e.address)];
    for (const a of all) {
      if (seen.has(a)) throw new InvalidInputError(`the plan names layer ${a} twice`, { layer: a });
      seen.add(a);
    }
    if (layer.superior !== undefined && !plan.layers.some((l) => l.address === layer.superior)) {
      throw new InvalidInputError(`layer ${layer.address}: its superior ${layer.superior} is not in the plan`, {
        layer: layer.address,
      });
    }
  }
}
