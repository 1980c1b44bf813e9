/**
 * `strata verify BUNDLE`: every check the bundle allows offline, then against the chain, each
 * printed with its result, and the state: pending, anchored, or final after `--confirmations`.
 */
import { readFile } from "node:fs/promises";

import type { Command } from "commander";
import { createKeccak } from "hash-wasm";
import { styleText } from "node:util";

import { type Hex, InvalidInputError } from "../../sdk/index.ts";
import { parseBundle, verifyBundle } from "../../sdk/exports/anchoring.ts";
import { connect, rpcUrl } from "../chain.ts";
import { deploymentOn, deploymentsPath, readDeployments } from "../deployments.ts";
import { EXIT } from "../output.ts";
import type { Context } from "../program.ts";

export function verifyCommand(program: Command, ctx: Context): void {
  program
    .command("verify")
    .description("verify a proof bundle offline, then on the chain; prints each check and the state")
    .argument("<bundle>", "the proof bundle (JSON)")
    .option("--record <file>", "the record itself: check it hashes to the bundle's record")
    .option("--confirmations <n>", "blocks that make an anchor final", "12")
    .option("--offline", "only the checks that need no chain")
    .addHelpText(
      "after",
      "\nExample:\n  $ strata verify proofs/export.csv.proof.json --record export.csv --confirmations 64",
    )
    .action(async (file: string, options: { record?: string; confirmations: string; offline?: boolean }) => {
      if (!/^[0-9]+$/.test(options.confirmations) || Number(options.confirmations) < 1) {
        throw new InvalidInputError(`--confirmations: expected a positive integer, got ${options.confirmations}`);
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
        // the DataAnchor to trust comes from the operator's deployment file, never from the bundle
        let anchorContract: string | undefined;
        if (chain) {
          const file = deploymentsPath(ctx.globals().deployments);
          anchorContract = deploymentOn(await readDeployments(file), chain.chainId, file).contracts.DataAnchor?.address;
          if (anchorContract === undefined)
            throw new InvalidInputError(`${file}: no DataAnchor on chain ${chain.chainId}`);
        }
        const verdict = await verifyBundle(bundle, {
          ...(chain ? { provider: chain.provider, anchorContract } : {}),
          ...(recordHash ? { recordHash } : {}),
          confirmations: Number(options.confirmations),
        });
        const mark = (ok: boolean): string =>
          ctx.io.isTty ? styleText(ok ? "green" : "red", ok ? "✓" : "✗") : ok ? "ok  " : "FAIL";
        ctx.done(
          {
            json: { bundle: file, ...verdict },
            lines: [
              ...verdict.checks.map((c) => `${mark(c.ok)} ${c.check.padEnd(15)} ${c.detail}`),
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
