/**
 * A fog node serves a signed access request once: a replay is refused also after the node's own
 * clock steps back (freshness is judged on the caller's `now`), and one requester flooding the
 * node with fresh requests is refused `busy` without locking the other requesters out.
 */
import { join } from "node:path";

import { expect } from "chai";
import { type HDNodeWallet, Wallet } from "ethers";

import { accessDomain, accessRequestDigest, checkAccessRequest } from "../../../sdk/core/access.ts";
import type { Hex } from "../../../sdk/core/bytes.ts";
import { Status } from "../../../sdk/core/registry.ts";
import { AccessDeniedError, ProtocolError } from "../../../sdk/errors.ts";
import { type AccessVerifier, FogNode } from "../../../sdk/fog/fog-node.ts";
import { FogStore } from "../../../sdk/store/fog-store.ts";
import { makeDistrict, randomId } from "../../helpers/fog.ts";

describe("FogNode.serveSensitive: the replay window", function () {
  const chainNow = 1_800_000_000n; // the caller's clock (e.g. chain time), passed as `now`

  async function site(options: { maxAccessNoncesPerRequester?: number } = {}) {
    const d = makeDistrict();
    let clock = 1_800_000_000_000;
    const id = randomId();
    const node = new FogNode({
      id,
      index: 1,
      share: d.cluster.shares[0]!,
      commitments: d.cluster.commitments,
      scheme: d.scheme,
      policy: d.policy,
      directory: d.directory,
      store: new FogStore(join(d.dir, `${id}.sqlite`), id),
      clock: () => clock,
      ...options,
    });
    const dev = d.device();
    await node.ingest([dev.read(1, { sensitive: true })]);
    const domain = accessDomain(31337n, `0x${"77".repeat(20)}`);
    const holders = [Wallet.createRandom(), Wallet.createRandom()];
    const requestOf = (holder: HDNodeWallet, nonce: number) => ({
      token: 1n,
      resource: dev.id,
      requester: holder.address,
      nonce: `0x${nonce.toString(16).padStart(64, "0")}` as Hex,
      issuedAt: chainNow,
      expiresAt: chainNow + 3_600n,
      scope: node.accessScope,
    });
    type Request = ReturnType<typeof requestOf>;
    const verifier: AccessVerifier<Request> = {
      verifyAccessRequest: (r, sig, now, opts) =>
        Promise.resolve(
          checkAccessRequest({
            domain,
            request: r,
            signature: sig,
            facts: {
              resource: dev.id,
              holder: r.requester,
              start: 0n,
              end: chainNow + 86_400n,
              revoked: false,
              resourceStatus: Status.Active,
            },
            now: now!,
            ...opts,
          }),
        ),
    };
    const serve = (holder: HDNodeWallet, nonce: number): Promise<string> => {
      const request = requestOf(holder, nonce);
      const signature = holder.signingKey.sign(accessRequestDigest(domain, request)).serialized as Hex;
      return node
        .serveSensitive(verifier, request, signature, { from: 0, to: Number.MAX_SAFE_INTEGER }, chainNow + 10n)
        .then(
          (r) => `served ${r.length}`,
          (e: unknown) => (e instanceof AccessDeniedError || e instanceof ProtocolError ? e.reason : String(e)),
        );
    };
    return { d, node, holders, serve, stepBack: (ms: number) => (clock -= ms) };
  }

  it("refuses a replay after the node's own clock steps back by hours", async () => {
    const s = await site();
    try {
      expect(await s.serve(s.holders[0]!, 1)).to.equal("served 1");
      expect(await s.serve(s.holders[0]!, 1)).to.equal("replay");
      s.stepBack(2 * 3_600_000); // an NTP correction, a restored VM
      expect(await s.serve(s.holders[0]!, 1)).to.equal("replay");
    } finally {
      s.d.cleanup();
    }
  });

  it("bounds each requester's fresh requests without locking the other requesters out", async () => {
    const s = await site({ maxAccessNoncesPerRequester: 2 });
    try {
      expect(await s.serve(s.holders[0]!, 1)).to.equal("served 1");
      expect(await s.serve(s.holders[0]!, 2)).to.equal("served 1");
      expect(await s.serve(s.holders[0]!, 3)).to.equal("busy");
      expect(await s.serve(s.holders[1]!, 4)).to.equal("served 1");
      expect(await s.serve(s.holders[0]!, 1)).to.equal("replay");
    } finally {
      s.d.cleanup();
    }
  });
});
