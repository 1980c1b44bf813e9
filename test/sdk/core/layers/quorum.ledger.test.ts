/**
 * The SDK's decision rules (`sdk/core/layers/quorum.ts`) against the ledger's
 * own answers on the embedded network, with real BLS attestations:
 * `membership().quorum` for n = 1..7; for every signer subset of n = 1..7,
 * whether `isValidAttestation` accepts it; for every judged member and signer
 * subset of n = 2..5, whether `invalidate` accepts the verdict; and whether
 * `superiorLost` takes the alarm (linked, frozen, no superior). A rejection
 * must be one of the ledger's quorum errors, never a bad signature.
 */
import { expect } from "chai";
import { getBytes, keccak256, toUtf8Bytes } from "ethers";
import { network } from "hardhat";

import { aggregateAttestation, type PartialAttestation } from "../../../../sdk/core/layers/attestation.ts";
import {
  acceptsSuperiorLost,
  isInvalidVerdict,
  isQuorum,
  memberCount,
  quorumOf,
} from "../../../../sdk/core/layers/quorum.ts";
import type { SummaryLedger } from "../../../../types/ethers-contracts/index.ts";
import { backend, beginning, bls, layerId, layerMembers, type LayerMember } from "../../../contracts/ledger/layer.ts";

const { ethers } = await network.create();

const ALL = (n: number): bigint => (1n << BigInt(n)) - 1n;
const QUORUM_ERRORS = ["LedgerQuorumNotReached", "LedgerSignersNotMembers", "LedgerJudgedMemberSigned"];

async function deploy(n: number, withSuperior = true) {
  const accounts = await ethers.getSigners();
  const members = layerMembers(
    n,
    accounts.slice(0, n).map((a) => a.address),
    `quorum-${n}`,
  );
  const superior = withSuperior
    ? { layerId: layerId("superior"), ledger: accounts[18]!.address, chainId: 31337n }
    : undefined;
  const factory = await ethers.getContractFactory("SummaryLedger");
  const ledger = (await factory.deploy(beginning(`L-${n}`, members, [], superior))) as unknown as SummaryLedger;
  return { ledger, members };
}

/** Each member's signature over `digest`, aggregated per signer set (an empty set carries member 0's). */
function signerSets(members: readonly LayerMember[], digest: string) {
  const message = getBytes(digest);
  const partials = members.map((m, index): PartialAttestation => ({
    index,
    signature: bls.sign(m.secretKey, message),
  }));
  return (signers: bigint) => {
    const chosen = partials.filter((p) => (signers >> BigInt(p.index)) & 1n);
    const a = aggregateAttestation(backend, chosen.length === 0 ? [partials[0]!] : chosen);
    return { signers, signature: a.signature };
  };
}

/** Whether the ledger accepts `call`; a rejection must be one of `allowed` (by error name). */
async function accepts(
  ledger: SummaryLedger,
  call: () => Promise<unknown>,
  allowed: readonly string[],
): Promise<boolean> {
  try {
    await call();
    return true;
  } catch (e) {
    const data = (e as { data?: string }).data;
    const name = data === undefined ? undefined : ledger.interface.parseError(data)?.name;
    expect(allowed, `rejected with ${name ?? String(e)}`).to.include(name);
    return false;
  }
}

