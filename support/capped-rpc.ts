/**
 * A JSON-RPC proxy on 127.0.0.1 in front of a real node that behaves like a
 * public provider (Infura, Alchemy): `eth_getLogs` over more than `maxRange`
 * blocks is answered with error -32005, and every request is counted by
 * method (single calls and JSON-RPC batches alike). `failing` makes it answer
 * every call with a server error, as a node that went away. Other modes of
 * public providers: `rateLimited` (the next n `eth_getLogs` calls get Infura's -32005 "project
 * ID request rate exceeded"), `hang` (calls of these methods never get an
 * answer until the mode is cleared or the proxy closes), `prunedBelow` (state
 * reads, `eth_getCode`/`eth_call`/`eth_getBalance`, at an older block answer
 * "missing trie node", as a node that prunes old state), `failLogsAfter`
 * (`eth_getLogs` fails once this many more have passed).
 */
import { createServer, type IncomingMessage, type Server } from "node:http";

import { JsonRpcProvider } from "ethers";

interface RpcCall {
  readonly id: unknown;
  readonly method: string;
  readonly params?: unknown[];
}

export interface CappedRpc {
  readonly url: string;
  /** A provider through the proxy (ethers' default batching). */
  readonly provider: JsonRpcProvider;
  /** Calls forwarded or refused, by method. */
  readonly calls: Map<string, number>;
  /** HTTP requests (one per batch) that carried `method`. */
  readonly posts: Map<string, number>;
  /** HTTP requests received (a JSON-RPC batch is one). */
  requests: number;
  /** `eth_getLogs` calls refused for their range. */
  refused: number;
  /** When true, every call fails (a node that is down). */
  failing: boolean;
  /** The next this many `eth_getLogs` calls are refused as rate-limited (Infura's -32005 "project ID request rate exceeded"). */
  rateLimited: number;
  /** Calls of these methods get no answer (held until the set is emptied or the proxy closes). */
  hang: Set<string>;
  /** State reads at a block below this one answer "missing trie node" (a pruned node). */
  prunedBelow: number | undefined;
  /** `eth_getLogs` calls let through before every further one fails (undefined: no limit). */
  failLogsAfter: number | undefined;
  /** The block windows of the `eth_getLogs` calls answered, in order. */
  readonly logRanges: { fromBlock: number; toBlock: number }[];
  count(method: string): number;
  /** Answers every held call with an error (after `hang` was cleared or changed). */
  releaseHung(): void;
  reset(): void;
  close(): Promise<void>;
}

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = "";
    req.on("data", (c: Buffer) => (data += c.toString()));
    req.on("end", () => resolve(data));
    req.on("error", reject);
  });
}

function blockOf(tag: unknown, latest: number): number {
  if (tag === undefined || tag === "latest" || tag === "pending" || tag === "safe" || tag === "finalized")
    return latest;
  if (tag === "earliest") return 0;
  return Number(tag);
}

