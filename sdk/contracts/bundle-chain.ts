/**
 * The chain checks of a proof bundle once its transaction is mined (`verifyBundle` runs the
 * checks of the chain id and of the trusted contract first), per kind:
 *
 * - a root anchored in `DataAnchor` (`record`, `reading`, `batch`): the `Anchored` event of the
 *   bundle's gateway and root in the transaction, mined in the bundle's block; the root still
 *   held (`anchorOf`); `verifyReading` accepting the leaf and path; for a reading, the station is
 *   a registered base station in `DataAnchor`'s registry; for a batch, the group key is the one
 *   the cluster registered for that sequence;
 * - a summary in a `SummaryLedger` (`summary`): the `SummaryRecorded` event in the transaction;
 *   the block's `open` transaction with its `BlockOpened` event and, for a direct call, the
 *   bundle's attestation in its calldata; the ledger's layer; the summary still in the block and
 *   the block the opening of its contract; the signers' keys the ledger's; the attestation valid
 *   in the ledger's eyes (`isValidAttestation`) at the opening's block.
 *
 * Also: whether a transaction that is not mined yet is the bundle's own (`matchCall`).
 */
import type { Provider, TransactionReceipt } from "ethers";

import { DataAnchor as DataAnchorArtifact } from "../artifacts/DataAnchor.ts";
import { SummaryLedger as SummaryLedgerArtifact } from "../artifacts/SummaryLedger.ts";
import { fromHex, type Hex, toHex } from "../core/bytes.ts";
import type { BatchBundle, ProofBundle, ReadingBundle, RecordBundle, SummaryBundle } from "../core/bundle/format.ts";
import { ledgerDomain, ledgerOpenDigest } from "../core/eip712.ts";
import { bytes32ValuesHash } from "../core/merkle.ts";
import { Kind, KIND_NAMES, Status, STATUS_NAMES } from "../core/registry.ts";
import { StrataError } from "../errors.ts";
import { anchoredEntries, DataAnchorClient } from "./anchor.ts";
import { artifactInterface, type ContractEvent } from "./client.ts";
import { parseLedgerReceipt, SummaryLedgerClient } from "./ledger.ts";
import { DeviceRegistryClient } from "./registry.ts";

/** What the per-kind checks need of the verification under way. */
export interface ChainRun {
  readonly provider: Provider;
  readonly timeoutMs: number;
  /** The `DeviceRegistry` the verifier trusts, when it named one. */
  readonly registry?: string;
  /** A chain call with its deadline. */
  call<T>(what: string, work: Promise<T>): Promise<T>;
  /** Records a check; returns `ok`. */
  add(check: string, ok: boolean, detail: string): boolean;
}

type AnchorBundle = RecordBundle | ReadingBundle | BatchBundle;

const ANCHOR = artifactInterface(DataAnchorArtifact);
const LEDGER = artifactInterface(SummaryLedgerArtifact);
const lower = (v: unknown): string => String(v).toLowerCase();

/** The call that makes the bundle's transaction, in words. */
export function callName(bundle: ProofBundle): string {
  switch (bundle.kind) {
    case "batch":
      return "anchorFogBatch(cluster, root, leafCount, groupSignature)";
    case "summary":
      return bundle.summary.value === bundle.opening.request.summary
        ? "open(request, signers, signature)"
        : "record(blockId, summary, ending)";
    default:
      return "anchor(gateway, root, leafCount)";
  }
}

