/**
 * `strata anchor` throughput: one million records (JSON lines of readings) piped to the command
 * as an operator runs it (a child process, plain `node`, against anvil), hashed, built into the
 * tree, anchored in one transaction, and one proof bundle per record written (as JSON lines, one
 * file). Baseline: the Merkle build alone over the same million leaves, in process, same run.
 */
import { execFile, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, open, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { once } from "node:events";

import { keccak_256 } from "@noble/hashes/sha3.js";

import { buildTree, toHex } from "../sdk/index.ts";
import { recordLeaf } from "../sdk/exports/anchoring.ts";
import { startAnvil } from "../support/node-process.ts";
import type { Metrics } from "./metrics.ts";

const RECORDS = 1_000_000;
const CLI = path.resolve(import.meta.dirname, "../cli/strata.ts");
/** anvil's first development keys: an admin, a gateway, a coordination node. */
const KEYS = [
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
] as const;

function reading(i: number): string {
  const t = 1_765_100_000 + i;
  return `{"device":"meter-${i % 5000}","t":${t},"kWh":${((i * 7919) % 100000) / 100},"seq":${i}}`;
}

export async function cliMetrics(): Promise<Metrics> {
  const dir = await mkdtemp(path.join(tmpdir(), "strata-bench-cli-"));
  const chain = await startAnvil();
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, STRATA_PASSPHRASE: "bench passphrase", STRATA_RPC_URL: chain.url };
    delete env.NODE_OPTIONS;
    const base = ["--keystore", path.join(dir, "keys"), "--deployments", path.join(dir, "deployments.json")];
    const strata = (args: readonly string[], extra: NodeJS.ProcessEnv = {}): Promise<string> =>
      new Promise((resolve, reject) => {
        execFile(
          process.execPath,
          [CLI, ...base, "--json", ...args],
          { env: { ...env, ...extra }, maxBuffer: 64 << 20 },
          (error, stdout, stderr) =>
            error ? reject(new Error(`strata ${args.join(" ")}: ${stdout}${stderr}`)) : resolve(stdout),
        );
      });
    const field = (json: string, name: string): string => String((JSON.parse(json) as Record<string, unknown>)[name]);

    // ---------------------------------------------------------- a gateway, Active
    for (const [name, key] of [
      ["admin", KEYS[0]],
      ["gateway", KEYS[1]],
      ["coordinator", KEYS[2]],
    ] as const) {
      await strata(["key", "import", name], { STRATA_PRIVATE_KEY: key });
    }
    await strata(["deploy", "--key", "admin", "--full-node-approvals", "1"]);
    const admin = field(await strata(["key", "export-public", "admin"]), "address");
    await strata(["layer", "set-operator", "strata://bench", admin, "--key", "admin"]);
    const register = async (key: string, localId: number, kind: string, label: string) =>
      field(
        await strata([
          "device",
          "register",
          "--key",
          key,
          "--operator-key",
          "admin",
          "--layer",
          "strata://bench",
          "--local-id",
          String(localId),
          "--kind",
          kind,
          "--label",
          label,
        ]),
        "id",
      );
    const coordinator = await register("coordinator", 1, "edge-node", "coordination");
    await strata(["device", "appoint", coordinator, "--key", "admin"]);
    const gateway = await register("gateway", 2, "base-station", "full");
    await strata(["device", "approve", gateway, "--key", "coordinator", "--coordinator", coordinator]);

    // ------------------------------------------------------------ one million records
    const input = path.join(dir, "readings.jsonl");
    const writer = createWriteStream(input);
    for (let i = 0; i < RECORDS; i++) {
      if (!writer.write(`${reading(i)}\n`)) await once(writer, "drain");
    }
    writer.end();
    await once(writer, "finish");

    const output = path.join(dir, "bundles.jsonl");
    const stdin = await open(input, "r");
    const started = performance.now();
    const child = spawn(
      process.execPath,
      [CLI, ...base, "--json", "anchor", "--stdin", "--key", "gateway", "--gateway", gateway, "--jsonl", output],
      { env, stdio: [stdin.fd, "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
    const [code] = (await once(child, "exit")) as [number | null];
    const anchorSeconds = (performance.now() - started) / 1000;
    await stdin.close();
    if (code !== 0) throw new Error(`strata anchor exited ${code}: ${stdout}${stderr}`);
    if (Number(field(stdout, "leafCount")) !== RECORDS) throw new Error(`strata anchor: ${stdout}`);
    const bundleBytes = (await stat(output)).size;

    // ------------------------------------------- baseline: the Merkle build alone, same leaves
    const leaves = new Uint8Array(RECORDS * 32);
    const encoder = new TextEncoder();
    for (let i = 0; i < RECORDS; i++) {
      leaves.set(
        Uint8Array.from(Buffer.from(recordLeaf(toHex(keccak_256(encoder.encode(reading(i))))).slice(2), "hex")),
        i * 32,
      );
    }
    const buildStarted = performance.now();
    const tree = await buildTree(leaves);
    const buildSeconds = (performance.now() - buildStarted) / 1000;
    if (tree.root !== field(stdout, "root")) throw new Error("bench: the command's root differs from the tree's");

    return {
      "cli.anchor1M.recordsPerSec": {
        value: Math.round(RECORDS / anchorSeconds),
        unit: "ops/s",
        baseline: { name: "Merkle build alone (1M leaves)", value: Math.round(RECORDS / buildSeconds) },
      },
      "cli.anchor1M.s": { value: Math.round(anchorSeconds * 100) / 100, unit: "s" },
      "cli.anchor1M.bundleBytesPerRecord": { value: Math.round(bundleBytes / RECORDS), unit: "bytes" },
    };
  } finally {
    await chain.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
