/** `strata key new|list|export-public`: keys in the encrypted keystore. */
import { type Command, Option } from "commander";

import { KeystoreError } from "../../sdk/index.ts";
import { isP256Signer } from "../../sdk/exports/registry.ts";

import { type Curve, CURVES, Keystore, keystoreDir, passphraseSource } from "../keystore.ts";
import type { Context } from "../program.ts";

export function keystoreOf(ctx: Context): Keystore {
  return new Keystore(keystoreDir(ctx.globals().keystore), passphraseSource(ctx.interactive()));
}

export function keyCommands(program: Command, ctx: Context): void {
  const key = program.command("key").description("keys in the encrypted keystore (Web3 Secret Storage)");

  key
    .command("new")
    .description("create a random key, encrypted under a passphrase (STRATA_PASSPHRASE or a prompt)")
    .argument("<name>", "the key's name")
    .addOption(
      new Option("--curve <curve>", "secp256k1 (accounts, device keys) or p256 (a secure element's device key)")
        .choices(CURVES)
        .default("secp256k1"),
    )
    .addHelpText(
      "after",
      "\nExamples:\n  $ STRATA_PASSPHRASE=… strata key new gateway-7\n  $ STRATA_PASSPHRASE=… strata key new meter-12 --curve p256",
    )
    .action(async (name: string, o: { curve: Curve }) => {
      const created = await keystoreOf(ctx).create(name, o.curve);
      ctx.done({
        json: created,
        lines: [`created ${created.curve} key ${created.name}: ${created.address}`, `file ${created.file}`],
      });
    });

  key
    .command("import")
    .description("store an existing private key, read from STRATA_PRIVATE_KEY or a prompt (never an argument)")
    .argument("<name>", "the key's name")
    .addHelpText("after", "\nExample:\n  $ STRATA_PRIVATE_KEY=… STRATA_PASSPHRASE=… strata key import deployer")
    .action(async (name: string) => {
      let secret = process.env.STRATA_PRIVATE_KEY;
      if (secret === undefined || secret === "") {
        if (!ctx.interactive()) {
          throw new KeystoreError(
            "no-passphrase",
            "no private key to import: set STRATA_PRIVATE_KEY or run on a terminal",
            {
              name,
            },
          );
        }
        const { default: password } = await import("@inquirer/password");
        secret = await password({ message: `Private key for ${name}:`, mask: "*" });
      }
      const imported = await keystoreOf(ctx).import(name, secret.trim());
      ctx.done({
        json: imported,
        lines: [`imported key ${imported.name}: ${imported.address}`, `file ${imported.file}`],
      });
    });

  key
    .command("list")
    .description("the keys in the keystore and their addresses (nothing is decrypted)")
    .addHelpText("after", "\nExample:\n  $ strata key list --json")
    .action(async () => {
      const keys = await keystoreOf(ctx).list();
      ctx.done({
        json: { keystore: keystoreOf(ctx).dir, keys },
        lines:
          keys.length === 0 ? ["no keys"] : keys.map((k) => `${k.name.padEnd(24)} ${k.curve.padEnd(9)} ${k.address}`),
      });
    });

  key
    .command("export-public")
    .description("a key's address and public key (the private key never leaves the keystore)")
    .argument("<name>", "the key's name")
    .addHelpText("after", "\nExample:\n  $ strata key export-public gateway-7 --json")
    .action(async (name: string) => {
      const key = await keystoreOf(ctx).openDeviceKey(name);
      if (!isP256Signer(key)) {
        const exported = {
          name,
          curve: "secp256k1",
          address: key.address,
          publicKey: key.signingKey.publicKey,
          compressedPublicKey: key.signingKey.compressedPublicKey,
        };
        ctx.done({ json: exported, lines: [`${name}: ${exported.address}`, `public key ${exported.publicKey}`] });
        return;
      }
      const exported = { name, curve: "p256", address: key.address, publicKey: key.publicKey };
      ctx.done({
        json: exported,
        lines: [
          `${name}: ${key.address} (P-256)`,
          `public key x ${key.publicKey.x}`,
          `             y ${key.publicKey.y}`,
        ],
      });
    });
}
