/**
 * Establishing a high-level layer of seed 003 (§III.B, "Establishment"): its
 * members write the beginning block (establishment time, each member's key
 * with a proof of possession, the consensus label, the subordinate layers'
 * links and the superior's) by deploying the layer's `SummaryLedger`, and each
 * member runs a `LayerNode` over it with its own account.
 */
import type { Signer } from "ethers";

import { toHex, type Hex } from "../core/bytes.ts";
import type { PairingBackend } from "../core/crypto/backend.ts";
import { memberKeyMaterial } from "../core/layers/attestation.ts";
import { layerHash } from "../core/ids.ts";
import { deploySummaryLedger } from "../contracts/deploy.ts";
import { type LedgerLayerLink, SummaryLedgerClient } from "../contracts/ledger.ts";
import { InvalidInputError } from "../errors.ts";
import { LayerNode, type LayerNodeOptions } from "./layer-node.ts";
import type { LedgerDirectory } from "./network.ts";

/** A layer with no superior (the top of the hierarchy). */
export const NO_LAYER: LedgerLayerLink = {
  layerId: `0x${"00".repeat(32)}`,
  ledger: `0x${"00".repeat(20)}`,
  chainId: 0n,
};

export interface LayerMemberSetup {
  /** The member's account on the layer's chain. */
  readonly signer: Signer;
  /** Its BLS secret key. */
  readonly secretKey: Uint8Array;
}

export interface EstablishOptions {
  /** The layer's address, e.g. `strata://city`; its id is `layerHash(address)`. */
  readonly address: string;
  readonly members: readonly LayerMemberSetup[];
  /** The account that deploys the ledger (any). */
  readonly deployer: Signer;
  readonly directory: LedgerDirectory;
  readonly backend: PairingBackend;
  readonly consensus?: string;
  readonly subordinates?: readonly LedgerLayerLink[];
  readonly superior?: LedgerLayerLink;
  /** The rest of every member node's options (lifetimes, timeouts, alarms, reach). */
  readonly node?: Partial<
    Omit<LayerNodeOptions, "layerId" | "index" | "secretKey" | "ledger" | "chainId" | "directory" | "backend">
  >;
}

export interface EstablishedLayer {
  readonly layerId: Hex;
  /** The link other layers record for this one: its ledger and chain. */
  readonly link: LedgerLayerLink;
  readonly ledger: SummaryLedgerClient;
  readonly nodes: LayerNode[];
}

/** Deploys the layer's ledger with its beginning block and returns its members' nodes. */
export async function establishLayer(o: EstablishOptions): Promise<EstablishedLayer> {
  if (!Array.isArray(o.members) || o.members.length === 0) {
    throw new InvalidInputError("a layer needs at least one member");
  }
  const layerId = layerHash(o.address);
  const members = await Promise.all(
    o.members.map(async (m) => {
      const { publicKey, proofOfPossession } = memberKeyMaterial(o.backend, m.secretKey);
      return {
        node: await m.signer.getAddress(),
        publicKey: toHex(publicKey),
        proofOfPossession: toHex(proofOfPossession),
      };
    }),
  );
  const beginning = {
    layerId,
    consensus: o.consensus ?? "PBFT",
    members,
    subordinates: [...(o.subordinates ?? [])],
    superior: o.superior ?? NO_LAYER,
  };
  const { address } = await deploySummaryLedger(o.deployer, beginning);
  const provider = o.deployer.provider;
  if (!provider) throw new InvalidInputError("the deployer needs a provider");
  const chainId = (await provider.getNetwork()).chainId;
  o.directory.addChain(chainId, provider);
  const nodes = o.members.map(
    (m, index) =>
      new LayerNode(members[index]!.node, {
        ...o.node,
        layerId,
        index,
        secretKey: m.secretKey,
        ledger: new SummaryLedgerClient(address, m.signer),
        chainId,
        directory: o.directory,
        backend: o.backend,
      }),
  );
  for (const n of nodes) n.setPeers(nodes);
  return {
    layerId,
    link: { layerId, ledger: address, chainId },
    ledger: new SummaryLedgerClient(address, provider),
    nodes,
  };
}
