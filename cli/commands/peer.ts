/**
 * `strata peer challenge|answer|verify`: one device authenticates another from the keys in the
 * registry, with no arbiter. The verifier issues a fresh challenge, the prover's device key signs
 * it, the verifier checks the signature against the prover's registered key and status.
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";

import type { Command } from "commander";

import { fromHex, type Hex, InvalidInputError, type PeerChallenge } from "../../sdk/index.ts";
import { DeviceRegistryClient, newChallenge } from "../../sdk/exports/registry.ts";
import { type Bound, withContract } from "../contracts.ts";
import { EXIT } from "../output.ts";
import type { Context } from "../program.ts";
import { keystoreOf } from "./key.ts";

const clientOf = (b: Bound): DeviceRegistryClient =>
  new DeviceRegistryClient(b.address, b.runner, { chainId: b.chain.chainId, deploymentBlock: b.block });

async function readJson(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new InvalidInputError(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new InvalidInputError(`${file}: not JSON (${(error as Error).message})`);
  }
}

function challengeOf(raw: unknown, file: string): PeerChallenge {
  const c = (raw ?? {}) as Record<string, unknown>;
  for (const field of ["prover", "verifier", "nonce"]) {
    if (typeof c[field] !== "string") throw new InvalidInputError(`${file}: challenge.${field} is missing`);
    fromHex(c[field] as string, `challenge.${field}`, 32);
  }
  if (typeof c.issuedAt !== "string" || !/^[0-9]+$/.test(c.issuedAt)) {
    throw new InvalidInputError(`${file}: challenge.issuedAt is a decimal string of seconds`);
  }
  return {
    prover: c.prover as Hex,
    verifier: c.verifier as Hex,
    nonce: c.nonce as Hex,
    issuedAt: BigInt(c.issuedAt),
  };
}

export function peerCommands(program: Command, ctx: Context): void {
  const peer = program.command("peer").description("peer authentication from the registry's keys, no arbiter");

  peer
    .command("challenge")
    .description("issue a fresh challenge to a prover (prints it; hand it to the prover)")
    .requiredOption("--prover <id>", "the device to authenticate")
    .requiredOption("--verifier <id>", "the verifying device")
    .addHelpText("after", "\nExample:\n  $ strata peer challenge --prover 0x… --verifier 0x… --json > challenge.json")
    .action((o: { prover: string; verifier: string }) => {
      const challenge = newChallenge(
        o.prover.toLowerCase() as Hex,
        o.verifier.toLowerCase() as Hex,
        randomBytes(32),
        BigInt(Math.floor(Date.now() / 1000)),
      );
      ctx.done({
        json: { challenge },
        lines: [JSON.stringify({ challenge }, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))],
      });
    });

  peer
    .command("answer")
    .addHelpText("after", "\nExample:\n  $ strata peer answer challenge.json --key meter-12 --json > answer.json")
    .description("the prover's device key signs a challenge")
    .argument("<challenge>", "the challenge file (JSON from `strata peer challenge --json`)")
    .requiredOption("--key <name>", "the prover's device key (secp256k1, or P-256: a 128-byte answer)")
    .action(async (file: string, o: { key: string }) => {
      const challenge = challengeOf((await readJson(file)).challenge, file);
      const key = await keystoreOf(ctx).openDeviceKey(o.key);
      const signature = await withContract(ctx, "DeviceRegistry", undefined, (b) =>
        clientOf(b).signChallenge(key, challenge),
      );
      ctx.done({
        json: { challenge, signature },
        lines: [
          JSON.stringify({ challenge, signature }, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)),
        ],
      });
    });

  peer
    .command("verify")
    .addHelpText("after", "\nExample:\n  $ strata peer verify challenge.json answer.json")
    .description("check an answer against the challenge issued and the prover's registered key and status")
    .argument("<challenge>", "the challenge the verifier issued")
    .argument("<answer>", "the prover's answer")
    .action(async (challengeFile: string, answerFile: string) => {
      const expected = challengeOf((await readJson(challengeFile)).challenge, challengeFile);
      const answer = await readJson(answerFile);
      const answered = challengeOf(answer.challenge, answerFile);
      if (typeof answer.signature !== "string") throw new InvalidInputError(`${answerFile}: signature is missing`);
      try {
        const record = await withContract(ctx, "DeviceRegistry", undefined, (b) =>
          clientOf(b).verifyPeer({ expected, answered, signature: answer.signature as Hex }),
        );
        ctx.done({
          json: { verified: true, prover: record.id, key: record.key },
          lines: [`verified: ${record.id} (key ${record.key})`],
        });
      } catch (error) {
        if (!(error instanceof Error) || error.name !== "PeerAuthenticationError") throw error;
        const reason = (error as { reason?: string }).reason;
        ctx.done(
          {
            json: { verified: false, reason, message: (error as { shortMessage?: string }).shortMessage },
            lines: [`not verified: ${reason}`],
          },
          EXIT.invalid,
        );
      }
    });
}
