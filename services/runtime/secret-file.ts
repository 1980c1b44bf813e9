/**
 * Secrets of services at rest (key shares, account keys): one JSON file each, the value sealed
 * with AES-256-GCM under a key derived from a passphrase with scrypt, mode 0600, written
 * atomically (a temporary file renamed over), so a crash never leaves half a secret. A wrong
 * passphrase and a damaged file are both an `InvalidInputError` naming the file (GCM cannot
 * tell them apart, and neither opens).
 */
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from "node:crypto";
import { chmodSync, readFileSync, renameSync, writeFileSync } from "node:fs";

import { InvalidInputError } from "../../sdk/errors.ts";

/** The format version of a sealed file. */
export const SECRET_FILE_VERSION = 1;

/** scrypt's cost (N = 2^15, r = 8, p = 1: about 32 MiB and 0.1 s here). */
const SCRYPT = { N: 1 << 15, r: 8, p: 1 } as const;

interface SealedFile {
  readonly version: number;
  readonly kdf: {
    readonly name: "scrypt";
    readonly N: number;
    readonly r: number;
    readonly p: number;
    readonly salt: string;
  };
  readonly cipher: { readonly name: "aes-256-gcm"; readonly iv: string; readonly tag: string };
  readonly ciphertext: string;
}

function deriveKey(passphrase: string, salt: Buffer, N: number, r: number, p: number): Buffer {
  return scryptSync(passphrase.normalize("NFKC"), salt, 32, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 });
}

/** Writes `text` to `file` atomically with mode `mode`. */
export function writeFileAtomic(file: string, text: string, mode = 0o600): void {
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  writeFileSync(temporary, text, { mode, flag: "wx" });
  chmodSync(temporary, mode);
  renameSync(temporary, file);
}

/** Seals `value` (any JSON value) to `file` under `passphrase`. */
export function sealSecret(file: string, value: unknown, passphrase: string): void {
  if (passphrase.length === 0) throw new InvalidInputError("the passphrase is empty", { file });
  const salt = randomBytes(32);
  const iv = randomBytes(12);
  const key = deriveKey(passphrase, salt, SCRYPT.N, SCRYPT.r, SCRYPT.p);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(`strata-secret-v${SECRET_FILE_VERSION}`));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(value), "utf8"), cipher.final()]);
  const sealed: SealedFile = {
    version: SECRET_FILE_VERSION,
    kdf: { name: "scrypt", ...SCRYPT, salt: salt.toString("hex") },
    cipher: { name: "aes-256-gcm", iv: iv.toString("hex"), tag: cipher.getAuthTag().toString("hex") },
    ciphertext: ciphertext.toString("hex"),
  };
  writeFileAtomic(file, `${JSON.stringify(sealed, null, 2)}\n`);
}

const HEX = /^[0-9a-f]*$/;

/** Opens a file written by `sealSecret`. */
export function openSecret<T = unknown>(file: string, passphrase: string): T {
  let sealed: SealedFile;
  try {
    sealed = JSON.parse(readFileSync(file, "utf8")) as SealedFile;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InvalidInputError(
      code === undefined
        ? `${file}: the sealed secret is damaged (not JSON)`
        : `${file}: the sealed secret cannot be read (${code})`,
      { file },
    );
  }
  const ok =
    typeof sealed === "object" &&
    sealed !== null &&
    sealed.version === SECRET_FILE_VERSION &&
    sealed.kdf?.name === "scrypt" &&
    Number.isInteger(sealed.kdf.N) &&
    sealed.kdf.N >= 1 << 14 &&
    sealed.kdf.N <= 1 << 20 &&
    Number.isInteger(sealed.kdf.r) &&
    sealed.kdf.r >= 1 &&
    sealed.kdf.r <= 16 &&
    Number.isInteger(sealed.kdf.p) &&
    sealed.kdf.p >= 1 &&
    sealed.kdf.p <= 4 &&
    sealed.cipher?.name === "aes-256-gcm" &&
    [sealed.kdf.salt, sealed.cipher.iv, sealed.cipher.tag, sealed.ciphertext].every(
      (h) => typeof h === "string" && HEX.test(h),
    ) &&
    sealed.cipher.iv.length === 24 &&
    sealed.cipher.tag.length === 32;
  if (!ok)
    throw new InvalidInputError(
      `${file}: the sealed secret is damaged (not a version ${SECRET_FILE_VERSION} sealed file)`,
      { file },
    );
  const key = deriveKey(
    passphrase.normalize("NFKC"),
    Buffer.from(sealed.kdf.salt, "hex"),
    sealed.kdf.N,
    sealed.kdf.r,
    sealed.kdf.p,
  );
  const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(sealed.cipher.iv, "hex"));
  decipher.setAAD(Buffer.from(`strata-secret-v${SECRET_FILE_VERSION}`));
  decipher.setAuthTag(Buffer.from(sealed.cipher.tag, "hex"));
  let plain: Buffer;
  try {
    plain = Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, "hex")), decipher.final()]);
  } catch {
    throw new InvalidInputError(`${file}: the passphrase is wrong or the sealed secret is damaged`, { file });
  }
  return JSON.parse(plain.toString("utf8")) as T;
}

/** The environment variable a service reads its passphrase from. */
export const PASSPHRASE_ENV = "STRATA_PASSPHRASE";

let taken: string | undefined;

/**
 * The passphrase from `STRATA_PASSPHRASE`, read once and then removed from the environment (so
 * child processes and crash dumps of the environment do not carry it); later calls in the same
 * process get the same value.
 */
export function takePassphrase(): string {
  if (taken !== undefined) return taken;
  const value = process.env[PASSPHRASE_ENV];
  if (value === undefined || value.length === 0) {
    throw new InvalidInputError(`${PASSPHRASE_ENV} is not set: the service needs it to open its sealed secrets`, {
      variable: PASSPHRASE_ENV,
    });
  }
  delete process.env[PASSPHRASE_ENV];
  taken = value;
  return value;
}
