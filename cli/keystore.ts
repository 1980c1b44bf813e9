/**
 * Keys in an encrypted keystore: one Web3 Secret Storage file per key (`<name>.json`, as ethers
 * writes and reads them), in a folder (`--keystore`, `STRATA_KEYSTORE`, or `~/.strata/keystore`).
 * A private key never appears in an argument or a plaintext file: the passphrase comes from
 * `STRATA_PASSPHRASE` or a prompt on a terminal.
 */
import { link, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";

import { getAddress, Wallet } from "ethers";

import { KeystoreError } from "../sdk/index.ts";

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function keystoreDir(option: string | undefined): string {
  return option ?? process.env.STRATA_KEYSTORE ?? path.join(homedir(), ".strata", "keystore");
}

/** A key's name: letters, digits, `.`, `_`, `-`, at most 64, starting with a letter or digit. */
export function checkKeyName(name: string): string {
  if (typeof name !== "string" || !NAME.test(name)) {
    throw new KeystoreError("malformed", `key name ${JSON.stringify(name)}: use letters, digits, . _ - (at most 64)`, {
      name,
    });
  }
  return name;
}

/** Where the passphrase comes from: the environment, else a prompt when there is a terminal. */
export type PassphraseSource = (purpose: string) => Promise<string>;

export function passphraseSource(interactive: boolean): PassphraseSource {
  return async (purpose) => {
    const env = process.env.STRATA_PASSPHRASE;
    if (env !== undefined && env !== "") return env;
    if (!interactive) {
      throw new KeystoreError(
        "no-passphrase",
        `no passphrase for ${purpose}: set STRATA_PASSPHRASE or run on a terminal`,
      );
    }
    const { default: password } = await import("@inquirer/password");
    return password({ message: `Passphrase for ${purpose}:`, mask: "*" });
  };
}

export interface StoredKey {
  readonly name: string;
  readonly address: string;
  readonly file: string;
}

export class Keystore {
  readonly dir: string;
  readonly #passphrase: PassphraseSource;

  constructor(dir: string, passphrase: PassphraseSource) {
    this.dir = dir;
    this.#passphrase = passphrase;
  }

  #file(name: string): string {
    return path.join(this.dir, `${checkKeyName(name)}.json`);
  }

  /** Creates a random key `name`, encrypted under a passphrase (written atomically, mode 0600). */
  create(name: string): Promise<StoredKey> {
    return this.#store(name, () => Wallet.createRandom());
  }

  /** Stores an existing private key (taken from a prompt or the environment, never an argument). */
  import(name: string, privateKey: string): Promise<StoredKey> {
    return this.#store(name, () => {
      try {
        return new Wallet(privateKey.startsWith("0x") ? privateKey : `0x${privateKey}`);
      } catch {
        throw new KeystoreError("malformed", "the private key to import is not a 32-byte hex secp256k1 key", { name });
      }
    });
  }

  async #store(
    name: string,
    make: () => { address: string; encrypt(passphrase: string): Promise<string> },
  ): Promise<StoredKey> {
    const file = this.#file(name);
    if ((await this.#read(file)) !== undefined) {
      throw new KeystoreError("exists", `key ${name} already exists`, { name, file });
    }
    const wallet = make();
    const passphrase = await this.#passphrase(`the new key ${name}`);
    if (passphrase.length < 8) {
      throw new KeystoreError("no-passphrase", "a passphrase has at least 8 characters", { name });
    }
    const json = await wallet.encrypt(passphrase);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
    try {
      await writeFile(temp, json, { mode: 0o600, flag: "wx" });
      // link, not rename: it fails when another run created the key meanwhile, never replaces it
      await link(temp, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") {
        throw new KeystoreError("exists", `key ${name} already exists`, { name, file });
      }
      throw error;
    } finally {
      await rm(temp, { force: true });
    }
    return { name, address: wallet.address, file };
  }

  /** The keys in the folder, by name, with their addresses (read without decrypting). */
  async list(): Promise<StoredKey[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
    const keys: StoredKey[] = [];
    for (const entry of names.filter((n) => n.endsWith(".json")).sort()) {
      const file = path.join(this.dir, entry);
      keys.push({
        name: entry.slice(0, -".json".length),
        address: addressOf(await readFile(file, "utf8"), file),
        file,
      });
    }
    return keys;
  }

  /** The key `name` decrypted with its passphrase. */
  async open(name: string): Promise<Wallet> {
    const file = this.#file(name);
    const json = await this.#read(file);
    if (json === undefined) throw new KeystoreError("missing", `no key ${name} in ${this.dir}`, { name });
    addressOf(json, file);
    const passphrase = await this.#passphrase(`key ${name}`);
    try {
      const wallet = await Wallet.fromEncryptedJson(json, passphrase);
      return wallet as Wallet;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (/password/i.test(message)) {
        throw new KeystoreError("wrong-passphrase", `wrong passphrase for key ${name}`, { name });
      }
      throw new KeystoreError("malformed", `key ${name} cannot be read: ${message.split("\n")[0]}`, { name, file });
    }
  }

  async #read(file: string): Promise<string | undefined> {
    try {
      return await readFile(file, "utf8");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return undefined;
      throw new KeystoreError("malformed", `${file} cannot be read (${code ?? String(error)})`, { file });
    }
  }
}

function addressOf(json: string, file: string): string {
  try {
    const parsed = JSON.parse(json) as { address?: unknown };
    if (typeof parsed.address !== "string") throw new Error("no address");
    return getAddress(parsed.address.startsWith("0x") ? parsed.address : `0x${parsed.address}`);
  } catch {
    throw new KeystoreError("malformed", `${file} is not a keystore file`, { file });
  }
}
