/**
 * What every typed contract client shares, written once: binding the contract
 * to a runner (`connect`), the contract's EIP-712 domain (the chain id read
 * once), reads within a deadline, and the transaction plumbing — send a call,
 * wait for its receipt until the deadline, decode the contract's events, and
 * return one `TxResult`. Reverts come back as `ContractRevertError` (via
 * `guarded`, `revert.ts`); a silent node as a `TimeoutError`.
 *
 * The receipt parsers are pure (`receiptEvents`, `txResult`): a test or an app
 * decodes a receipt it got elsewhere with no network call.
 */
import {
  type BaseContract,
  type ContractRunner,
  Interface,
  type InterfaceAbi,
  type Log,
  type Provider,
  type TransactionReceipt,
  type TypedDataDomain,
} from "ethers";

import type { ContractArtifact } from "../artifacts/index.ts";
import { checkInteger, type Hex } from "../core/bytes.ts";
import { type HistoryEntry, sortHistory } from "../core/registry.ts";
import { InvalidInputError, TransportError } from "../errors.ts";
import {
  type ChainOptions,
  DEFAULT_CALL_TIMEOUT_MS,
  DEFAULT_RECEIPT_TIMEOUT_MS,
  DeploymentCheck,
  bindContract,
} from "./chain.ts";
import { LogReader, type LogReaderOptions } from "./logs.ts";
import { guarded, typed } from "./revert.ts";

// ------------------------------------------------------------------ results

/** A decoded event of a Strata contract, its arguments by name. */
export interface ContractEvent {
  readonly name: string;
  readonly args: Readonly<Record<string, unknown>>;
}

/** A decoded event of a Strata contract (the registry's name for `ContractEvent`). */
export type RegistryEvent = ContractEvent;

/** The outcome of a transaction: its hash, gas, block and the events of the contract it called. */
export interface TxResult {
  readonly hash: Hex;
  readonly gasUsed: bigint;
  readonly blockNumber: number;
  readonly events: readonly ContractEvent[];
}

/** A transaction as the clients send it: its hash and the wait for its receipt. */
export interface SentTx {
  readonly hash: string;
  wait(confirms?: number, timeout?: number): Promise<TransactionReceipt | null>;
}

// ------------------------------------------------------------ pure parsers

/** A contract's ABI as an ethers `Interface` (for the pure parsers). */
export function artifactInterface(artifact: ContractArtifact): Interface {
  return new Interface(artifact.abi as InterfaceAbi);
}

/** Decodes `log` with `iface`, arguments by name (undefined when it is not one of its events). */
export function parseEvent(iface: Interface, log: Pick<Log, "topics" | "data">): ContractEvent | undefined {
  const parsed = iface.parseLog({ topics: [...log.topics], data: log.data });
  if (!parsed) return undefined;
  const args: Record<string, unknown> = {};
  parsed.fragment.inputs.forEach((input, i) => {
    args[input.name] = parsed.args[i];
  });
  return { name: parsed.name, args };
}

/** A receipt's logs, or the logs themselves. */
export type LogsOf = Pick<TransactionReceipt, "logs"> | readonly Log[];

/** The logs of a receipt, or the logs given. */
export function logsOf(source: LogsOf): readonly Log[] {
  return Array.isArray(source) ? (source as readonly Log[]) : (source as Pick<TransactionReceipt, "logs">).logs;
}

/**
 * The events the contract at `address` emitted in a receipt (or in logs), decoded with `iface`,
 * in log order; logs of any other address are left out, so another contract cannot pass its
 * events off as this one's. No network call.
 */
export function receiptEvents(iface: Interface, source: LogsOf, address: string): ContractEvent[] {
  if (typeof address !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(address)) {
    throw new InvalidInputError("address: the contract whose events to read, a 20-byte address", { address });
  }
  const at = address.toLowerCase();
  return logsOf(source)
    .filter((log) => log.address.toLowerCase() === at)
    .map((log) => parseEvent(iface, log))
    .filter((e): e is ContractEvent => e !== undefined);
}

