import { expect } from "chai";
import { type HDNodeWallet, Wallet } from "ethers";

import {
  deviceId,
  type Hex,
  InvalidInputError,
  PEER_CHALLENGE_TYPES,
  PeerAuthenticationError,
  type PeerChallenge,
  registryDomain,
} from "../../../sdk/index.ts";
import { checkPeerResponse, newChallenge, Status } from "../../../sdk/exports/registry.ts";

describe("core/peer", function () {
  const domain = registryDomain(31337n, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
  const prover = deviceId({ layer: "strata://city/d7/edge-3", localId: 1n });
  const verifier = deviceId({ layer: "strata://city/d7/edge-3", localId: 2n });
  const key = Wallet.createRandom();
  const nonce = crypto.getRandomValues(new Uint8Array(32));
  const challenge = newChallenge(prover, verifier, nonce, 1_000n);
  const sign = (c: PeerChallenge, w: HDNodeWallet = key): Promise<string> =>
    w.signTypedData(domain, PEER_CHALLENGE_TYPES, { ...c });
  const judge = async (over: Partial<Parameters<typeof checkPeerResponse>[0]> = {}): Promise<string> =>
    checkPeerResponse({
      domain,
      expected: challenge,
      answered: challenge,
      signature: (await sign(challenge)) as Hex,
      prover: { key: key.address, status: Status.Active },
      now: 1_010n,
      ...over,
    });
  const rejects = async (reason: string, over: Partial<Parameters<typeof checkPeerResponse>[0]>): Promise<void> => {
    try {
      await judge(over);
    } catch (e) {
      expect(e).to.be.instanceOf(PeerAuthenticationError);
      expect((e as PeerAuthenticationError).reason).to.equal(reason);
      return;
    }
    expect.fail(`expected rejection ${reason}`);
  };

  it("accepts a fresh answer signed by the registered key of an active prover", async function () {
    expect(await judge()).to.equal(key.address);
  });

  it("rejects an answer signed by another key", async function () {
    await rejects("wrong-signer", { signature: (await sign(challenge, Wallet.createRandom())) as Hex });
  });

  it("rejects a replayed answer to an older challenge", async function () {
    const old = newChallenge(prover, verifier, crypto.getRandomValues(new Uint8Array(32)), 1_000n);
    await rejects("challenge-mismatch", { answered: old, signature: (await sign(old)) as Hex });
  });

  it("rejects an answer meant for another verifier", async function () {
    const other = { ...challenge, verifier: prover };
    await rejects("wrong-verifier", { answered: other, signature: (await sign(other)) as Hex });
  });

  it("rejects stale and future challenges", async function () {
    await rejects("stale-challenge", { now: 1_000n + 121n });
    await rejects("future-challenge", { now: 994n });
  });

  it("rejects an unknown or inactive prover", async function () {
    await rejects("unknown-device", { prover: { key: key.address, status: Status.None } });
    for (const status of [Status.Pending, Status.Suspended, Status.Blocked, Status.Revoked]) {
      await rejects("not-active", { prover: { key: key.address, status } });
    }
  });

  it("rejects a malformed signature", async function () {
    await rejects("bad-signature", { signature: "0x1234" });
  });

  it("refuses to build a challenge with a weak nonce", function () {
    expect(() => newChallenge(prover, verifier, new Uint8Array(32), 1n)).to.throw(InvalidInputError, /all zero/);
    expect(() => newChallenge(prover, verifier, new Uint8Array(16).fill(1), 1n)).to.throw(
      InvalidInputError,
      /32 random bytes/,
    );
    expect(() => newChallenge("0x12" as Hex, verifier, nonce, 1n)).to.throw(InvalidInputError, /prover/);
  });
});
