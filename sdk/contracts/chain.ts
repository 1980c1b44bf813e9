/**
 * What every contract client needs from the chain before and around its calls:
 * a deadline on each call (a silent node fails the call with a retryable
 * `TimeoutError` instead of blocking its caller), and a check, on first use,
 * that the node serves the deployment's chain and that the address holds code
 * (`WrongChainError`, `NoCodeError`), so nothing is sent or paid for on the
 * wrong chain.
 */
import { Contract, type ContractRunner, type InterfaceAbi, isError, type Provider } from "ethers";

import type { ContractArtifact } from "../artifacts/index.ts";

import { withTimeout } from "../core/async.ts";
import { ConfigError, NoCodeError, TimeoutError, WrongChainError } from "../errors.ts";

/** Deadline of one read or one send (`eth_call`, `eth_getCode`, `eth_sendRawTransaction` …) when not given. */
export const DEFAULT_CALL_TIMEOUT_MS = 30_000;
/** Deadline of a send and the wait for its receipt when not given. */
export const DEFAULT_RECEIPT_TIMEOUT_MS = 120_000;

/** How a contract client talks to its chain. */
export interface ChainOptions {
  /** The chain id of the deployment; a node serving another chain is refused (`WrongChainError`). */
  readonly chainId?: bigint | number;
  /** Deadline of each call, in ms (default `DEFAULT_CALL_TIMEOUT_MS`). */
  readonly timeoutMs?: number;
  /** Deadline of a transaction's receipt, in ms (default `DEFAULT_RECEIPT_TIMEOUT_MS`). */
  readonly receiptTimeoutMs?: number;
}

/** `work`, or a `TimeoutError` naming `what` when it does not settle within `ms`. */
export function withDeadline<T>(what: string, ms: number, work: Promise<T>): Promise<T> {
  return withTimeout(work, ms, () => new TimeoutError(`${what}: no answer within ${ms} ms`, { timeoutMs: ms }));
}

/**
 * Checks once, on first use, that the node behind `provider` serves chain
 * `chainId` (when pinned) and holds code at `address`; a failed check is
 * thrown again on the next use only if it failed for a fault of the node
 * (a timeout or a transport error is retried, a wrong chain or no code is not).
 */
export class DeploymentCheck {
  readonly address: string;
  readonly chainId: bigint | undefined;
  readonly timeoutMs: number;
  #checked: Promise<void> | undefined;

  constructor(address: string, options: ChainOptions = {}) {
    this.address = address;
    this.chainId = options.chainId === undefined ? undefined : BigInt(options.chainId);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  }

  /** Resolves once the deployment was found where it should be. */
  ensure(provider: Provider, contract: string): Promise<void> {
    this.#checked ??= this.#check(provider, contract).catch((e: unknown) => {
      if (!(e instanceof WrongChainError || e instanceof NoCodeError)) this.#checked = undefined;
      throw e;
    });
    return this.#checked;
  }

  async #check(provider: Provider, contract: string): Promise<void> {
    const { chainId } = await withDeadline(`${contract}: eth_chainId`, this.timeoutMs, provider.getNetwork());
    if (this.chainId !== undefined && chainId !== this.chainId) {
      throw new WrongChainError(`${contract}: the node serves chain ${chainId}, not the deployment's ${this.chainId}`, {
        expected: this.chainId,
        actual: chainId,
        address: this.address,
      });
    }
    const code = await withDeadline(`${contract}: eth_getCode`, this.timeoutMs, provider.getCode(this.address));
    if (code === "0x") {
      throw new NoCodeError(`${contract}: no contract at ${this.address} on chain ${chainId}`, {
        address: this.address,
        chainId,
      });
    }
  }
}

/**
 * Reads an anchorer's head at the block where its anchors are final (`finalBlockTag`), for
 * everything that anchors (a base station, a fog cluster): a block before the contract existed
 * holds nothing (head 0), and a node that answers a read at the `finalized` tag with an error
 * while the same read at the latest block goes through does not serve that tag (a pre-merge or
 * proof-of-authority chain, some L2s). It is told once: that read and every later one fail at once
 * with a `ConfigError` naming `finalityDepth`, the option to set on `owner`. A read that got no
 * answer (a dropped connection, a timeout) says nothing of the tag and is thrown as it is.
 */
export class FinalHeadReader {
  readonly owner: string;
  #refusal: ConfigError | undefined;

  constructor(owner: string) {
    this.owner = owner;
  }

  /** `read` at `at` (a block number or `"finalized"`); `latest` is where to try the read again. */
  async headAt(
    read: (tag: number | "latest" | "finalized") => Promise<bigint>,
    at: number | "finalized",
    latest: number | "latest",
  ): Promise<bigint> {
    if (this.#refusal !== undefined) throw this.#refusal;
    try {
      return await read(at);
    } catch (e) {
      // the contract was deployed after that block: nothing is final yet
      if (emptyResult(e)) return 0n;
      if (at !== "finalized" || !nodeAnswered(e)) throw e;
      // the node answered with an error, and the same read at the latest block goes through: it
      // refuses the `finalized` tag itself
      await read(latest);
      this.#refusal = new ConfigError(
        `the node does not serve the \`finalized\` block: set \`finalityDepth\` (confirmations) on the ${this.owner}`,
        { option: "finalityDepth", owner: this.owner },
        { cause: e },
      );
      throw this.#refusal;
    }
  }
}

/** Whether a read failed because there was nothing at that block (ethers: `BAD_DATA`, value "0x"), through any `cause`. */
export function emptyResult(e: unknown): boolean {
  for (let at = e; at instanceof Error; at = at.cause) {
    if (isError(at, "BAD_DATA") && at.value === "0x") return true;
  }
  return false;
}

/**
 * Whether a call failed with an answer from the node (a JSON-RPC error, or a call exception), not
 * for want of one (a refused or dropped connection, a timeout), through any `cause`.
 */
export function nodeAnswered(e: unknown): boolean {
  for (let at = e; at instanceof Error; at = at.cause) {
    if (isError(at, "CALL_EXCEPTION")) return true;
    const rpc = at as { error?: { code?: unknown }; info?: { error?: { code?: unknown } } };
    if (typeof rpc.error?.code === "number" || typeof rpc.info?.error?.code === "number") return true;
  }
  return false;
}

/**
 * A typed ethers contract over a shipped artifact's ABI. `T` is the contract's generated
 * type (TypeChain's, committed under `types/`); only the type is imported, so no
 * generated code is loaded at run time.
 */
export function bindContract<T>(artifact: ContractArtifact, address: string, runner: ContractRunner | null): T {
  return new Contract(address, artifact.abi as InterfaceAbi, runner) as unknown as T;
}