/** The `TxResult` of `receipt`: its hash, gas, block and the events of the contract at `address`. No network call. */
export function txResult(iface: Interface, receipt: TransactionReceipt, address: string): TxResult {
  return {
    hash: receipt.hash.toLowerCase() as Hex,
    gasUsed: receipt.gasUsed,
    blockNumber: receipt.blockNumber,
    events: receiptEvents(iface, receipt, address),
  };
}

/** The first `event` in `events` (a `TransportError` naming the transaction when it is missing). */
export function requiredEvent(events: readonly ContractEvent[], event: string, hash?: string): ContractEvent {
  const found = events.find((e) => e.name === event);
  if (!found) throw new TransportError(`${event} not emitted`, hash === undefined ? {} : { hash });
  return found;
}

/** Argument `arg` of the first `event` in `result` (a `TransportError` when the event is missing). */
export function eventArg(result: TxResult, event: string, arg: string): unknown {
  return requiredEvent(result.events, event, result.hash).args[arg];
}

// -------------------------------------------------------------- the sending

/**
 * How long past a send's deadline the guard around it waits: the wait for the receipt ends at the
 * deadline itself (ethers stops polling then), the guard only catches a send or a read that hangs.
 */
export const RECEIPT_GUARD_GRACE_MS = 1_000;

/**
 * `tx`'s receipt, waiting for it until `deadline` (on `performance.now()`'s clock): then ethers
 * stops polling and removes its listeners, and the wait fails with a `TimeoutError` (via
 * `guarded`), so nothing keeps running after a caller gave up.
 */
export async function receiptBy(tx: SentTx, deadline: number): Promise<TransactionReceipt> {
  const receipt = await tx.wait(1, Math.max(1, Math.ceil(deadline - performance.now())));
  if (!receipt) throw new TransportError("transaction dropped", { hash: tx.hash });
  return receipt;
}

/** How `sendTx` sends. */
export interface SendOptions {
  /** Deadline of the send and its receipt (default `DEFAULT_RECEIPT_TIMEOUT_MS`). */
  readonly timeoutMs?: number | undefined;
  /** Runs first, within the deadline (e.g. `DeploymentCheck.ensure`): a throw sends nothing. */
  readonly before?: () => Promise<void>;
}

/**
 * Sends `call` to contract `name` at `address`, waits (at most `timeoutMs` for
 * the send and its receipt: a `TimeoutError` then, with the transaction maybe
 * still pending), and returns the receipt's events from that contract.
 */
export function sendTx(
  name: string,
  iface: Interface,
  address: string,
  call: () => Promise<SentTx>,
  options: SendOptions = {},
): Promise<TxResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_RECEIPT_TIMEOUT_MS;
  const deadline = performance.now() + timeoutMs;
  return guarded(
    name,
    iface,
    async () => {
      await options.before?.();
      const tx = await call();
      return txResult(iface, await receiptBy(tx, deadline), address);
    },
    timeoutMs + RECEIPT_GUARD_GRACE_MS,
  );
}

// ------------------------------------------------------------- the client

/** What a client is of: the contract's name, its shipped artifact and its EIP-712 domain. */
export interface ContractSpec {
  readonly name: string;
  readonly artifact: ContractArtifact;
  readonly domain: (chainId: bigint, address: string) => TypedDataDomain;
}

/** Every client's options: the chain's and the log reader's. */
export type ClientOptions = ChainOptions & LogReaderOptions;

/**
 * The base of the four typed clients. A client acts through one runner (a
 * signer sends, a provider reads); `connect` makes the same client act through
 * another, sharing its log reader and its domain. On first send it checks the
 * deployment (`WrongChainError`, `NoCodeError`, before anything is sent).
 * Reads have the deadline `options.timeoutMs`, a send and its receipt
 * `options.receiptTimeoutMs` (`TimeoutError`, retryable).
 */
export abstract class ContractClient<C extends BaseContract, O extends ClientOptions = ClientOptions> {
  readonly address: string;
  readonly runner: ContractRunner;
  readonly contract: C;
  readonly options: O;
  /** Reads this contract's logs from its deployment block in adaptive chunks (shared by `connect`ed clients). */
  readonly logs: LogReader;
  /** The contract's name in errors. */
  protected readonly contractName: string;
  /** Deadline of one read (ms). */
  protected readonly callTimeoutMs: number;
  /** Deadline of a send and its receipt (ms). */
  protected readonly receiptTimeoutMs: number;
  readonly #spec: ContractSpec;
  readonly #deployment: DeploymentCheck;
  /** The domain once read, shared by `connect`ed clients. */
  #domain: { read?: Promise<TypedDataDomain> } = {};

