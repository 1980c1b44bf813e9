/**
 * Where a packet may come from (statement 1 of the paper, and the frozen-route
 * rule): a packet arriving at a layer comes from a layer linked to it (a
 * subordinate or the superior), is addressed here next, goes on to a linked
 * layer, and carries its source's evidence: an edge layer's central-node
 * signature, or a high-level layer's ledger holding its summary. The layer's
 * links are cached per ledger links version.
 */
import { getBytes, verifyMessage } from "ethers";

import { type Hex } from "../core/bytes.ts";
import { packetDigest } from "../core/layers/contract.ts";
import { checkSummary, type Packet, sourceLayer } from "../core/layers/packet.ts";
import type { LedgerLayerLink } from "../contracts/ledger.ts";
import { isLinked, type MemberContext, same, ZERO_WORD } from "./member.ts";
import { checkLedgerHolds, LayerError, type Transmission } from "./network.ts";

interface Links {
  readonly version: bigint;
  readonly superior: LedgerLayerLink;
  readonly frozen: boolean;
  readonly subordinates: Map<Hex, LedgerLayerLink | undefined>;
}

export class SourceCheck {
  readonly #member: MemberContext;
  #linkCache: Links | undefined;

  constructor(member: MemberContext) {
    this.#member = member;
  }

  /** `LayerError` unless the packet comes from the layer it names, is addressed here, and its source's evidence holds. */
  async check(t: Transmission): Promise<void> {
    const m = this.#member;
    const p: Packet = t.packet;
    checkSummary(p);
    if (p.destination[0] !== m.layerId) {
      throw new LayerError("misrouted", "the packet is not addressed to this layer next", { next: p.destination[0] });
    }
    const source = sourceLayer(p);
    const links = await this.#links();
    const { superior } = links;
    const link = source === superior.layerId ? superior : await this.#subordinate(links, source);
    if (link === undefined || source === ZERO_WORD) {
      throw new LayerError("unknown-source", "the source layer is neither a subordinate nor the superior", { source });
    }
    const next = p.destination[1];
    if (next !== undefined && next !== superior.layerId && (await this.#subordinate(links, next)) === undefined) {
      throw new LayerError("misrouted", "the layer after this one is neither a subordinate nor the superior", { next });
    }
    const viaSuperior = source === superior.layerId || next === superior.layerId;
    if (viaSuperior && links.frozen) {
      throw new LayerError("frozen", "the route crosses the superior layer found lost", { superior: superior.layerId });
    }
    if (link.chainId === 0n) {
      // An edge layer: its central node (the link's account) signed the packet.
      if (p.source.length !== 1 || t.edgeSignature === undefined) {
        throw new LayerError("bad-source", "a packet from an edge layer needs its central node's signature");
      }
      let signer: string;
      try {
        signer = verifyMessage(getBytes(packetDigest(p, m.chainId)), t.edgeSignature);
      } catch (cause) {
        throw new LayerError("bad-source", "the central node's signature is malformed", { cause: String(cause) });
      }
      if (!same(signer, link.ledger)) {
        throw new LayerError("bad-source", "the packet is not signed by the edge layer's central node", {
          signer,
          centralNode: link.ledger,
        });
      }
      return;
    }
    // A high-level layer: its ledger on its chain holds the summary in the block it handled the packet in.
    await checkLedgerHolds(m.options.directory, link, p, m.ledger);
  }

  /**
   * The layer's links (superior, its frozen flag, subordinates looked up so
   * far) as of the ledger's links version: every change of a link moves it,
   * so one `linksVersion` call tells whether the cached links still hold.
   */
  async #links(): Promise<Links> {
    const ledger = this.#member.ledger;
    const version = await ledger.linksVersion();
    if (this.#linkCache?.version !== version) {
      const superior = await ledger.superior();
      const frozen = isLinked(superior) && (await ledger.isSuperiorFrozen());
      this.#linkCache = { version, superior, frozen, subordinates: new Map() };
    }
    return this.#linkCache;
  }

  async #subordinate(links: Links, layerId: Hex): Promise<LedgerLayerLink | undefined> {
    if (!links.subordinates.has(layerId)) {
      links.subordinates.set(layerId, await this.#member.ledger.subordinate(layerId));
    }
    return links.subordinates.get(layerId);
  }
}