/** Whether calldata `data` is the bundle's call with the bundle's values (`true`), or why not. */
export function matchCall(bundle: ProofBundle, data: Hex): true | string {
  const iface = bundle.kind === "summary" ? LEDGER : ANCHOR;
  let parsed;
  try {
    parsed = iface.parseTransaction({ data });
  } catch {
    parsed = null;
  }
  if (parsed === null) return "its calldata calls no function of the contract";
  const args = parsed.args as unknown as readonly unknown[];
  const differs = (what: string): string => `its ${what} is not the bundle's`;
  switch (bundle.kind) {
    case "record":
    case "reading":
    case "batch": {
      const fn = bundle.kind === "batch" ? "anchorFogBatch" : "anchor";
      if (parsed.name !== fn) return `it calls ${parsed.name}`;
      if (lower(args[0]) !== bundle.anchor.gateway) return differs(bundle.kind === "batch" ? "cluster" : "gateway");
      if (lower(args[1]) !== bundle.merkle.root) return differs("root");
      if (BigInt(args[2] as bigint) !== BigInt(bundle.merkle.leafCount)) return differs("leaf count");
      if (bundle.kind === "batch" && lower(args[3]) !== bundle.cluster.signature) return differs("group signature");
      return true;
    }
    case "summary": {
      if (bundle.summary.value !== bundle.opening.request.summary) {
        if (parsed.name !== "record") return `it calls ${parsed.name}`;
        if (lower(args[0]) !== bundle.layer.blockId) return differs("block id");
        if (lower(args[1]) !== bundle.summary.value) return differs("summary");
        return true;
      }
      return parsed.name === "open" ? sameOpen(bundle, args) : `it calls ${parsed.name}`;
    }
  }
}

/** Whether `open(request, signers, signature)` arguments are the bundle's opening. */
function sameOpen(bundle: SummaryBundle, args: readonly unknown[]): true | string {
  const { request, attestation } = bundle.opening;
  const r = args[0] as readonly unknown[];
  const same =
    lower(r[0]) === request.summary &&
    lower(r[1]) === request.sourceLayer &&
    lower(r[2]) === request.route &&
    lower(r[3]) === request.responsible.toLowerCase() &&
    BigInt(r[4] as bigint) === request.expiry &&
    BigInt(r[5] as bigint) === request.deadline;
  if (!same) return "its open request is not the bundle's";
  if (BigInt(args[1] as bigint) !== attestation.signers || lower(args[2]) !== attestation.signature) {
    return "its attestation is not the bundle's";
  }
  return true;
}

/** Runs `work`; a typed failure (a revert, a node's error, a timeout) is the failed check `check`. */
async function guarded(run: ChainRun, check: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (!(error instanceof StrataError)) throw error;
    run.add(check, false, error.shortMessage);
  }
}

/** The chain checks of a root anchored in `DataAnchor` (`record`, `reading`, `batch`). */
export async function anchorChecks(run: ChainRun, bundle: AnchorBundle, receipt: TransactionReceipt): Promise<void> {
  const { anchor, merkle } = bundle;
  // one transaction may anchor the same root for several gateways: the bundle's is its gateway's
  const entry = anchoredEntries(receipt, anchor.contract).find(
    (e) => e.gateway === anchor.gateway && e.root === merkle.root,
  );
  const matches =
    receipt.status === 1 &&
    entry !== undefined &&
    entry.sequence === anchor.sequence &&
    entry.leafCount === BigInt(merkle.leafCount) &&
    receipt.blockNumber === anchor.block;
  run.add(
    "transaction",
    matches,
    matches
      ? `mined in block ${receipt.blockNumber}: Anchored(${bundle.kind === "batch" ? "cluster" : "gateway"}, sequence ${anchor.sequence}, root, ${merkle.leafCount} leaves)`
      : entry === undefined
        ? "the transaction anchored no such root for the gateway at this contract"
        : `the transaction's anchor differs from the bundle's (block ${receipt.blockNumber}, sequence ${entry.sequence}, ${entry.leafCount} leaves)`,
  );
  const client = new DataAnchorClient(anchor.contract, run.provider, {
    chainId: anchor.chainId,
    timeoutMs: run.timeoutMs,
  });
  await guarded(run, "anchor", async () => {
    const record = await client.anchorOf(anchor.gateway, merkle.root);
    const held =
      record !== undefined && record.sequence === anchor.sequence && record.leafCount === BigInt(merkle.leafCount);
    run.add(
      "anchor",
      held,
      held
        ? `the contract holds the root at sequence ${anchor.sequence}`
        : "the contract does not hold this root for the gateway (a rolled-back block?)",
    );
  });
  await guarded(run, "on-chain proof", async () => {
    const hash = bundle.kind === "record" ? bundle.record.hash : bundle.reading.hash;
    const valuesHash = toHex(bytes32ValuesHash(hash));
    const proved = await client.verifyReading(anchor.gateway, merkle.root, valuesHash, merkle.proof);
    run.add(
      "on-chain proof",
      proved,
      proved
        ? `DataAnchor.verifyReading accepts the ${bundle.kind} and path`
        : `DataAnchor.verifyReading refuses the ${bundle.kind} and path`,
    );
  });
  if (bundle.kind === "reading") await guarded(run, "station", () => stationCheck(run, client, bundle));
  if (bundle.kind === "batch") await guarded(run, "cluster key", () => clusterKeyCheck(run, client, bundle));
}

