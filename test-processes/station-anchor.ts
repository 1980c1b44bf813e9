/**
 * (Processes the tests start live in `test-processes/`, outside `test/`: the test runner loads
 * every file under `test/` as a test file.)
 *
 * A base station that anchors its pending batches, run as a child process by
 * the crash tests (`node --import tsx test-processes/station-anchor.ts '<json>'`): it
 * opens its store file, runs `anchorPending` once against a real node, prints
 * the batches' states as JSON and exits. With `killAt` it SIGKILLs itself at a
 * chosen point of the anchoring: `after-send` (the transaction broadcast, its
 * receipt not yet seen), `after-receipt` (the receipt seen, the store not yet
 * told) or the `n`-th chain call it makes (a seeded random point).
 */
import { JsonRpcProvider, Wallet } from "ethers";

import { mclBackend } from "../sdk/core/crypto/backend.ts";
import { Pkg } from "../sdk/core/crypto/identity.ts";
import { nbiotParams, pkgStationKeys } from "../sdk/core/nbiot/params.ts";
import { DataAnchorClient, type MinedTx, type SignedTx } from "../sdk/contracts/anchor.ts";
import type { Hex } from "../sdk/core/bytes.ts";
import { BaseStation } from "../sdk/nbiot/base-station.ts";

export interface ChildArgs {
  readonly url: string;
  readonly anchorAddress: string;
  readonly chainId: string;
  readonly station: Hex;
  readonly privateKey: string;
  readonly storePath: string;
  readonly receiptTimeoutMs: number;
  readonly maxReplacements: number;
  readonly killAt?: "after-send" | "after-receipt" | number;
}

const args = JSON.parse(process.argv[2]!) as ChildArgs;
let calls = 0;
/** Counts a chain call and dies at the chosen one. */
function point(): void {
  if (++calls === args.killAt) process.kill(process.pid, "SIGKILL");
}

class KillingClient extends DataAnchorClient {
  override async broadcast(tx: SignedTx): Promise<void> {
    point();
    await super.broadcast(tx);
    if (args.killAt === "after-send") process.kill(process.pid, "SIGKILL");
  }
  override async mined(hash: Hex, timeoutMs?: number): Promise<MinedTx | undefined> {
    point();
    const mined = await super.mined(hash, timeoutMs);
    if (mined !== undefined && args.killAt === "after-receipt") process.kill(process.pid, "SIGKILL");
    return mined;
  }
  override async signAnchor(gateway: Hex, root: Hex, leafCount: number | bigint, replacing?: SignedTx) {
    point();
    return super.signAnchor(gateway, root, leafCount, replacing);
  }
  override async minedNonce(): Promise<number> {
    point();
    return super.minedNonce();
  }
  override async anchorOf(gateway: Hex, root: Hex, blockTag?: number | "latest" | "finalized") {
    point();
    return super.anchorOf(gateway, root, blockTag);
  }
}

const provider = new JsonRpcProvider(args.url, undefined, { staticNetwork: true, pollingInterval: 50 });
const backend = await mclBackend();
const pkg = new Pkg(backend);
const bs = BaseStation.open({
  params: nbiotParams(backend, pkg.masterPublic),
  keys: pkgStationKeys(pkg, args.station), // anchoring signs nothing with it
  storePath: args.storePath,
  directory: { lookup: () => Promise.resolve(undefined) },
  stations: () => undefined,
  anchoring: { finalityDepth: 1, receiptTimeoutMs: args.receiptTimeoutMs, maxReplacements: args.maxReplacements },
});
const client = new KillingClient(args.anchorAddress, new Wallet(args.privateKey, provider), {
  chainId: BigInt(args.chainId),
});
const done = await bs.anchorPending(client);
const states: Record<number, string | undefined> = {};
for (let n = 1; n <= bs.store.lastBatchNumber; n++) states[n] = bs.anchorState(n);
bs.close();
provider.destroy();
process.stdout.write(JSON.stringify({ anchored: done.map((b) => b.number), states }));
