/**
 * The chain a command talks to: `--rpc URL` (`STRATA_RPC_URL`, default a local node on
 * 127.0.0.1:8545). The URL is asked for its chain id once, within a deadline, so a wrong URL is
 * one clear error instead of a provider retrying for ever.
 */
import { FetchRequest, JsonRpcProvider, Network } from "ethers";

import { TimeoutError, TransportError, withDeadline } from "../sdk/index.ts";

export const DEFAULT_RPC_URL = "http://127.0.0.1:8545";

/** The deadline of each JSON-RPC request after the first. */
export const REQUEST_TIMEOUT_MS = 30_000;

export function rpcUrl(option: string | undefined): string {
  return option ?? process.env.STRATA_RPC_URL ?? DEFAULT_RPC_URL;
}

export interface Chain {
  readonly url: string;
  readonly chainId: bigint;
  readonly provider: JsonRpcProvider;
}

/** Connects to `url`: its chain id, and a provider pinned to it. */
export async function connect(url: string, timeoutMs = 10_000): Promise<Chain> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TransportError(`--rpc ${url}: not a URL`, { url });
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new TransportError(`--rpc ${url}: only http and https JSON-RPC URLs`, { url });
  }
  const request = new FetchRequest(url);
  request.timeout = timeoutMs;
  request.body = { jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] };
  request.setHeader("content-type", "application/json");
  let answer: { result?: unknown; error?: { message?: string } };
  try {
    const response = await withDeadline(`--rpc ${url}`, timeoutMs + 1_000, request.send());
    response.assertOk();
    answer = response.bodyJson as typeof answer;
  } catch (error) {
    if (error instanceof TimeoutError) throw error;
    const reason =
      error instanceof Error ? ((error as { shortMessage?: string }).shortMessage ?? error.message) : String(error);
    throw new TransportError(
      `--rpc ${url}: no JSON-RPC node answers (${reason.split("\n")[0]})`,
      { url },
      { cause: error },
    );
  }
  if (typeof answer.result !== "string") {
    throw new TransportError(`--rpc ${url}: eth_chainId failed (${answer.error?.message ?? "no result"})`, { url });
  }
  const chainId = BigInt(answer.result);
  // every later request has a deadline too: a node that stops answering fails the command
  const template = new FetchRequest(url);
  template.timeout = REQUEST_TIMEOUT_MS;
  const provider = new JsonRpcProvider(template, Network.from(chainId), { staticNetwork: true, cacheTimeout: -1 });
  return { url, chainId, provider };
}
