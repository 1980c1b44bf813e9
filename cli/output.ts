/**
 * How the command speaks: one JSON document on stdout with `--json` (logs on stderr), readable
 * lines otherwise (colours only on a TTY); every failure one line and a documented exit code.
 */
import { styleText } from "node:util";

import {
  ConfigError,
  ContractRevertError,
  DeploymentIncompleteError,
  InvalidInputError,
  StrataError,
  TransportError,
} from "../sdk/index.ts";

/** Exit codes (docs/cli.md). */
export const EXIT = {
  ok: 0,
  /** Anything not classified below (a bug: please report it). */
  failure: 1,
  /** A command line the parser refused (unknown command or option, missing argument). */
  usage: 2,
  /** Bad input: an argument, option or file that is malformed or out of range, a path that cannot be read or written. */
  input: 3,
  /** The chain: a wrong network, no contract code, a node that fails or does not answer. */
  chain: 4,
  /** A contract refused the transaction (its custom error is named). */
  revert: 5,
  /** A key: missing, already there, or a missing or wrong passphrase. */
  key: 6,
  /** A proof that does not verify (`strata verify`): the failing check is named. */
  invalid: 7,
} as const;

export interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly isTty: boolean;
}

export const processIo: Io = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  isTty: process.stdout.isTTY === true,
};

/** What a command returns: the JSON document, and the lines a person reads. */
export interface Result {
  readonly json: unknown;
  readonly lines: readonly string[];
}

export function jsonText(value: unknown): string {
  return `${JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`;
}

export function print(io: Io, json: boolean, result: Result): void {
  if (json) io.stdout(jsonText(result.json));
  else for (const line of result.lines) io.stdout(`${line}\n`);
}

/** The exit code for an error. */
export function exitCodeOf(error: unknown): number {
  // a deployment that stopped part way (what got deployed is recorded) fails as its cause did
  if (error instanceof DeploymentIncompleteError) return exitCodeOf(error.cause);
  if (error instanceof ContractRevertError) return EXIT.revert;
  if (error instanceof StrataError && error.name === "KeystoreError") return EXIT.key;
  if (error instanceof InvalidInputError) return EXIT.input;
  if (error instanceof ConfigError || error instanceof TransportError) return EXIT.chain;
  if (error instanceof StrataError) return EXIT.input;
  return EXIT.failure;
}

/** The error as one line, or as a JSON error object with `--json`. */
export function report(io: Io, json: boolean, error: unknown): number {
  const code = exitCodeOf(error);
  const name = error instanceof Error ? error.name : "Error";
  const message =
    error instanceof StrataError
      ? error.shortMessage
      : error instanceof Error
        ? error.message.split("\n")[0]!
        : String(error);
  if (json) {
    const details = error instanceof StrataError ? error.details : {};
    io.stdout(jsonText({ error: { name, message, details, exitCode: code } }));
  } else {
    const label = io.isTty ? styleText("red", "error") : "error";
    io.stderr(`${label}: ${message} (${name})\n`);
  }
  return code;
}
