/**
 * Quorum attestations (seed 003 §III.B), pure: the quorum rule, bitmaps, and
 * an aggregate that verifies against the signers' keys; bad input refused.
 */
import { expect } from "chai";

import { mclBackend } from "../../../../sdk/core/crypto/backend.ts";
import { minSig } from "../../../../sdk/core/crypto/bls.ts";
import {
  aggregateAttestation,
  attest,
  partialAttestation,
  quorumOf,
  signerBitmap,
  signerIndices,
} from "../../../../sdk/core/layers/attestation.ts";
import { InvalidInputError } from "../../../../sdk/errors.ts";

const backend = await mclBackend();
const bls = minSig(backend);

describe("layers/attestation", function () {
  it("quorumOf is n - floor((n - 1) / 3): 2f + 1 of 3f + 1", function () {
    expect([1, 4, 7, 31, 64].map(quorumOf)).to.deep.equal([1, 3, 5, 21, 43]);
    expect(() => quorumOf(0)).to.throw(InvalidInputError, "n must be");
    expect(() => quorumOf(65)).to.throw(InvalidInputError, "n must be");
  });

  it("round-trips bitmaps and refuses repeats and out-of-range indices", function () {
    expect(signerBitmap([0, 2, 63])).to.equal(5n | (1n << 63n));
    expect(signerIndices(signerBitmap([5, 1, 3]))).to.deep.equal([1, 3, 5]);
    expect(() => signerBitmap([1, 1])).to.throw(InvalidInputError, "indices[1] repeats");
    expect(() => signerBitmap([64])).to.throw(InvalidInputError, "indices[0]");
    expect(() => signerIndices(1n << 64n)).to.throw(InvalidInputError, "signers");
  });

  it("aggregates members' signatures into a 128-byte signature equal to the partials' aggregate", function () {
    const keys = [1, 2, 3].map(() => bls.keygen());
    const digest = crypto.getRandomValues(new Uint8Array(32));
    const a = attest(
      backend,
      digest,
      keys.map((secretKey, index) => ({ index, secretKey })),
    );
    expect(a.signers).to.equal(7n);
    expect(a.signature.length).to.equal(128);
    const b = aggregateAttestation(
      backend,
      keys.map((sk, index) => ({ index, signature: partialAttestation(backend, sk, digest) })),
    );
    expect(b).to.deep.equal(a);
    const aggregate = bls.aggregateSignatures(keys.map((sk) => bls.sign(sk, digest)));
    expect(
      bls.fastAggregateVerify(
        keys.map((sk) => bls.publicKey(sk)),
        digest,
        aggregate,
      ),
    ).to.equal(true);
  });

  it("refuses a digest of the wrong length and a malformed partial", function () {
    const sk = bls.keygen();
    expect(() => attest(backend, new Uint8Array(31), [{ index: 0, secretKey: sk }])).to.throw(
      InvalidInputError,
      "digest",
    );
    expect(() => attest(backend, "0x12", [{ index: 0, secretKey: sk }])).to.throw(InvalidInputError, "digest");
    expect(() => aggregateAttestation(backend, [{ index: 0, signature: new Uint8Array(47) }])).to.throw(
      InvalidInputError,
      "partials[0].signature",
    );
  });
});
