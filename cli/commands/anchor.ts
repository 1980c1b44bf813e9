/**
 * `strata anchor FILE… | --stdin`: hashes each record (a file's bytes, or one JSON line of
 * readings), builds the OpenZeppelin-compatible Merkle tree, anchors its root from a registered,
 * Active gateway's key, and writes one proof bundle per record (one file each in `--out`, or all
 * as JSON lines in one `--jsonl` file). Everything that can be checked (each stdin line is JSON,
 * the output is writable) is checked before the root is sent; each bundle is written whole (a
 * temporary file, renamed or linked), and a bundle that cannot be written after the anchor is
 * mined is an error that still names the transaction, root and sequence.
 */
import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { link, lstat, mkdir, rename, rm, writeFile } from "node:fs/promises";
import { once } from "node:events";
import path from "node:path";
import { createInterface } from "node:readline";

import type { Command } from "commander";
import { createKeccak } from "hash-wasm";

import { buildTree, fromHex, type Hex, InvalidInputError } from "../../sdk/index.ts";
import { DataAnchorClient, type RecordBundle, recordBundle, serializeBundle } from "../../sdk/exports/anchoring.ts";
import { connect, rpcUrl } from "../chain.ts";
import { deploymentOn, deploymentsPath, readDeployments } from "../deployments.ts";
import type { Context } from "../program.ts";
import { progress } from "../progress.ts";
import { keystoreOf } from "./key.ts";

interface Record_ {
  readonly name: string;
  /** keccak-256 of the record's bytes. */
  readonly hash: Uint8Array;
}

const hexOf = (bytes: Uint8Array): Hex =>
  `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex")}`;

/** The leaves of `records` in one flat buffer: `keccak256(keccak256(hash))`, as `recordLeaf`. */
async function leavesOf(records: readonly Record_[]): Promise<Uint8Array> {
  const h = await createKeccak(256);
  const leaves = new Uint8Array(records.length * 32);
  for (const [i, r] of records.entries()) {
    h.init();
    h.update(r.hash);
    const inner = h.digest("binary");
    h.init();
    h.update(inner);
    leaves.set(h.digest("binary"), i * 32);
  }
  return leaves;
}

/** One bundle as a compact JSON line (chain values as decimal strings, as `serializeBundle`). */
function bundleLine(bundle: RecordBundle): string {
  const { anchor } = bundle;
  // the bigints written as strings first: JSON.stringify without a replacer is 3x faster
  return `${JSON.stringify({
    ...bundle,
    anchor: { ...anchor, chainId: anchor.chainId.toString(), sequence: anchor.sequence.toString() },
  })}\n`;
}