/** The station is a registered base station in the registry `DataAnchor` authenticates gateways with. */
async function stationCheck(run: ChainRun, client: DataAnchorClient, bundle: ReadingBundle): Promise<void> {
  const registry = await client.registry();
  if (run.registry !== undefined && registry.toLowerCase() !== run.registry.toLowerCase()) {
    run.add(
      "station",
      false,
      `DataAnchor reads the registry ${registry}, not the trusted DeviceRegistry ${run.registry}`,
    );
    return;
  }
  const device = await new DeviceRegistryClient(registry, run.provider, { timeoutMs: run.timeoutMs }).getDevice(
    bundle.anchor.gateway,
  );
  const ok = device.kind === Kind.BaseStation && device.status !== Status.None;
  run.add(
    "station",
    ok,
    ok
      ? `a registered base station (${STATUS_NAMES[device.status]})`
      : device.status === Status.None
        ? "the station is not in the registry"
        : `the anchoring gateway is a ${KIND_NAMES[device.kind]}, not a base station`,
  );
}

/** The bundle's group key is the one the cluster registered for the batch's sequence. */
async function clusterKeyCheck(run: ChainRun, client: DataAnchorClient, bundle: BatchBundle): Promise<void> {
  const { anchor } = bundle;
  let info = await client.fogCluster(anchor.gateway);
  // re-keyed since: the key of the batch's epoch, as the chain held it when the batch was anchored
  if (info !== undefined && info.since > anchor.sequence) info = await client.fogCluster(anchor.gateway, anchor.block);
  const ok = info !== undefined && info.since <= anchor.sequence && info.groupKey === bundle.cluster.groupKey;
  run.add(
    "cluster key",
    ok,
    ok
      ? `the group key of the cluster's epoch ${info!.epoch} (${info!.threshold} of ${info!.members.length} members)`
      : info === undefined
        ? "the gateway is not a registered fog cluster"
        : "the bundle's group key is not the one the cluster registered for this batch",
  );
}

/** The events named `name` of the ledger in a receipt. */
function ledgerEvents(receipt: TransactionReceipt, ledger: string, name: string): ContractEvent[] {
  return parseLedgerReceipt(receipt, ledger).filter((e) => e.name === name);
}

