/**
 * `strata verify BUNDLE`: a proof bundle of any kind (record, station reading, fog batch, layer
 * summary) — every check it allows offline, then against the chain, each printed with its
 * result, and the state: pending, anchored, or final after `--confirmations`. The contracts it
 * trusts come from the operator's deployment file (`DataAnchor`, `DeviceRegistry`) or the
 * command line (`--ledger`, a layer's `SummaryLedger`), never from the bundle.
 */
import { readFile } from "node:fs/promises";

import type { Command } from "commander";
import { createKeccak } from "hash-wasm";
import { styleText } from "node:util";

import { fromHex, type Hex, InvalidInputError } from "../../sdk/index.ts";
import { parseBundle, type TrustedContracts, verifyBundle } from "../../sdk/exports/anchoring.ts";
import { connect, rpcUrl } from "../chain.ts";
import { deploymentOn, deploymentsPath, readDeployments } from "../deployments.ts";
import { EXIT } from "../output.ts";
import type { Context } from "../program.ts";

interface VerifyOptions {
  record?: string;
  confirmations: string;
  offline?: boolean;
  pkgKey?: string;
  ledger?: string;
}

export function verifyCommand(program: Command, ctx: Context): void {
  program
    .command("verify")
    .description(
      "verify a proof bundle (record, reading, batch, summary) offline, then on the chain; prints each check and the state",
    )
    .argument("<bundle>", "the proof bundle (JSON)")
    .option("--record <file>", "(record) the record itself: check it hashes to the bundle's record")
    .option("--confirmations <n>", "blocks that make an anchor final", "12")
    .option("--offline", "only the checks that need no chain")
    .option("--pkg-key <hex>", "(reading) the PKG master public key to trust (96-byte compressed G2)")
    .option("--ledger <address>", "(summary) the layer's SummaryLedger to trust")
    .addHelpText(
      "after",
      [
        "",
        "Examples:",
        "  $ strata verify proofs/export.csv.proof.json --record export.csv --confirmations 64",
        "  $ strata verify reading-17.proof.json --pkg-key 0x…",
        "  $ strata verify summary.proof.json --ledger 0x…",
      ].join("\n"),
    )
    .action(async (file: string, options: VerifyOptions) => {
      if (!/^[0-9]+$/.test(options.confirmations) || Number(options.confirmations) < 1) {
        throw new InvalidInputError(`--confirmations: expected a positive integer, got ${options.confirmations}`);
      }
      if (options.pkgKey !== undefined) fromHex(options.pkgKey, "--pkg-key", 96);
      if (options.ledger !== undefined && !/^0x[0-9a-fA-F]{40}$/.test(options.ledger)) {
        throw new InvalidInputError(`--ledger: expected an address, got ${options.ledger}`);
      }
      let text: string;
      try {
        text = await readFile(file, "utf8");
      } catch (error) {
        throw new InvalidInputError(
          `${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
        );
      }
      const bundle = parseBundle(text);
      for (const [option, kind, given] of [
        ["--record", "record", options.record],
        ["--pkg-key", "reading", options.pkgKey],
        ["--ledger", "summary", options.ledger],
      ] as const) {
        if (given !== undefined && bundle.kind !== kind) {
          throw new InvalidInputError(`${option} applies to a ${kind} bundle, and this one is a ${bundle.kind} bundle`);
        }
      }
      let recordHash: Hex | undefined;
      if (options.record !== undefined) {
        const h = await createKeccak(256);
        try {
          h.update(await readFile(options.record));
        } catch (error) {
          throw new InvalidInputError(
            `${options.record}: cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
          );
        }
        recordHash = `0x${h.digest("hex")}`;
      }
      const chain = options.offline === true ? undefined : await connect(rpcUrl(ctx.globals().rpc));
      try {
        // the contracts to trust come from the operator's deployment file and command line, never from the bundle
        let trusted: TrustedContracts | undefined;
        if (chain) {
          if (bundle.kind === "summary") {
            if (options.ledger === undefined) {
              throw new InvalidInputError(
                "a summary bundle is checked against the layer's SummaryLedger: give --ledger",
              );
            }
            trusted = { SummaryLedger: options.ledger };
          } else {
            const path = deploymentsPath(ctx.globals().deployments);
            const { contracts } = deploymentOn(await readDeployments(path), chain.chainId, path);
            if (contracts.DataAnchor === undefined) {
              throw new InvalidInputError(`${path}: no DataAnchor on chain ${chain.chainId}`);
            }
            trusted = {
              DataAnchor: contracts.DataAnchor.address,
              ...(contracts.DeviceRegistry === undefined ? {} : { DeviceRegistry: contracts.DeviceRegistry.address }),
            };
          }
        }
        const verdict = await verifyBundle(bundle, {
          ...(chain ? { provider: chain.provider, trusted } : {}),
          ...(recordHash ? { recordHash } : {}),
          ...(options.pkgKey === undefined ? {} : { pkgMasterPublic: options.pkgKey.toLowerCase() as Hex }),
          confirmations: Number(options.confirmations),
        });
        const mark = (ok: boolean): string =>
          ctx.io.isTty ? styleText(ok ? "green" : "red", ok ? "✓" : "✗") : ok ? "ok  " : "FAIL";
        ctx.done(
          {
            json: { bundle: file, kind: bundle.kind, ...verdict },
            lines: [
              `${bundle.kind} bundle ${file}`,
              ...verdict.checks.map((c) => `${mark(c.ok)} ${c.check.padEnd(20)} ${c.detail}`),
              `state: ${verdict.state}`,
            ],
          },
          verdict.state === "invalid" ? EXIT.invalid : EXIT.ok,
        );
      } finally {
        chain?.provider.destroy();
      }
    });
}
