/**
 * `strata anchor FILE… | --stdin`: hashes each record (a file's bytes, or one JSON line of
 * readings), builds the OpenZeppelin-compatible Merkle tree, anchors its root from a registered,
 * Active gateway's key, and writes one proof bundle per record.
 */
import { createReadStream } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";

import type { Command } from "commander";
import { createKeccak } from "hash-wasm";

import { buildTree, fromHex, type Hex, InvalidInputError } from "../../sdk/index.ts";
import { DataAnchorClient, recordBundles, recordLeaf, serializeBundle } from "../../sdk/exports/anchoring.ts";
import { connect, rpcUrl } from "../chain.ts";
import { deploymentOn, deploymentsPath, readDeployments } from "../deployments.ts";
import type { Context } from "../program.ts";
import { progress } from "../progress.ts";
import { keystoreOf } from "./key.ts";

interface Record_ {
  readonly name: string;
  readonly hash: Hex;
}

/** keccak-256 of a file's bytes, streamed. */
async function hashFile(file: string): Promise<Hex> {
  const h = await createKeccak(256);
  try {
    for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  } catch (error) {
    throw new InvalidInputError(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`, {
      file,
    });
  }
  return `0x${h.digest("hex")}`;
}

/** Each non-empty line of stdin is a record: its UTF-8 bytes, hashed. */
async function stdinRecords(): Promise<Record_[]> {
  const h = await createKeccak(256);
  const records: Record_[] = [];
  let n = 0;
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    n += 1;
    if (line.trim() === "") continue;
    h.init();
    h.update(line);
    records.push({ name: `line-${n}`, hash: `0x${h.digest("hex")}` });
  }
  return records;
}

export function anchorCommand(program: Command, ctx: Context): void {
  program
    .command("anchor")
    .description("anchor records (files, or JSON lines on stdin) from a gateway, one proof bundle per record")
    .argument("[files...]", "files to anchor")
    .option("--stdin", "read records from stdin, one JSON line each")
    .requiredOption("--key <name>", "the gateway's key in the keystore")
    .requiredOption("--gateway <id>", "the gateway's device id (0x… 32 bytes)")
    .option("--out <dir>", "where to write the proof bundles", "proofs")
    .addHelpText(
      "after",
      "\nExamples:\n  $ strata anchor --key gw --gateway 0x… export-2026-12-07.csv\n  $ tail -n 1000 readings.jsonl | strata anchor --stdin --key gw --gateway 0x…",
    )
    .action(async (files: string[], options: { stdin?: boolean; key: string; gateway: string; out: string }) => {
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
      const globals = ctx.globals();
      const file = deploymentsPath(globals.deployments);
      const chain = await connect(rpcUrl(globals.rpc));
      try {
        const deployment = deploymentOn(await readDeployments(file), chain.chainId, file);
        const anchorAt = deployment.contracts.DataAnchor;
        if (!anchorAt) throw new InvalidInputError(`${file}: no DataAnchor on chain ${chain.chainId}`);
        const tree = await buildTree(records.map((r) => fromHex(recordLeaf(r.hash), "leaf")));
        const key = (await keystoreOf(ctx).open(options.key)).connect(chain.provider);
        const client = new DataAnchorClient(anchorAt.address, key, {
          chainId: chain.chainId,
          deploymentBlock: anchorAt.block,
        });
        const sending = progress(ctx, `anchoring ${records.length} records (root ${tree.root}) from ${key.address}…`);
        let anchored;
        try {
          anchored = await client.anchor(gateway, tree.root, tree.leafCount);
        } catch (error) {
          sending.fail();
          throw error;
        }
        sending.done(`anchored at sequence ${anchored.sequence}, block ${anchored.blockNumber}`);
        await mkdir(options.out, { recursive: true });
        const bundles = recordBundles(records, tree, gateway, {
          chainId: chain.chainId,
          contract: anchorAt.address,
          sequence: anchored.sequence,
          transaction: anchored.hash,
          block: anchored.blockNumber,
        });
        const written: string[] = [];
        for (const [i, r] of records.entries()) {
          const out = path.join(options.out, `${r.name}.proof.json`);
          await writeFile(out, serializeBundle(bundles[i]!));
          written.push(out);
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
            `${written.length} proof bundles in ${options.out}/`,
          ],
        });
      } finally {
        chain.provider.destroy();
      }
    });
}