/** The chain checks of a summary in a `SummaryLedger`. */
export async function summaryChecks(run: ChainRun, bundle: SummaryBundle, receipt: TransactionReceipt): Promise<void> {
  const { anchor, layer, opening, summary } = bundle;
  const { request } = opening;
  const recorded = ledgerEvents(receipt, anchor.contract, "SummaryRecorded").some(
    (e) => lower(e.args.blockId) === layer.blockId && lower(e.args.summary) === summary.value,
  );
  const mined = receipt.status === 1 && recorded && receipt.blockNumber === anchor.block;
  run.add(
    "transaction",
    mined,
    mined
      ? `mined in block ${receipt.blockNumber}: SummaryRecorded(block, summary)`
      : !recorded
        ? "the transaction recorded no such summary in the block at this ledger"
        : `the transaction is in block ${receipt.blockNumber}, not the bundle's ${anchor.block}`,
  );

  const openReceipt =
    opening.transaction === anchor.transaction
      ? receipt
      : await run.call("eth_getTransactionReceipt", run.provider.getTransactionReceipt(opening.transaction));
  const openTx = await run.call("eth_getTransactionByHash", run.provider.getTransaction(opening.transaction));
  const opened =
    openReceipt !== null &&
    openReceipt.status === 1 &&
    openReceipt.blockNumber === opening.block &&
    ledgerEvents(openReceipt, anchor.contract, "BlockOpened").some(
      (e) =>
        lower(e.args.blockId) === layer.blockId &&
        lower(e.args.summary) === request.summary &&
        lower(e.args.responsible) === request.responsible.toLowerCase() &&
        lower(e.args.sourceLayer) === request.sourceLayer &&
        lower(e.args.route) === request.route &&
        BigInt(e.args.expiry as bigint) === request.expiry,
    );
  const direct = openTx !== null && openTx.to !== null && openTx.to.toLowerCase() === anchor.contract.toLowerCase();
  const carried = direct ? sameOpenCall(bundle, openTx.data as Hex) : true;
  run.add(
    "opening transaction",
    opened && carried === true,
    !opened
      ? `${opening.transaction} did not open this block for the request (mined in block ${opening.block}, BlockOpened)`
      : carried !== true
        ? `the block was opened by ${opening.transaction}, but ${carried}`
        : direct
          ? `mined in block ${opening.block}: BlockOpened(block, first summary, responsible, source, route, expiry) under the bundle's attestation`
          : `mined in block ${opening.block}: BlockOpened(block, first summary, responsible, source, route, expiry)`,
  );

  const ledger = new SummaryLedgerClient(anchor.contract, run.provider, {
    chainId: anchor.chainId,
    timeoutMs: run.timeoutMs,
  });
  await guarded(run, "layer", async () => {
    const { layerId } = await ledger.layer();
    run.add(
      "layer",
      layerId === layer.id,
      layerId === layer.id ? `the ledger of layer ${layer.id}` : `the ledger is layer ${layerId}'s, not layer.id's`,
    );
  });
  await guarded(run, "recorded", async () => {
    const at = await ledger.summaryOf(layer.blockId, summary.value);
    const openedAs = await ledger.openingOf(request.summary);
    const ok = at !== undefined && openedAs?.blockId === layer.blockId;
    run.add(
      "recorded",
      ok,
      ok
        ? `the block holds the summary (recorded at ${new Date(Number(at.time) * 1000).toISOString()}) and is its contract's opening`
        : at === undefined
          ? "the block does not hold the summary (cleaned, or rolled back?)"
          : "the block is not the one opened for the contract's first summary",
    );
  });
  await guarded(run, "signers", async () => {
    const wrong: number[] = [];
    for (const k of opening.keys) {
      if ((await ledger.member(k.index)).publicKey !== k.publicKey) wrong.push(k.index);
    }
    run.add(
      "signers",
      wrong.length === 0,
      wrong.length === 0
        ? `each signer's key is the ledger's (members ${opening.keys.map((k) => k.index).join(", ")})`
        : `the keys of members ${wrong.join(", ")} are not the ledger's`,
    );
  });
  await guarded(run, "on-chain attestation", async () => {
    const digest = ledgerOpenDigest(ledgerDomain(anchor.chainId, anchor.contract), request);
    const valid = await ledger.isValidAttestation(
      digest,
      { signers: opening.attestation.signers, signature: fromHex(opening.attestation.signature, "signature") },
      opening.block,
    );
    run.add(
      "on-chain attestation",
      valid,
      valid
        ? `SummaryLedger.isValidAttestation accepts it: a quorum of the valid members at block ${opening.block}`
        : `SummaryLedger.isValidAttestation refuses it at block ${opening.block}`,
    );
  });
}

/** Whether an `open` call's calldata carries the bundle's request and attestation. */
function sameOpenCall(bundle: SummaryBundle, data: Hex): true | string {
  let parsed;
  try {
    parsed = LEDGER.parseTransaction({ data });
  } catch {
    parsed = null;
  }
  if (parsed?.name !== "open") return "its calldata is no open call";
  return sameOpen(bundle, parsed.args as unknown as readonly unknown[]);
}
