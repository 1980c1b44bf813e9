/**
 * Collecting a layer decision (`sdk/layers/attestations.ts`) against a stand-in
 * ledger (its membership and registered keys), no chain: the attestation is
 * made exactly when the quorum rule (`isQuorum`) or, for a verdict, the
 * unanimous-invalid rule (`isInvalidVerdict`) holds, and refused with the
 * reason that says which part failed.
 */
import { expect } from "chai";
import { getBytes, hexlify, keccak256, toUtf8Bytes } from "ethers";

import type { Hex } from "../../../sdk/core/bytes.ts";
import { mclBackend } from "../../../sdk/core/crypto/backend.ts";
import { minSig } from "../../../sdk/core/crypto/bls.ts";
import { memberKeyMaterial, signerIndices } from "../../../sdk/core/layers/attestation.ts";
import type { SummaryLedgerClient } from "../../../sdk/contracts/ledger.ts";
import { collectAttestation } from "../../../sdk/layers/attestations.ts";
import { RegisteredKeys } from "../../../sdk/layers/key-cache.ts";
import { MemberContext } from "../../../sdk/layers/member.ts";
import { LayerError, type LayerPeer, LedgerDirectory } from "../../../sdk/layers/network.ts";

const backend = await mclBackend();
const bls = minSig(backend);
const secretKeys = Array.from({ length: 7 }, (_, i) => bls.keygen(new Uint8Array(32).fill(i + 1)));
const DIGEST = keccak256(toUtf8Bytes("a decision")) as Hex;

/** A ledger that only answers membership and member keys, with valid members `validMask`. */
function standInLedger(n: number, validMask: bigint): SummaryLedgerClient {
  return {
    address: "0x000000000000000000000000000000000000dEaD",
    membership: async () => ({ count: n, validMask, quorum: 0 }),
    member: async (index: number) => ({
      node: `0x${String(index).padStart(40, "0")}`,
      publicKey: hexlify(memberKeyMaterial(backend, secretKeys[index]!).publicKey),
      valid: ((validMask >> BigInt(index)) & 1n) === 1n,
    }),
  } as unknown as SummaryLedgerClient;
}

function memberOf(n: number, validMask: bigint, index = 0) {
  const member = new MemberContext(`0x${"11".repeat(20)}`, {
    layerId: keccak256(toUtf8Bytes("layer")) as Hex,
    index,
    secretKey: secretKeys[index]!,
    ledger: standInLedger(n, validMask),
    chainId: 31337n,
    directory: new LedgerDirectory(),
    backend,
  });
  const peers = Array.from(
    { length: n },
    (_, i) =>
      ({ index: i, node: `0x${String(i).padStart(40, "0")}`, publicKey: bls.publicKey(secretKeys[i]!) }) as LayerPeer,
  );
  member.setPeers(peers);
  return { member, keys: new RegisteredKeys(backend), peers: member.peers };
}

/** Peers in `refusing` refuse; the others sign. */
const askAll =
  (refusing: readonly number[] = []) =>
  async (peer: LayerPeer): Promise<Uint8Array> => {
    if (refusing.includes(peer.index)) throw new LayerError("disputed", "this peer does not agree");
    return bls.sign(secretKeys[peer.index]!, getBytes(DIGEST));
  };

async function reason(work: Promise<unknown>): Promise<string> {
  const e = await work.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!(e instanceof LayerError)) throw new Error(`expected a LayerError, got ${String(e)}`);
  return e.reason;
}

describe("layers/attestations: collecting a decision", function () {
  it("attests once the valid signers are a quorum, and names who signed", async function () {
    const { member, keys } = memberOf(4, 0b1111n);
    const a = await collectAttestation(member, keys, DIGEST, askAll([3]));
    expect(signerIndices(a.signers)).to.deep.equal([0, 1, 2]);
    expect(await reason(collectAttestation(member, keys, DIGEST, askAll([2, 3])))).to.equal("no-quorum");
  });

  it("asks only valid members, and a collector tagged invalid gets no quorum", async function () {
    // member 3 tagged invalid: of three valid members, all three are needed
    const { member, keys } = memberOf(4, 0b0111n);
    const a = await collectAttestation(member, keys, DIGEST, askAll());
    expect(signerIndices(a.signers)).to.deep.equal([0, 1, 2]);
    const invalid = memberOf(4, 0b1110n);
    expect(await reason(collectAttestation(invalid.member, invalid.keys, DIGEST, askAll()))).to.equal("no-quorum");
  });

  it("refuses a signature under a key other than the registered one", async function () {
    const { member, keys } = memberOf(4, 0b1111n);
    const lying = async (peer: LayerPeer) =>
      peer.index === 1 ? bls.sign(secretKeys[6]!, getBytes(DIGEST)) : askAll([3])(peer);
    expect(await reason(collectAttestation(member, keys, DIGEST, lying))).to.equal("no-quorum");
  });

  it("gives a verdict only when every member asked agreed and the others are a quorum", async function () {
    // 7 members, member 6 judged by member 0 with those that passed
    const { member, keys, peers } = memberOf(7, 0x7fn);
    const passers = peers.filter((p) => p.index !== 6);
    const a = await collectAttestation(member, keys, DIGEST, askAll(), { among: passers, verdictOn: 6 });
    expect(signerIndices(a.signers)).to.deep.equal([0, 1, 2, 3, 4, 5]);
    // a quorum of the others (5 of 6) agree, but member 5 refused: no unanimity
    expect(
      await reason(collectAttestation(member, keys, DIGEST, askAll([5]), { among: passers, verdictOn: 6 })),
    ).to.equal("disputed");
    // unanimous, but only four passed: below the others' quorum of 5
    const few = peers.filter((p) => p.index >= 1 && p.index <= 3);
    expect(await reason(collectAttestation(member, keys, DIGEST, askAll(), { among: few, verdictOn: 6 }))).to.equal(
      "no-quorum",
    );
  });
});