/** Starts the proxy in front of `upstream` (a node URL). */
export async function startCappedRpc(upstream: string, maxRange = 10_000): Promise<CappedRpc> {
  const forward = async (calls: RpcCall[]): Promise<unknown[]> => {
    const res = await fetch(upstream, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(calls),
    });
    return (await res.json()) as unknown[];
  };
  const state = {
    calls: new Map<string, number>(),
    posts: new Map<string, number>(),
    requests: 0,
    refused: 0,
    failing: false,
    rateLimited: 0,
    hang: new Set<string>(),
    prunedBelow: undefined as number | undefined,
    failLogsAfter: undefined as number | undefined,
    logRanges: [] as { fromBlock: number; toBlock: number }[],
  };
  const hung: (() => void)[] = [];
  const release = () => hung.splice(0).forEach((r) => r());
  const STATE_READS: Record<string, number> = { eth_getCode: 1, eth_call: 1, eth_getBalance: 1 };
  const answer = async (calls: RpcCall[]): Promise<unknown[]> => {
    const out: unknown[] = new Array(calls.length);
    const passed: number[] = [];
    for (const [i, call] of calls.entries()) {
      state.calls.set(call.method, (state.calls.get(call.method) ?? 0) + 1);
      if (state.failing) {
        out[i] = { jsonrpc: "2.0", id: call.id, error: { code: -32603, message: "upstream unavailable" } };
        continue;
      }
      if (state.rateLimited > 0 && call.method === "eth_getLogs") {
        state.rateLimited--;
        out[i] = { jsonrpc: "2.0", id: call.id, error: { code: -32005, message: "project ID request rate exceeded" } };
        continue;
      }
      if (state.hang.has(call.method)) {
        await new Promise<void>((resolve) => hung.push(resolve));
        out[i] = { jsonrpc: "2.0", id: call.id, error: { code: -32603, message: "released" } };
        continue;
      }
      const at = STATE_READS[call.method];
      if (at !== undefined && state.prunedBelow !== undefined) {
        const [latest] = (await forward([
          { jsonrpc: "2.0", id: 0, method: "eth_blockNumber", params: [] } as RpcCall,
        ])) as { result: string }[];
        if (blockOf(call.params?.[at], Number(latest!.result)) < state.prunedBelow) {
          out[i] = {
            jsonrpc: "2.0",
            id: call.id,
            error: { code: -32000, message: "missing trie node 1a2b3c4d (path ) state 0x1a2b3c4d is not available" },
          };
          continue;
        }
      }
      if (call.method === "eth_getLogs") {
        const filter = (call.params?.[0] ?? {}) as { fromBlock?: string; toBlock?: string; blockHash?: string };
        if (filter.blockHash === undefined) {
          const [latest] = (await forward([
            { jsonrpc: "2.0", id: 0, method: "eth_blockNumber", params: [] } as RpcCall,
          ])) as { result: string }[];
          const head = Number(latest!.result);
          const span = blockOf(filter.toBlock, head) - blockOf(filter.fromBlock ?? "earliest", head) + 1;
          if (span > maxRange) {
            state.refused++;
            out[i] = {
              jsonrpc: "2.0",
              id: call.id,
              error: { code: -32005, message: `query exceeds max block range ${maxRange}` },
            };
            continue;
          }
          if (state.failLogsAfter !== undefined) {
            if (state.failLogsAfter <= 0) {
              out[i] = { jsonrpc: "2.0", id: call.id, error: { code: -32603, message: "upstream unavailable" } };
              continue;
            }
            state.failLogsAfter--;
          }
          state.logRanges.push({
            fromBlock: blockOf(filter.fromBlock ?? "earliest", head),
            toBlock: blockOf(filter.toBlock, head),
          });
        }
      }
      passed.push(i);
    }
    if (passed.length > 0) {
      const results = await forward(passed.map((i) => ({ jsonrpc: "2.0", ...calls[i]! })));
      for (const [k, i] of passed.entries()) out[i] = results[k];
    }
    return out;
  };
  const server: Server = createServer((req, res) => {
    void (async () => {
      const parsed = JSON.parse(await body(req)) as RpcCall | RpcCall[];
      const batch = Array.isArray(parsed) ? parsed : [parsed];
      state.requests++;
      for (const method of new Set(batch.map((c) => c.method))) {
        state.posts.set(method, (state.posts.get(method) ?? 0) + 1);
      }
      const out = await answer(batch);
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(Array.isArray(parsed) ? out : out[0]));
    })().catch((e: unknown) => {
      res.statusCode = 500;
      res.end(String(e));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  const provider = new JsonRpcProvider(url, undefined, { cacheTimeout: -1, polling: true, pollingInterval: 50 });
  return Object.assign(state, {
    url,
    provider,
    count: (method: string) => state.calls.get(method) ?? 0,
    releaseHung: release,
    reset() {
      state.calls.clear();
      state.posts.clear();
      state.requests = 0;
      state.refused = 0;
      state.logRanges.length = 0;
    },
    async close() {
      state.hang.clear();
      release();
      provider.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  }) as CappedRpc;
}
