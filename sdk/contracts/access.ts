/**
 * A typed client of `AccessTokens` (seed 004 §IV, token-based access control)
 * over any ethers `ContractRunner`: a resource owner mints tokens and schedules,
 * hands over and revokes shifts; a holder returns a token early; a gateway or
 * fog node checks `hasAccess` or verifies a signed access request against the
 * token's current shift in one call (`verifyAccessRequest`, the pure check of
 * `sdk/core/access.ts` on chain facts). Inputs are checked before anything is
 * sent (`InvalidInputError` naming the field); reverts come back as
 * `ContractRevertError` with the custom error's name and arguments.
 */
import { type ContractRunner, type Signer } from "ethers";

import { AccessTokens as AccessTokensArtifact } from "../artifacts/AccessTokens.ts";
import type { AccessTokens } from "../../types/ethers-contracts/access/AccessTokens.ts";
import {
  type AccessGrant,
  type AccessPolicy,
  type AccessRequest,
  checkAccessRequest,
  checkAccessRequestShape,
  checkAccount,
  checkTokenId,
  type NonceCache,
  type ShiftFacts,
} from "../core/access.ts";
import { fromHex, type Hex, toHex, uint256 } from "../core/bytes.ts";
import { ACCESS_REQUEST_TYPES, accessDomain } from "../core/eip712.ts";
import type { HistoryEntry, Status } from "../core/registry.ts";
import { InvalidInputError, TransportError } from "../errors.ts";
import {
  artifactInterface,
  type ClientOptions,
  type ContractEvent,
  ContractClient,
  eventArg,
  type LogsOf,
  receiptEvents,
  type TxResult,
} from "./client.ts";
import { checkWindow } from "./logs.ts";

const NAME = "AccessTokens";
const SPEC = { name: NAME, artifact: AccessTokensArtifact, domain: accessDomain };
const IFACE = artifactInterface(AccessTokensArtifact);
const MAX_UINT40 = (1n << 40n) - 1n;

/** One shift: `holder` may use the token over [start, end) (seconds). */
export interface Shift {
  readonly holder: string;
  readonly start: bigint;
  readonly end: bigint;
}

/** A token's resource, owner, current shift and revocation (`AccessTokens.currentShift`). */
export interface TokenState extends ShiftFacts {
  readonly token: bigint;
  /** The owner of record (the zero address once revoked or when never minted). */
  readonly owner: string;
}

/** Which blocks `history` reads; `maxBlockRange` splits the query for nodes that cap `eth_getLogs`. */
export interface AccessHistoryRange {
  readonly fromBlock?: number;
  readonly toBlock?: number;
  readonly maxBlockRange?: number;
}

/** How `verifyAccessRequest` judges: a required scope, a replay cache, the clock policy. */
export interface VerifyAccessOptions {
  readonly scope?: Hex;
  readonly seen?: NonceCache;
  readonly policy?: AccessPolicy;
}

/** The events of a token's life, in the order `history` looks for them. */
export const ACCESS_EVENTS = [
  "AccessTokenMinted",
  "ShiftScheduled",
  "ShiftHandedOver",
  "ShiftRevoked",
  "AccessReturned",
  "AccessTokenRevoked",
  "AccessTokenReclaimed",
] as const;

/**
 * The `AccessTokens` events in a receipt (or logs), arguments by name; with
 * `address`, only that contract's. Pure: no network call.
 */
export function parseAccessReceipt(source: LogsOf, address: string): ContractEvent[] {
  return receiptEvents(IFACE, source, address);
}

export class AccessTokensClient extends ContractClient<AccessTokens> {
  /**
   * With `options.chainId`, the first transaction checks the node serves that
   * chain and the address holds code (`WrongChainError`, `NoCodeError`) before
   * anything is sent; `options.receiptTimeoutMs` is the deadline of a send and
   * its receipt. Reads have the deadline `options.timeoutMs` (default `DEFAULT_CALL_TIMEOUT_MS`). `options.deploymentBlock`
   * is where its logs start (found once on chain when not given), read in adaptive chunks.
   */
  constructor(address: string, runner: ContractRunner, options: ClientOptions = {}) {
    super(SPEC, checkAccount(address, "address"), runner, options);
  }

  /** The same client acting through another runner (e.g. a crew member's key). */
  connect(runner: ContractRunner): AccessTokensClient {
    return this.shareWith(new AccessTokensClient(this.address, runner, this.options));
  }

  // ------------------------------------------------------------ owner writes

  /** Mints one access token for `resource`; the runner must be the registry's owner of it. */
  async mint(resource: Hex): Promise<TxResult & { tokenId: bigint }> {
    const word = checkResource(resource);
    const result = await this.send(() => this.contract.mint(word));
    return { ...result, tokenId: eventArg(result, "AccessTokenMinted", "tokenId") as bigint };
  }

