/**
 * Pairing-crypto speed, one core, each next to plain `@noble/curves` measured
 * in the same run: the fast path (blst for min-pk BLS, mcl-wasm for raw
 * pairings) against the same scheme on the noble backend.
 */
import { bls12_381 } from "@noble/curves/bls12-381.js";

import {
  mclBackend,
  nobleBackend,
  type PairingBackend,
  DST_MIN_PK,
  minPk,
  minSig,
  BonehFranklinKem,
  ChaCheonIbs,
  Pkg,
  Peks,
  ThresholdScheme,
} from "../sdk/exports/crypto.ts";

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
import type { Metrics } from "./metrics.ts";

/** Operations per second of `op`, run for at least `minMs` after a warm-up. */
function opsPerSec(op: () => unknown, minMs = 1500): number {
  for (let i = 0; i < 3; i++) op();
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < minMs) {
    op();
    n++;
    elapsed = performance.now() - start;
  }
  return Math.round((n / elapsed) * 1000 * 10) / 10;
}

/** Median milliseconds of `op` over `runs`. */
function medianMs(op: () => unknown, runs: number): number {
  op();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    op();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return Math.round(times[Math.floor(runs / 2)]! * 100) / 100;
}

function must(ok: boolean, what: string): void {
  if (!ok) throw new Error(`bench: ${what} did not verify`);
}

export async function cryptoMetrics(): Promise<Metrics> {
  const mcl = await mclBackend();
  const msg = text("bench message");

  // BLS verify: min-pk on blst vs plain noble (its own BLS API, min-pk)
  const fast = minPk(nobleBackend);
  const sk = fast.keygen();
  const pk = fast.publicKey(sk);
  const sig = fast.sign(sk, msg);
  must(fast.verify(pk, msg, sig), "blst verify");
  const nb = bls12_381.longSignatures;
  const nPk = nb.getPublicKey(sk);
  const nSig = nb.sign(nb.hash(msg, DST_MIN_PK), sk);
  must(nb.verify(nSig, nb.hash(msg, DST_MIN_PK), nPk), "noble verify");
  const blsVerify = opsPerSec(() => fast.verify(pk, msg, sig));
  const nobleVerify = opsPerSec(() => nb.verify(nSig, nb.hash(msg, DST_MIN_PK), nPk), 3000);

  // batch verification of 100 independent signatures
  const items = Array.from({ length: 100 }, (_, i) => {
    const k = fast.keygen();
    const m = text(`reading ${i}`);
    return { message: m, publicKey: fast.publicKey(k), signature: fast.sign(k, m) };
  });
  must(fast.batchVerify(items), "blst batch");
  const batchPerSec = opsPerSec(() => fast.batchVerify(items), 2000) * 100;
  // plain noble's nearest: aggregate the 100 signatures, then one multi-pairing (verifyBatch)
  const nItems = items.map((it) => ({ message: nb.hash(it.message, DST_MIN_PK), publicKey: it.publicKey }));
  const nobleBatch = () =>
    nb.verifyBatch(
      nb.aggregateSignatures(items.map((it) => nb.Signature.fromBytes(it.signature))),
      nItems.map((it) => ({ message: it.message, publicKey: it.publicKey })),
    );
  must(nobleBatch(), "noble batch");
  const nobleBatchPerSec = opsPerSec(nobleBatch, 3000) * 100;

  // identity-based schemes and PEKS: mcl backend vs noble backend
  const perBackend = (backend: PairingBackend) => {
    const pkg = new Pkg(backend, 123456789n);
    const id = "strata://city/d7/edge-3#42";
    const d = pkg.extract(id);
    const ibs = new ChaCheonIbs(backend);
    const s = ibs.sign(id, d, msg);
    must(ibs.verify(pkg.masterPublic, id, msg, s), `${backend.name} ibs`);
    const kem = new BonehFranklinKem(backend);
    const ct = kem.encrypt(pkg.masterPublic, id, msg);
    const peks = new Peks(backend);
    const owner = peks.keygen(987654321n);
    const trapdoor = peks.trapdoor(owner.secret, "sensitive");
    const c = peks.encrypt(owner.publicKey, "sensitive");
    must(trapdoor.test(c), `${backend.name} peks`);
    const th = new ThresholdScheme(backend);
    const { shares, commitments } = th.deal(7, 10);
    const root = text("batch root");
    const partials = shares.map((sh) => th.partialSign(sh, root));
    must(
      minSig(backend).verify(
        backend.g2.toBytes(th.groupKey(commitments)),
        root,
        backend.g1.toBytes(th.combine(commitments, root, partials.slice(0, 7)).signature),
      ),
      `${backend.name} threshold`,
    );
    const slow = backend.name === "noble";
    return {
      ibsVerify: opsPerSec(() => ibs.verify(pkg.masterPublic, id, msg, s), slow ? 3000 : 1500),
      ibeDecrypt: opsPerSec(() => kem.decrypt(id, d, ct), slow ? 3000 : 1500),
      peksTest: opsPerSec(() => trapdoor.test(c), slow ? 3000 : 1500),
      combineMs: medianMs(() => th.combine(commitments, root, partials.slice(0, 7)), slow ? 3 : 9),
    };
  };
  const m = perBackend(mcl);
  const n = perBackend(nobleBackend);
  const noble = (value: number) => ({ name: "plain @noble/curves", value });

  return {
    "crypto.bls.verify.opsPerSec": {
      value: blsVerify,
      unit: "ops/s",
      baseline: noble(nobleVerify),
      target: { op: ">=", value: Math.round(20 * nobleVerify) },
    },
    "crypto.bls.batchVerify100.sigsPerSec": {
      value: Math.round(batchPerSec),
      unit: "ops/s",
      baseline: { name: "plain @noble/curves aggregate + verifyBatch", value: Math.round(nobleBatchPerSec) },
      target: { op: ">=", value: 1000 },
    },
    "crypto.ibs.verify.opsPerSec": { value: m.ibsVerify, unit: "ops/s", baseline: noble(n.ibsVerify) },
    "crypto.ibe.decrypt.opsPerSec": { value: m.ibeDecrypt, unit: "ops/s", baseline: noble(n.ibeDecrypt) },
    "crypto.peks.test.opsPerSec": {
      value: m.peksTest,
      unit: "ops/s",
      baseline: noble(n.peksTest),
      target: { op: ">=", value: 300 },
    },
    "crypto.threshold.combine.ms": {
      value: m.combineMs / 1000,
      unit: "s",
      baseline: { name: "plain @noble/curves", value: n.combineMs / 1000 },
    },
  };
}

