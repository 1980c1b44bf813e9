/**
 * Starts a JSON-RPC node as a separate process for integration tests and
 * stops it afterwards: `hardhat node` (the project's own config) or anvil.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

import { JsonRpcProvider } from "ethers";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface NodeProcess {
  readonly url: string;
  readonly provider: JsonRpcProvider;
  stop(): Promise<void>;
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

async function start(command: string, args: string[]): Promise<NodeProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(command, [...args, "--port", String(port)], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout?.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-20_000)));
  child.stderr?.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-20_000)));
  await waitForRpc(url, child, () => log);
  const provider = new JsonRpcProvider(url, undefined, { cacheTimeout: -1, polling: true, pollingInterval: 50 });
  return {
    url,
    provider,
    async stop() {
      provider.destroy();
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** `hardhat node --hostname 127.0.0.1` in its own process. */
export function startHardhatNode(): Promise<NodeProcess> {
  return start(process.execPath, [`${ROOT}/node_modules/hardhat/dist/src/cli.js`, "node", "--hostname", "127.0.0.1"]);
}

/** anvil (Foundry, from the `@foundry-rs/anvil` package) in its own process, on chain `chainId` (default 31337). */
export function startAnvil(chainId = 31337n): Promise<NodeProcess> {
  return start(process.execPath, [
    `${ROOT}/node_modules/@foundry-rs/anvil/bin.mjs`,
    "--host",
    "127.0.0.1",
    "--silent",
    "--hardfork",
    "osaka",
    "--chain-id",
    String(chainId),
  ]);
}
