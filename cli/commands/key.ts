/** `strata key new|list|export-public`: keys in the encrypted keystore. */
import type { Command } from "commander";

import { KeystoreError } from "../../sdk/index.ts";

import { Keystore, keystoreDir, passphraseSource } from "../keystore.ts";
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
    .addHelpText("after", "\nExample:\n  $ STRATA_PASSPHRASE=… strata key new gateway-7")
    .action(async (name: string) => {
      const created = await keystoreOf(ctx).create(name);
      ctx.done({ json: created, lines: [`created key ${created.name}: ${created.address}`, `file ${created.file}`] });
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
        lines: keys.length === 0 ? ["no keys"] : keys.map((k) => `${k.name.padEnd(24)} ${k.address}`),
      });
    });

  key
    .command("export-public")
    .description("a key's address and public key (the private key never leaves the keystore)")
    .argument("<name>", "the key's name")
    .addHelpText("after", "\nExample:\n  $ strata key export-public gateway-7 --json")
    .action(async (name: string) => {
      const wallet = await keystoreOf(ctx).open(name);
      const exported = {
        name,
        address: wallet.address,
        publicKey: wallet.signingKey.publicKey,
        compressedPublicKey: wallet.signingKey.compressedPublicKey,
      };
      ctx.done({
        json: exported,
        lines: [`${name}: ${exported.address}`, `public key ${exported.publicKey}`],
      });
    });
}