describe("layers/quorum against SummaryLedger", function () {
  this.timeout(600_000);

  it("states the ledger's quorum for n = 1..7 and which signer sets it accepts", async function () {
    for (let n = 1; n <= 7; n++) {
      const { ledger, members } = await deploy(n);
      const [count, validMask, quorum] = await ledger.membership();
      expect([count, validMask, quorum]).to.deep.equal([BigInt(n), ALL(n), BigInt(quorumOf(n))]);
      const digest = keccak256(toUtf8Bytes(`a decision of ${n}`));
      const sign = signerSets(members, digest);
      // every subset, and one naming a member that does not exist
      for (const signers of [...Array.from({ length: 2 ** n }, (_, s) => BigInt(s)), ALL(n) | (1n << BigInt(n))]) {
        const a = sign(signers & ALL(n));
        const ok = await accepts(
          ledger,
          async () => expect(await ledger.isValidAttestation(digest, signers, a.signature)).to.equal(true),
          QUORUM_ERRORS,
        );
        expect(isQuorum(signers, validMask), `n=${n} signers=${signers.toString(2)}`).to.equal(ok);
      }
    }
  });

  it("states the ledger's invalid verdict: the others' quorum, never the judged member's signature (n = 2..5)", async function () {
    for (let n = 2; n <= 5; n++) {
      const { ledger, members } = await deploy(n);
      for (let judged = 0; judged < n; judged++) {
        const sign = signerSets(members, await ledger.invalidateDigest(judged));
        for (let s = 0n; s <= ALL(n); s++) {
          const a = sign(s);
          const ok = await accepts(
            ledger,
            () => ledger.invalidate.staticCall(judged, a.signers, a.signature),
            QUORUM_ERRORS,
          );
          const rule = isInvalidVerdict({ validMask: ALL(n), judged, asked: 0n, agreed: s });
          expect(rule, `n=${n} judged=${judged} signers=${s.toString(2)}`).to.equal(ok);
          expect(isQuorum(s, ALL(n), 1n << BigInt(judged))).to.equal(ok);
        }
      }
    }
  });

  it("follows the ledger once a member is tagged invalid: it neither signs nor counts (7 members, then 6)", async function () {
    const { ledger, members } = await deploy(7);
    const tag = signerSets(members, await ledger.invalidateDigest(6));
    const verdict = tag(ALL(5));
    await (await ledger.invalidate(6, verdict.signers, verdict.signature)).wait();
    const [, validMask, quorum] = await ledger.membership();
    expect(validMask).to.equal(ALL(6));
    expect(quorum).to.equal(BigInt(quorumOf(memberCount(validMask))));
    const digest = keccak256(toUtf8Bytes("after the verdict"));
    const sign = signerSets(members, digest);
    for (let s = 0n; s <= ALL(7); s++) {
      const a = sign(s);
      const ok = await accepts(
        ledger,
        async () => expect(await ledger.isValidAttestation(digest, s, a.signature)).to.equal(true),
        QUORUM_ERRORS,
      );
      expect(isQuorum(s, validMask), `signers=${s.toString(2)}`).to.equal(ok);
    }
  });

  it("states when the ledger takes the superior-lost alarm: linked, not frozen, a quorum (4 members)", async function () {
    const n = 4;
    const { ledger, members } = await deploy(n);
    const sign = signerSets(members, await ledger.superiorLostDigest());
    for (let s = 0n; s <= ALL(n); s++) {
      const a = sign(s);
      const ok = await accepts(ledger, () => ledger.superiorLost.staticCall(a.signers, a.signature), QUORUM_ERRORS);
      const rule = acceptsSuperiorLost({ linked: true, frozen: false, signers: s, validMask: ALL(n) });
      expect(rule, `signers=${s.toString(2)}`).to.equal(ok);
    }
    const all = sign(ALL(n));
    await (await ledger.superiorLost(all.signers, all.signature)).wait();
    expect(await ledger.isSuperiorFrozen()).to.equal(true);
    // the same link cannot be declared lost twice
    const again = await accepts(ledger, () => ledger.superiorLost.staticCall(all.signers, all.signature), [
      "LedgerSuperiorFrozen",
    ]);
    expect(acceptsSuperiorLost({ linked: true, frozen: true, signers: ALL(n), validMask: ALL(n) })).to.equal(again);

    // a top layer has no superior to lose
    const top = await deploy(n, false);
    const t = signerSets(top.members, await top.ledger.superiorLostDigest())(ALL(n));
    const none = await accepts(top.ledger, () => top.ledger.superiorLost.staticCall(t.signers, t.signature), [
      "LedgerNoSuperior",
    ]);
    expect(acceptsSuperiorLost({ linked: false, frozen: false, signers: ALL(n), validMask: ALL(n) })).to.equal(none);
  });
});
