/**
 * Keys in an encrypted keystore: one Web3 Secret Storage file per key (`<name>.json`, as ethers
 * writes and reads them), in a folder (`--keystore`, `STRATA_KEYSTORE`, or `~/.strata/keystore`).
 * A private key never appears in an argument or a plaintext file: the passphrase comes from
 * `STRATA_PASSPHRASE` or a prompt on a terminal.
 *
 * Two curves: secp256k1 keys (accounts and device keys; the files ethers and geth read) and
 * P-256 (secp256r1) device keys, for devices whose key lives in a secure element and for
 * simulating them. A P-256 file is the same Web3 Secret Storage encryption of the 32-byte
 * scalar, with `"curve": "secp256r1"`, the public key, and its device address
 * (`p256Address`) as `address`.
 */
import { link, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";

import {
  decryptKeystoreJson,
  encryptKeystoreJson,
  getAddress,
  getBytes,
  type HDNodeWallet,
  hexlify,
  Wallet,
} from "ethers";

import { KeystoreError } from "../sdk/index.ts";
import {
  isP256Signer,
  p256PublicKeyOf,
  p256SoftwareKey,
  type P256PublicKey,
  type P256Signer,
  randomP256PrivateKey,
} from "../sdk/exports/registry.ts";

/** The curves a key can be on. */
export const CURVES = ["secp256k1", "p256"] as const;
export type Curve = (typeof CURVES)[number];

/** A device key as opened: a secp256k1 wallet, or a P-256 signer (a simulated secure element). */
export type DeviceKey = Wallet | HDNodeWallet | P256Signer;

const P256_CURVE_FIELD = "secp256r1";

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
  readonly curve: Curve;
  readonly file: string;
  /** A P-256 key's public key (secp256k1 keys show theirs with `export-public`). */
  readonly publicKey?: P256PublicKey;
}

interface Sealable {
  readonly address: string;
  readonly curve: Curve;
  readonly publicKey?: P256PublicKey;
  encrypt(passphrase: string): Promise<string>;
}

function p256Sealable(secret: Uint8Array): Sealable {
  const publicKey = p256PublicKeyOf(secret);
  const address = p256SoftwareKey(secret).address;
  return {
    address,
    curve: "p256",
    publicKey,
    encrypt: async (passphrase) => {
      const json = JSON.parse(
        await encryptKeystoreJson({ address, privateKey: hexlify(secret) }, passphrase),
      ) as Record<string, unknown>;
      return JSON.stringify({ ...json, curve: P256_CURVE_FIELD, publicKey });
    },
  };
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

  /**
   * Creates a random key `name` on `curve` (secp256k1 by default), encrypted under a passphrase
   * (written atomically, mode 0600).
   */
  create(name: string, curve: Curve = "secp256k1"): Promise<StoredKey> {
    return this.#store(name, () =>
      curve === "p256" ? p256Sealable(randomP256PrivateKey()) : walletSealable(Wallet.createRandom()),
    );
  }

  /** Stores an existing private key (taken from a prompt or the environment, never an argument). */
  import(name: string, privateKey: string): Promise<StoredKey> {
    return this.#store(name, () => {
      try {
        return walletSealable(new Wallet(privateKey.startsWith("0x") ? privateKey : `0x${privateKey}`));
      } catch {
        throw new KeystoreError("malformed", "the private key to import is not a 32-byte hex secp256k1 key", { name });
      }
    });
  }

  async #store(name: string, make: () => Sealable): Promise<StoredKey> {
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
    return {
      name,
      address: wallet.address,
      curve: wallet.curve,
      file,
      ...(wallet.publicKey ? { publicKey: wallet.publicKey } : {}),
    };
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
      const header = headerOf(await readFile(file, "utf8"), file);
      keys.push({ name: entry.slice(0, -".json".length), file, ...header });
    }
    return keys;
  }

  /** The account key `name` (secp256k1) decrypted with its passphrase: it signs transactions. */
  async open(name: string): Promise<Wallet | HDNodeWallet> {
    // the curve is in the file's header: a P-256 key is refused before any passphrase is asked
    const file = this.#file(name);
    const json = await this.#read(file);
    if (json !== undefined && headerOf(json, file).curve === "p256") {
      throw new KeystoreError(
        "wrong-curve",
        `key ${name} is a P-256 device key; an account (secp256k1) key is needed`,
        {
          name,
        },
      );
    }
    const key = await this.openDeviceKey(name);
    if (isP256Signer(key)) throw new KeystoreError("wrong-curve", `key ${name} is a P-256 device key`, { name });
    return key;
  }

  /** The device key `name` decrypted with its passphrase: a secp256k1 wallet or a P-256 signer. */
  async openDeviceKey(name: string): Promise<DeviceKey> {
    const file = this.#file(name);
    const json = await this.#read(file);
    if (json === undefined) throw new KeystoreError("missing", `no key ${name} in ${this.dir}`, { name });
    const header = headerOf(json, file);
    const passphrase = await this.#passphrase(`key ${name}`);
    try {
      if (header.curve === "secp256k1") {
        const wallet = await Wallet.fromEncryptedJson(json, passphrase);
        // what `list` shows is what opens: a file whose address is not its key's is refused
        if (wallet.address !== header.address) {
          throw new KeystoreError("malformed", `key ${name}: its address is not its key's`, { name, file });
        }
        return wallet;
      }
      // ethers checks `address` against a secp256k1 key: a P-256 file's is checked here instead.
      const { address: _address, ...rest } = JSON.parse(json) as Record<string, unknown>;
      const account = await decryptKeystoreJson(JSON.stringify(rest), passphrase);
      const signer = p256SoftwareKey(getBytes(account.privateKey));
      const listed = header.publicKey;
      if (
        signer.address !== header.address ||
        (listed !== undefined &&
          (String(listed.x).toLowerCase() !== signer.publicKey.x ||
            String(listed.y).toLowerCase() !== signer.publicKey.y))
      ) {
        throw new KeystoreError("malformed", `key ${name}: its P-256 key is not the address or public key it lists`, {
          name,
          file,
        });
      }
      return signer;
    } catch (error) {
      if (error instanceof KeystoreError) throw error;
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

function walletSealable(wallet: Wallet | ReturnType<typeof Wallet.createRandom>): Sealable {
  return { address: wallet.address, curve: "secp256k1", encrypt: (passphrase) => wallet.encrypt(passphrase) };
}

/** What a keystore file says of itself, read without decrypting. */
function headerOf(json: string, file: string): { address: string; curve: Curve; publicKey?: P256PublicKey } {
  try {
    const parsed = JSON.parse(json) as { address?: unknown; curve?: unknown; publicKey?: P256PublicKey };
    if (typeof parsed.address !== "string") throw new Error("no address");
    const address = getAddress(parsed.address.startsWith("0x") ? parsed.address : `0x${parsed.address}`);
    if (parsed.curve === undefined) return { address, curve: "secp256k1" };
    if (parsed.curve !== P256_CURVE_FIELD) throw new Error("unknown curve");
    return { address, curve: "p256", ...(parsed.publicKey ? { publicKey: parsed.publicKey } : {}) };
  } catch {
    throw new KeystoreError("malformed", `${file} is not a keystore file`, { file });
  }
}