/** Gas of verifying on chain what the SDK makes (receipts of the harness's `*Tx` calls). */
export async function chainCryptoMetrics(): Promise<Metrics> {
  const { network } = await import("hardhat");
  const { ethers } = await network.create();
  const { g1ToEip2537, g2ToEip2537 } = await import("../sdk/exports/crypto.ts");
  const { ChaCheonIbs } = await import("../sdk/exports/crypto.ts");
  const { identityBytes } = await import("../sdk/exports/crypto.ts");
  const { DST_MIN_SIG } = await import("../sdk/exports/crypto.ts");
  const backend = await mclBackend();
  const bls = minSig(backend);
  const harness = await ethers.deployContract("CryptoHarness");
  const hex = (b: Uint8Array): string => `0x${Buffer.from(b).toString("hex")}`;
  const g1 = (b: Uint8Array): string => hex(g1ToEip2537(backend, backend.g1.fromBytes(b)));
  const g2 = (b: Uint8Array): string => hex(g2ToEip2537(backend, backend.g2.fromBytes(b)));
  const dst = hex(text(DST_MIN_SIG));
  const gas = async (tx: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>): Promise<number> =>
    Number((await (await tx).wait())!.gasUsed);

  // one signature over a 32-byte message (a batch root), hash-to-curve on chain
  const sk = bls.keygen(new Uint8Array(32).fill(7));
  const msg = new Uint8Array(32).fill(0xab);
  const verifyGas = await gas(
    harness.getFunction("blsVerifyTx")(g2(bls.publicKey(sk)), hex(msg), g1(bls.sign(sk, msg)), dst),
  );

  // 100 signers, one message: keys in calldata and summed on chain, and against a stored aggregate
  const sks = Array.from({ length: 100 }, (_, i) => bls.keygen(new Uint8Array(32).fill(i + 1)));
  const agg = g1(bls.aggregateSignatures(sks.map((s) => bls.sign(s, msg))));
  const keys = sks.map((s) => g2(bls.publicKey(s)));
  const aggregateGas = await gas(harness.getFunction("blsFastAggregateVerifyTx")(keys, hex(msg), agg, dst));
  const aggregatedKey = g2(bls.aggregatePublicKeys(sks.map((s) => bls.publicKey(s))));
  const preaggregatedGas = await gas(
    harness.getFunction("blsFastAggregateVerifyAggregatedTx")(aggregatedKey, hex(msg), agg, dst),
  );

  // Cha–Cheon: a base station's identity, a 32-byte challenge
  const pkg = new Pkg(backend, 424242n);
  const id = "strata://city/d7/bs-1#7";
  const ibs = new ChaCheonIbs(backend);
  const s = ibs.sign(id, pkg.extract(id), msg);
  const ibsGas = await gas(
    harness.getFunction("ibsVerifyTx")(
      hex(g2ToEip2537(backend, pkg.masterPublic)),
      hex(identityBytes(id)),
      hex(msg),
      hex(g1ToEip2537(backend, s.u)),
      hex(g1ToEip2537(backend, s.v)),
    ),
  );

  return {
    "chain.bls.verify.gas": { value: verifyGas, unit: "gas", target: { op: "<=", value: 150_000 } },
    "chain.bls.aggregateVerify.gas": { value: aggregateGas, unit: "gas" },
    "chain.bls.aggregateVerifyStoredKey.gas": { value: preaggregatedGas, unit: "gas" },
    "chain.ibs.verify.gas": { value: ibsGas, unit: "gas" },
  };
}