  /** Schedules `holder`'s shift over [start, end); a start in the past means now (see `shift`). */
  async scheduleShift(
    tokenId: bigint,
    holder: string,
    start: bigint,
    end: bigint,
  ): Promise<TxResult & { shift: Shift }> {
    const token = checkTokenId(tokenId, "tokenId");
    const s = checkShift({ holder, start, end }, "shift");
    const result = await this.send(() => this.contract.scheduleShift(token, s.holder, s.start, s.end));
    return { ...result, shift: this.#shifts(result)[0]! };
  }

  /** Schedules 1 to 16 shifts in one transaction; `shifts` is what was stored, in the given order. */
  async scheduleShifts(tokenId: bigint, shifts: readonly Shift[]): Promise<TxResult & { shifts: Shift[] }> {
    const token = checkTokenId(tokenId, "tokenId");
    if (!Array.isArray(shifts)) throw new InvalidInputError("shifts must be an array", { value: typeof shifts });
    const batch = shifts.map((s, i) => checkShift(s, `shifts[${i}]`));
    const result = await this.send(() => this.contract.scheduleShifts(token, batch));
    return { ...result, shifts: this.#shifts(result) };
  }

  /**
   * Hands the token over to `to` now: the current shift (if any) ends and
   * `to`'s runs until `end`. `previousHolder` is undefined when no shift was current.
   */
  async handOver(
    tokenId: bigint,
    to: string,
    end: bigint,
  ): Promise<TxResult & { previousHolder: string | undefined; shift: Shift }> {
    const token = checkTokenId(tokenId, "tokenId");
    const holder = checkAccount(to, "to");
    const until = checkTime(end, "end");
    const result = await this.send(() => this.contract.handOver(token, holder, until));
    const event = result.events.find((e) => e.name === "ShiftHandedOver");
    if (!event) throw new TransportError("ShiftHandedOver not emitted", { hash: result.hash });
    const previous = String(event.args.previousHolder);
    return {
      ...result,
      previousHolder: BigInt(previous) === 0n ? undefined : previous,
      shift: { holder: String(event.args.holder), start: event.args.start as bigint, end: event.args.end as bigint },
    };
  }

  /** Revokes the current or upcoming shift that starts at `start`. */
  async revokeShift(tokenId: bigint, start: bigint): Promise<TxResult> {
    const token = checkTokenId(tokenId, "tokenId");
    const at = checkTime(start, "start");
    return this.send(() => this.contract.revokeShift(token, at));
  }

  /** Revokes the token for good (burnt; every shift ends now). */
  async revoke(tokenId: bigint): Promise<TxResult> {
    const token = checkTokenId(tokenId, "tokenId");
    return this.send(() => this.contract.revoke(token));
  }

  /** After a registry transfer of `resource`, its new owner takes its tokens over (schedules cleared). */
  async reclaim(resource: Hex): Promise<TxResult & { reclaimed: bigint[] }> {
    const word = checkResource(resource);
    const result = await this.send(() => this.contract.reclaim(word));
    const reclaimed = result.events
      .filter((e) => e.name === "AccessTokenReclaimed")
      .map((e) => e.args.tokenId as bigint);
    return { ...result, reclaimed };
  }

  // ----------------------------------------------------------- holder write

  /** The current holder gives the token back to the owner now (the only transfer a holder makes). */
  async returnToOwner(tokenId: bigint): Promise<TxResult> {
    const token = checkTokenId(tokenId, "tokenId");
    return this.send(() => this.contract.returnToOwner(token));
  }

  // ------------------------------------------------------------------ reads

  /** True when `account` holds the current shift of a live token of `resource`. */
  async hasAccess(resource: Hex, account: string): Promise<boolean> {
    const word = checkResource(resource);
    const who = checkAccount(account, "account");
    return this.read(() => this.contract.hasAccess(word, who));
  }

  /** The token and shift by which `account` has access to `resource` now, if any. */
  async shiftOf(resource: Hex, account: string): Promise<{ tokenId: bigint; shift: Shift } | undefined> {
    const word = checkResource(resource);
    const who = checkAccount(account, "account");
    const r = await this.read(() => this.contract.shiftOf(word, who));
    if (r.tokenId === 0n) return undefined;
    return { tokenId: r.tokenId, shift: { holder: r.current.holder, start: r.current.start, end: r.current.end } };
  }

  /** The token's resource, owner, current shift, revocation and the resource's registry status, in one call. */
  async currentShift(tokenId: bigint): Promise<TokenState> {
    const token = checkTokenId(tokenId, "tokenId");
    const s = await this.read(() => this.contract.currentShift(token));
    return {
      token,
      resource: s.resource.toLowerCase() as Hex,
      owner: s.owner,
      holder: s.holder,
      start: s.start,
      end: s.end,
      revoked: s.revoked,
      resourceStatus: Number(s.resourceStatus) as Status,
    };
  }

  /** The current and upcoming shifts of `tokenId`, in time order. */
  async shifts(tokenId: bigint): Promise<Shift[]> {
    const token = checkTokenId(tokenId, "tokenId");
    const list = await this.read(() => this.contract.shifts(token));
    return list.map((s) => ({ holder: s.holder, start: s.start, end: s.end }));
  }

  /** The holder now: the current shift's, or the owner between shifts (zero address: not live). */
  async holderOf(tokenId: bigint): Promise<string> {
    const token = checkTokenId(tokenId, "tokenId");
    return this.read(() => this.contract.holderOf(token));
  }

  /** The owner of record (ERC-721 `ownerOf`; reverts for a token that is not live). */
  async ownerOf(tokenId: bigint): Promise<string> {
    const token = checkTokenId(tokenId, "tokenId");
    return this.read(() => this.contract.ownerOf(token));
  }

  /** The live tokens of `resource`. */
  async tokensOf(resource: Hex): Promise<bigint[]> {
    const word = checkResource(resource);
    return [...(await this.read(() => this.contract.tokensOf(word)))];
  }

  /** The resource of `tokenId` (zero: never minted). */
  async resourceOf(tokenId: bigint): Promise<Hex> {
    const token = checkTokenId(tokenId, "tokenId");
    return ((await this.read(() => this.contract.resourceOf(token))) as string).toLowerCase() as Hex;
  }

  /** The registry whose owners mint tokens for their resources. */
  async registry(): Promise<string> {
    return this.read(() => this.contract.registry());
  }

  /**
   * The access log of `tokenId`, oldest first, with block times: minted,
   * every shift scheduled, handed over, revoked or returned, the token's
   * revocation or reclaim.
   */
  async history(tokenId: bigint, range: AccessHistoryRange = {}): Promise<HistoryEntry[]> {
    const token = checkTokenId(tokenId, "tokenId");
    const iface = this.contract.interface;
    const window = { fromBlock: range.fromBlock, toBlock: range.toBlock, maxSpan: range.maxBlockRange };
    checkWindow(window, "maxBlockRange");
    const topics = [ACCESS_EVENTS.map((name) => iface.getEvent(name).topicHash), toHex(uint256(token, "tokenId"))];
    // each request of the read has its own deadline: a long read is never cut off as a whole
    const logs = await this.readMany(async () => {
      const toBlock = range.toBlock ?? (await this.logs.head());
      if (range.fromBlock !== undefined && range.fromBlock > toBlock) {
        throw new InvalidInputError("fromBlock must not be after toBlock", { fromBlock: range.fromBlock, toBlock });
      }
      return this.logs.logs(topics, { ...window, toBlock });
    });
    return this.timeline(logs);
  }

  // ------------------------------------------------------- access requests

  /** The requester's key signs `request` (it must be the request's `requester`). */
  async signAccessRequest(signer: Signer, request: AccessRequest): Promise<Hex> {
    const checked = checkAccessRequestShape(request);
    const address = await signer.getAddress();
    if (checkAccount(address, "signer") !== checked.requester) {
      throw new InvalidInputError("the signer is not the requester", { signer: address, requester: checked.requester });
    }
    return (await signer.signTypedData(await this.domain(), ACCESS_REQUEST_TYPES, { ...checked })) as Hex;
  }

  /**
   * A gateway's check of a signed access request: reads the token's current
   * shift (one call) and applies `checkAccessRequest` with the verifier's clock
   * `now` (default: the local clock; block times lag it). Returns the grant;
   * throws `AccessDeniedError` with the reason. Pass `seen` (e.g. a
   * `Set<string>`) to refuse replayed nonces.
   */
  async verifyAccessRequest(
    request: AccessRequest,
    signature: Hex,
    now: bigint = BigInt(Math.floor(Date.now() / 1000)),
    options: VerifyAccessOptions = {},
  ): Promise<AccessGrant> {
    const checked = checkAccessRequestShape(request);
    const facts = await this.currentShift(checked.token);
    return checkAccessRequest({ domain: await this.domain(), request: checked, signature, facts, now, ...options });
  }

  // --------------------------------------------------------------- private

  #shifts(result: TxResult): Shift[] {
    return result.events
      .filter((e) => e.name === "ShiftScheduled")
      .map((e) => ({ holder: String(e.args.holder), start: e.args.start as bigint, end: e.args.end as bigint }));
  }
}

// ------------------------------------------------------------------ checks

function checkResource(resource: Hex): Hex {
  return toHex(fromHex(resource, "resource", 32));
}

/** A time the contract stores: a bigint in [0, 2^40 - 1] seconds. */
function checkTime(value: bigint, what: string): bigint {
  if (typeof value !== "bigint" || value < 0n || value > MAX_UINT40) {
    throw new InvalidInputError(`${what} must be a bigint in [0, 2^40 - 1] (seconds)`, { value: String(value) });
  }
  return value;
}

function checkShift(shift: Shift, what: string): Shift {
  if (typeof shift !== "object" || shift === null) {
    throw new InvalidInputError(`${what} must be an object`, { value: String(shift) });
  }
  const holder = checkAccount(shift.holder, `${what}.holder`);
  const start = checkTime(shift.start, `${what}.start`);
  const end = checkTime(shift.end, `${what}.end`);
  if (start >= end) throw new InvalidInputError(`${what}.start must be before ${what}.end`, { start, end });
  return { holder, start, end };
}