  protected constructor(spec: ContractSpec, address: string, runner: ContractRunner, options: O) {
    this.#spec = spec;
    this.contractName = spec.name;
    this.address = address;
    this.runner = runner;
    this.options = options;
    this.callTimeoutMs = options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    this.receiptTimeoutMs = options.receiptTimeoutMs ?? DEFAULT_RECEIPT_TIMEOUT_MS;
    this.contract = bindContract<C>(spec.artifact, address, runner);
    this.#deployment = new DeploymentCheck(address, options);
    this.logs = new LogReader(address, () => this.provider, options);
  }

  /** The same client acting through another runner (e.g. a device's, a gateway's or a member's own key). */
  abstract connect(runner: ContractRunner): ContractClient<C, O>;

  /** The runner's provider (a `TransportError` when it has none). */
  get provider(): Provider {
    const provider = this.runner.provider;
    if (!provider) throw new TransportError("the runner has no provider");
    return provider;
  }

  /** The contract's EIP-712 domain (chain id read once within the call deadline; a failed read is read again next time). */
  domain(): Promise<TypedDataDomain> {
    // the deployment check first: nothing is signed for a wrong chain or an address without code
    this.#domain.read ??= this.read(async () => {
      await this.ensureDeployed();
      return this.provider.getNetwork();
    }).then(
      ({ chainId }) => this.#spec.domain(chainId, this.address),
      (e: unknown) => {
        this.#domain.read = undefined;
        throw e;
      },
    );
    return this.#domain.read;
  }

  /** `client` (a new client of the same contract) shares this one's log reader and domain. */
  protected shareWith<T extends ContractClient<C, O>>(client: T): T {
    (client as { logs: LogReader }).logs = this.logs;
    client.#domain = this.#domain;
    return client;
  }

  /** The contract's interface (its functions, events and errors). */
  protected get iface(): Interface {
    return this.contract.interface;
  }

  /** Resolves once the deployment was found on the right chain with code (checked once). */
  protected ensureDeployed(): Promise<void> {
    return this.#deployment.ensure(this.provider, this.contractName);
  }

  /** One read within `timeoutMs` (default the call deadline), failures typed. */
  protected read<T>(call: () => Promise<T>, timeoutMs: number = this.callTimeoutMs): Promise<T> {
    return guarded(this.contractName, this.iface, call, timeoutMs);
  }

  /** Work of many requests that each carry their own deadline (log reads), failures typed. */
  protected readMany<T>(call: () => Promise<T>): Promise<T> {
    return typed(this.contractName, this.iface, call);
  }

  /**
   * This contract's `logs` as a timeline, oldest first: each event by name with its
   * block's time (read in the log reader's own requests, each with its deadline).
   */
  protected async timeline(logs: readonly Log[], signal?: AbortSignal): Promise<HistoryEntry[]> {
    const times = await this.readMany(() =>
      this.logs.blockTimes(
        logs.map((l) => l.blockNumber),
        signal,
      ),
    );
    return sortHistory(
      logs.map((log) => {
        const parsed = parseEvent(this.iface, log)!;
        return {
          event: parsed.name,
          args: parsed.args,
          blockNumber: log.blockNumber,
          logIndex: log.index,
          transactionHash: log.transactionHash as Hex,
          timestamp: times.get(log.blockNumber)!,
        };
      }),
    );
  }

  /** Sends `call` once the deployment is checked, waits for its receipt (the receipt deadline) and returns its `TxResult`. */
  protected send(call: () => Promise<SentTx>): Promise<TxResult> {
    return sendTx(this.contractName, this.iface, this.address, call, {
      timeoutMs: this.receiptTimeoutMs,
      before: () => this.ensureDeployed(),
    });
  }
}

/** A deadline in ms: an integer in [min, 2^31 - 1] (what `setTimeout` takes). */
export function checkTimeout(ms: number, what: string, min = 1): number {
  checkInteger(ms, min, 2 ** 31 - 1, what);
  return ms;
}