/** keccak-256 of a file's bytes, streamed. */
async function hashFile(file: string): Promise<Uint8Array> {
  const h = await createKeccak(256);
  try {
    for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  } catch (error) {
    throw new InvalidInputError(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`, {
      file,
    });
  }
  return h.digest("binary");
}

/**
 * Each non-empty line of stdin is a record, a JSON value (a reading): its UTF-8 bytes, hashed. A
 * line that is not JSON is bad input naming the line, before anything is sent.
 */
async function stdinRecords(): Promise<Record_[]> {
  const h = await createKeccak(256);
  const records: Record_[] = [];
  let n = 0;
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    n += 1;
    if (line.trim() === "") continue;
    try {
      JSON.parse(line);
    } catch (error) {
      throw new InvalidInputError(`stdin line ${n}: not JSON (${(error as Error).message})`, { line: n });
    }
    h.init();
    h.update(line);
    records.push({ name: `line-${n}`, hash: h.digest("binary") });
  }
  return records;
}

const codeOf = (error: unknown): string => (error as NodeJS.ErrnoException).code ?? String(error);

/** Creates `dir` if needed and proves it writable (a probe file written and removed). */
async function writableFolder(dir: string): Promise<void> {
  const probe = path.join(dir, `.strata-probe-${process.pid}-${randomBytes(4).toString("hex")}`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(probe, "", { flag: "wx" });
  } catch (error) {
    throw new InvalidInputError(`--out ${dir}: not a writable folder (${codeOf(error)})`, { out: dir });
  } finally {
    await rm(probe, { force: true }).catch(() => undefined);
  }
}

/** Writes `file` whole or not at all: a temporary file beside it, renamed over it. */
async function writeWhole(file: string, text: string): Promise<void> {
  const temp = path.join(path.dirname(file), `.strata-${process.pid}-${randomBytes(4).toString("hex")}.tmp`);
  try {
    await writeFile(temp, text, { flag: "wx" });
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
}

export function anchorCommand(program: Command, ctx: Context): void {
  program
    .command("anchor")
    .description("anchor records (files, or JSON lines on stdin) from a gateway, one proof bundle per record")
    .argument("[files...]", "files to anchor")
    .option("--stdin", "read records from stdin, one JSON line each")
    .requiredOption("--key <name>", "the gateway's key in the keystore")
    .requiredOption("--gateway <id>", "the gateway's device id (0x… 32 bytes)")
    .option("--out <dir>", "where to write the proof bundles, one file each", "proofs")
    .option(
      "--jsonl <file>",
      "write every bundle to one file instead, one JSON bundle per line in record order (for large batches)",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  $ strata anchor --key gw --gateway 0x… export-2026-12-07.csv\n  $ tail -n 1000 readings.jsonl | strata anchor --stdin --key gw --gateway 0x…",
    )
    .action(
      async (
        files: string[],
        options: { stdin?: boolean; key: string; gateway: string; out: string; jsonl?: string },
        command: Command,
      ) => {
        if (options.jsonl !== undefined && command.getOptionValueSource("out") === "cli") {
          throw new InvalidInputError("give --out or --jsonl, not both");
        }
        const gateway = options.gateway.toLowerCase() as Hex;
        fromHex(gateway, "--gateway", 32);
        if (options.stdin === true && files.length > 0) throw new InvalidInputError("give files or --stdin, not both");
        if (options.stdin !== true && files.length === 0)
          throw new InvalidInputError("nothing to anchor: give files or --stdin");
        const shown = progress(ctx, "hashing records…");
        let records: Record_[];
        try {
          if (options.stdin === true) records = await stdinRecords();
          else {
            records = [];
            for (const [i, f] of files.entries()) {
              shown.step(`hashing ${i + 1} of ${files.length}: ${path.basename(f)}`);
              records.push({ name: path.basename(f), hash: await hashFile(f) });
            }
          }
        } catch (error) {
          shown.fail();
          throw error;
        }
        shown.done(`${records.length} records hashed`);
        if (records.length === 0) throw new InvalidInputError("nothing to anchor: no records on stdin");
        const names = new Set<string>();
        for (const r of records) {
          if (names.has(r.name))
            throw new InvalidInputError(`two records are named ${r.name}: their bundles would collide`);
          names.add(r.name);
        }
        // the bundles must have somewhere to go before the root is anchored
        if (options.jsonl === undefined) await writableFolder(options.out);
        const globals = ctx.globals();
        const file = deploymentsPath(globals.deployments);
        const chain = await connect(rpcUrl(globals.rpc));
        try {
          const deployment = deploymentOn(await readDeployments(file), chain.chainId, file);
          const anchorAt = deployment.contracts.DataAnchor;
          if (!anchorAt) throw new InvalidInputError(`${file}: no DataAnchor on chain ${chain.chainId}`);
          const tree = await buildTree(await leavesOf(records));
          const key = (await keystoreOf(ctx).open(options.key)).connect(chain.provider);
          const client = new DataAnchorClient(anchorAt.address, key, {
            chainId: chain.chainId,
            deploymentBlock: anchorAt.block,
          });
          // the bundle file is opened just before the transaction: a path that cannot be written,
          // or a file already there, fails first and costs nothing
          const jsonlTemp = options.jsonl === undefined ? undefined : `${options.jsonl}.${process.pid}.tmp`;
          const jsonl = jsonlTemp === undefined ? undefined : await openForWriting(jsonlTemp, options.jsonl!);
          const sending = progress(ctx, `anchoring ${records.length} records (root ${tree.root}) from ${key.address}…`);
          let anchored;
          try {
            anchored = await client.anchor(gateway, tree.root, tree.leafCount);
          } catch (error) {
            sending.fail();
            if (jsonl !== undefined) {
              jsonl.destroy();
              await rm(jsonlTemp!, { force: true });
            }
            throw error;
          }
          sending.done(`anchored at sequence ${anchored.sequence}, block ${anchored.blockNumber}`);
          const at = {
            chainId: chain.chainId,
            contract: anchorAt.address,
            sequence: anchored.sequence,
            transaction: anchored.hash,
            block: anchored.blockNumber,
          };
          const bundleOf = (r: Record_, i: number): RecordBundle =>
            recordBundle({ hash: hexOf(r.hash), name: r.name }, i, tree, gateway, at);
          const written: string[] = [];
          if (jsonl !== undefined) {
            const writing = progress(ctx, `writing ${records.length} bundles to ${options.jsonl}…`);
            try {
              for (const [i, r] of records.entries()) {
                if (!jsonl.write(bundleLine(bundleOf(r, i)))) await once(jsonl, "drain");
              }
              jsonl.end();
              await once(jsonl, "finish");
              // link, not rename: a file created at the target meanwhile is never replaced
              await link(jsonlTemp!, options.jsonl!);
              await rm(jsonlTemp!, { force: true });
            } catch (error) {
              writing.fail();
              jsonl.destroy();
              const code = codeOf(error);
              throw new InvalidInputError(
                `anchored (transaction ${anchored.hash}, sequence ${anchored.sequence}, root ${tree.root}) but the bundles could not be written to ${options.jsonl} (${code}); those written so far are in ${jsonlTemp}`,
                {
                  transaction: anchored.hash,
                  sequence: anchored.sequence.toString(),
                  root: tree.root,
                  partial: jsonlTemp,
                },
              );
            }
            writing.done(`${records.length} bundles in ${options.jsonl}`);
            written.push(options.jsonl!);
          } else {
            const failed: { file: string; reason: string }[] = [];
            for (const [i, r] of records.entries()) {
              const out = path.join(options.out, `${r.name}.proof.json`);
              try {
                await writeWhole(out, serializeBundle(bundleOf(r, i)));
                written.push(out);
              } catch (error) {
                failed.push({ file: out, reason: codeOf(error) });
              }
            }
            if (failed.length > 0) {
              // the root is on chain: what the operator needs to recover is in the one line
              throw new InvalidInputError(
                `anchored (transaction ${anchored.hash}, root ${tree.root}, sequence ${anchored.sequence}, block ${anchored.blockNumber}) but ${failed.length} of ${records.length} proof bundles could not be written: ${failed[0]!.file} (${failed[0]!.reason})`,
                {
                  chainId: chain.chainId,
                  transaction: anchored.hash,
                  root: tree.root,
                  sequence: anchored.sequence,
                  block: anchored.blockNumber,
                  leafCount: tree.leafCount,
                  written,
                  failed,
                },
              );
            }
          }
          ctx.done({
            json: {
              chainId: chain.chainId,
              root: tree.root,
              leafCount: tree.leafCount,
              sequence: anchored.sequence,
              transaction: anchored.hash,
              block: anchored.blockNumber,
              bundles: written,
            },
            lines: [
              `anchored ${records.length} records: root ${tree.root}, sequence ${anchored.sequence}, block ${anchored.blockNumber}`,
              `transaction ${anchored.hash}`,
              jsonl === undefined
                ? `${written.length} proof bundles in ${options.out}/`
                : `${records.length} proof bundles in ${options.jsonl} (one per line)`,
            ],
          });
        } finally {
          chain.provider.destroy();
        }
      },
    );
}

/** A write stream on `temp` (standing in for `target`, which must not exist), open once this resolves. */
async function openForWriting(temp: string, target: string): Promise<ReturnType<typeof createWriteStream>> {
  try {
    await lstat(target);
    throw new InvalidInputError(`--jsonl ${target} already exists: bundles are never written over a file`);
  } catch (error) {
    if (error instanceof InvalidInputError) throw error;
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new InvalidInputError(`--jsonl ${target}: cannot be written (${(error as NodeJS.ErrnoException).code})`);
    }
  }
  const stream = createWriteStream(temp, { flags: "wx", mode: 0o644 });
  try {
    await once(stream, "open");
  } catch (error) {
    throw new InvalidInputError(
      `--jsonl ${target}: cannot be written (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    );
  }
  return stream;
}
