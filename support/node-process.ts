/**
 * Starts a JSON-RPC node as a separate process for integration tests and
 * stops it afterwards: `hardhat node` (the project's own config) or anvil.
 * A node can also be halted and restarted at the same URL, its provider kept:
 * anvil started with a state file writes its chain there when it exits and
 * loads it again when it starts, so the restarted node serves the same chain.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

import { JsonRpcProvider } from "ethers";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

export interface NodeProcess {
  readonly url: string;
  readonly provider: JsonRpcProvider;
  /** Stops the node for good and destroys its provider. */
  stop(): Promise<void>;
  /**
   * Stops the node's process (SIGINT, waiting for it to exit, so anvil writes
   * its state file) but keeps `url` and `provider`: calls fail until `restart`.
   */
  halt(): Promise<void>;
  /**
   * Starts the node again on the same port, halting it first if it runs, and
   * waits until it answers. With `fresh`, anvil's state file is ignored and
   * overwritten: a new chain with the same chain id (the node's data lost).
   */
  restart(options?: { fresh?: boolean }): Promise<void>;
  /** The running process's id. */
  readonly pid: number | undefined;
  /** Resolves when the running process ends, by any cause (its exit code or signal). */
  exited(): Promise<number | string>;
}

/** A free TCP port on the loopback interface. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

async function waitForRpc(url: string, child: ChildProcess, output: () => string, timeoutMs = 60_000): Promise<void> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (child.exitCode !== null) throw new Error(`node exited with ${child.exitCode}:\n${output()}`);
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`node did not answer at ${url} within ${timeoutMs} ms:\n${output()}`);
}

/**
 * Sends `signal` to `child` (to its whole process group when it was started `detached`) and waits
 * for it to exit, killing it after `graceMs`; a detached child has ended only when its group has.
 */
async function terminate(
  child: ChildProcess,
  signal: NodeJS.Signals,
  graceMs = 10_000,
  detached = false,
): Promise<void> {
  const send = (sig: NodeJS.Signals) => {
    try {
      if (detached && child.pid !== undefined) process.kill(-child.pid, sig);
      else child.kill(sig);
    } catch {
      // already gone
    }
  };
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    send(signal);
    const timer = setTimeout(() => send("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  }
  if (!detached || child.pid === undefined) return;
  const deadline = Date.now() + graceMs;
  for (;;) {
    try {
      process.kill(-child.pid, 0);
    } catch {
      return;
    }
    if (Date.now() > deadline) {
      send("SIGKILL"); // a process in a system call ends a moment after its SIGKILL
      if (Date.now() > deadline + 10_000) return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Runs `command args --port <port>` (a free port unless given); `args(fresh)`
 * gives the arguments of each start, `fresh` being true for a restart asked
 * to drop the node's state.
 */
async function start(
  command: string,
  args: (fresh: boolean) => string[],
  fixedPort?: number,
  detached = false,
): Promise<NodeProcess> {
  const port = fixedPort ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  let log = "";
  async function spawnNode(fresh: boolean): Promise<ChildProcess> {
    const child = spawn(command, [...args(fresh), "--port", String(port)], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      detached,
    });
    child.stdout?.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-20_000)));
    child.stderr?.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-20_000)));
    try {
      await waitForRpc(url, child, () => log);
    } catch (error) {
      await terminate(child, "SIGKILL", 1_000, detached);
      throw error;
    }
    return child;
  }
  let child = await spawnNode(false);
  const provider = new JsonRpcProvider(url, undefined, { cacheTimeout: -1, polling: true, pollingInterval: 50 });
  const halt = () => terminate(child, "SIGINT", 10_000, detached);
  return {
    url,
    provider,
    halt,
    get pid() {
      return child.pid;
    },
    exited: () =>
      child.exitCode !== null || child.signalCode !== null
        ? Promise.resolve(child.exitCode ?? child.signalCode ?? "unknown")
        : new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown"))),
    async restart({ fresh = false } = {}) {
      await halt();
      child = await spawnNode(fresh);
    },
    async stop() {
      provider.destroy();
      await terminate(child, "SIGTERM", 10_000, detached);
    },
  };
}

/** Where and how a node process runs. */
export interface NodeOptions {
  /** The port to listen on (default: a free one). */
  readonly port?: number;
  /**
   * In a process group of its own, so a terminal's Ctrl-C (sent to the whole foreground group)
   * does not reach it: its starter stops it when it chooses (`npm start` stops the chains last).
   */
  readonly detached?: boolean;
}

/** Where and how `hardhat node` runs. */
export interface HardhatNodeOptions extends NodeOptions {
  /** The network of the Hardhat configuration it simulates (default: `default`). */
  readonly network?: string;
}

/** `hardhat node --hostname 127.0.0.1` in its own process. */
export function startHardhatNode(options: HardhatNodeOptions = {}): Promise<NodeProcess> {
  const network = options.network === undefined ? [] : ["--network", options.network];
  return start(
    process.execPath,
    () => [`${ROOT}/node_modules/hardhat/dist/src/cli.js`, ...network, "node", "--hostname", "127.0.0.1"],
    options.port,
    options.detached,
  );
}

/**
 * The anvil binary of the platform's `@foundry-rs/anvil-*` package, run
 * directly: the package's `bin.mjs` wrapper exits on a signal without waiting
 * for anvil, which may still be writing its state file. Falls back to the wrapper.
 */
function anvilCommand(): [string, string[]] {
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  try {
    const binary = createRequire(`${ROOT}/package.json`).resolve(
      `@foundry-rs/anvil-${process.platform}-${arch}/bin/anvil${process.platform === "win32" ? ".exe" : ""}`,
    );
    if (existsSync(binary)) return [binary, []];
  } catch {
    // no platform package: the wrapper finds the binary
  }
  return [process.execPath, [`${ROOT}/node_modules/@foundry-rs/anvil/bin.mjs`]];
}

export interface AnvilOptions extends NodeOptions {
  /**
   * anvil's `--state`: the chain is loaded from this file at start, if it
   * exists, and written to it on exit (with the states of past blocks,
   * `--preserve-historical-states`), so `restart()` serves the same chain.
   */
  readonly stateFile?: string;
}

/** anvil (Foundry, from the `@foundry-rs/anvil` package) in its own process, on chain `chainId` (default 31337). */
export function startAnvil(chainId = 31337n, options: AnvilOptions = {}): Promise<NodeProcess> {
  const [command, prefix] = anvilCommand();
  const { stateFile } = options;
  return start(
    command,
    (fresh) => [
      ...prefix,
      "--host",
      "127.0.0.1",
      "--silent",
      "--hardfork",
      "osaka",
      "--chain-id",
      String(chainId),
      // with the states of past blocks, as a real node keeps them across a restart: without them
      // a call pinned to a block before the restart (a final block's head) fails
      ...(stateFile === undefined
        ? []
        : [...(fresh ? ["--dump-state", stateFile] : ["--state", stateFile]), "--preserve-historical-states"]),
    ],
    options.port,
    options.detached,
  );
}
