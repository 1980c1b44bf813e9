/** Runs the `strata` command as a child process, as an operator would (plain `node`). */
import { execFile } from "node:child_process";
import path from "node:path";

const CLI = path.resolve(import.meta.dirname, "../../cli/strata.ts");

/** anvil's first development accounts: funded keys for the tests only. */
export const ANVIL_KEYS = [
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
] as const;

export const PASSPHRASE = "correct horse battery";

export interface CliRun {
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
          resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
      child.stdin?.end(input ?? "");
    });
}

export const jsonOf = (run: CliRun): Record<string, unknown> => JSON.parse(run.stdout) as Record<string, unknown>;

export const errorOf = (run: CliRun) =>
  (jsonOf(run) as { error: { name: string; message: string; exitCode: number } }).error;
