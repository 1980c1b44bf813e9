/**
 * Merkle tree build speed, one core: `sdk/core/merkle.ts` over 1,000,000
 * precomputed leaf hashes (sorted, as `StandardMerkleTree`) against
 * `@openzeppelin/merkle-tree` measured in the same run on 100,000 leaves and
 * scaled x10 (its 1M build takes minutes).
 */
import { SimpleMerkleTree } from "@openzeppelin/merkle-tree";
import { keccak_256 } from "@noble/hashes/sha3.js";

import { buildTree } from "../sdk/index.ts";
import { median, type Metrics } from "./metrics.ts";

/** `n` distinct pseudo-random 32-byte leaf hashes in one flat buffer. */
function leafHashes(n: number): Uint8Array {
  const flat = new Uint8Array(n * 32);
  const seed = new Uint8Array(4);
  for (let i = 0; i < n; i++) {
    new DataView(seed.buffer).setUint32(0, i);
    flat.set(keccak_256(seed), i * 32);
  }
  return flat;
}

/** Median seconds of `op` over `runs`. */
async function medianSeconds(op: () => Promise<unknown>, runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await op();
    times.push((performance.now() - t) / 1000);
  }
  return Math.round(median(times) * 1000) / 1000;
}

export async function merkleMetrics(): Promise<Metrics> {
  const million = leafHashes(1_000_000);
  await buildTree(million.subarray(0, 32 * 1000)); // warm-up (WASM instantiation)
  const build1M = await medianSeconds(() => buildTree(million), 3);

  // SimpleMerkleTree is StandardMerkleTree's build over given leaf hashes (same tree, same sort)
  const small = Array.from({ length: 100_000 }, (_, i) => million.subarray(i * 32, i * 32 + 32));
  const ozStarted = performance.now();
  const oz = SimpleMerkleTree.of(small);
  const oz100k = (performance.now() - ozStarted) / 1000;
  if ((await buildTree(million.subarray(0, 32 * 100_000))).root !== oz.root) {
    throw new Error("bench: merkle root differs from @openzeppelin/merkle-tree");
  }

  return {
    "nbiot.merkle.build1M.s": {
      value: build1M,
      unit: "s",
      baseline: {
        name: "@openzeppelin/merkle-tree (100k leaves x10)",
        value: Math.round(oz100k * 10 * 100) / 100,
      },
      target: { op: "<=", value: 3 },
    },
  };
}
