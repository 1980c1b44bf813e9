/** Runs the `strata` command as a child process, as an operator would (plain `node`). */
import { execFile } from "node:child_process";
import path from "node:path";

import { Ajv } from "ajv";

import { ERROR_SCHEMA, OUTPUT_SCHEMAS } from "../../cli/schemas.ts";

const CLI = path.resolve(import.meta.dirname, "../../cli/strata.ts");

/** anvil's first development accounts: funded keys for the tests only. */
export const ANVIL_KEYS = [
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
] as const;

export const PASSPHRASE = "correct horse battery";

export interface CliRun {
  /** The command run (`device show`, …), when it has an output schema. */
  readonly command?: string | undefined;
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A `strata` bound to a folder: its keystore and deployment file live there. */
export function strataIn(dir: string, stdin?: string) {
  return (args: readonly string[], env: Record<string, string | undefined> = {}, input = stdin): Promise<CliRun> =>
    new Promise((resolve) => {
      const childEnv: NodeJS.ProcessEnv = { ...process.env, STRATA_PASSPHRASE: PASSPHRASE, ...env };
      delete childEnv.NODE_OPTIONS;
      for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
      const child = execFile(
        process.execPath,
        [CLI, "--keystore", path.join(dir, "keys"), "--deployments", path.join(dir, "deployments.json"), ...args],
        { cwd: dir, env: childEnv },
        (error, stdout, stderr) =>
          resolve({
            command: commandOf(args),
            code: error ? ((error as { code?: number }).code ?? 1) : 0,
            stdout,
            stderr,
          }),
      );
      child.stdin?.end(input ?? "");
    });
}

const ajv = new Ajv({ allErrors: true, strict: false });
const validators = new Map(Object.entries(OUTPUT_SCHEMAS).map(([command, schema]) => [command, ajv.compile(schema)]));
const errorValidator = ajv.compile(ERROR_SCHEMA);

/** The command a `strata` argument list runs (`device show`, `anchor` …), global options left out. */
function commandOf(args: readonly string[]): string | undefined {
  const words: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (["--rpc", "--keystore", "--deployments"].includes(a)) i += 1;
    else if (!a.startsWith("-")) words.push(a);
  }
  for (const n of [2, 1]) {
    const name = words.slice(0, n).join(" ");
    if (validators.has(name)) return name;
  }
  return undefined;
}

/**
 * The JSON document a `--json` run printed, validated against the command's schema (or the error
 * schema when it failed): a document that does not match fails the test.
 */
export const jsonOf = (run: CliRun): Record<string, unknown> => {
  const doc = JSON.parse(run.stdout) as Record<string, unknown>;
  const validate =
    "error" in doc ? errorValidator : run.command === undefined ? undefined : validators.get(run.command);
  if (validate && !validate(doc)) {
    throw new Error(`${run.command ?? "error"} output does not match its schema: ${ajv.errorsText(validate.errors)}`);
  }
  return doc;
};

export const errorOf = (run: CliRun) =>
  (jsonOf(run) as { error: { name: string; message: string; exitCode: number } }).error;
