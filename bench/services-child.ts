/**
 * The child processes of the `services` benchmark group (bench/services.ts), so each measured
 * part runs in a process of its own, as it does in a deployment (issue 15, "Tests and figures"):
 *
 * - `station CONFIG`: a base station service (`startStation`, what `strata station run` calls)
 *   whose epoch keys come from an in-process PKG with the master secret in
 *   `STRATA_BENCH_MASTER` (hex), instead of from key servers: the bench's devices take their keys
 *   from the same PKG, which keeps 1,000 threshold key requests out of the set-up. Everything
 *   else is the service as deployed: CoAP on UDP, HTTP, the registry and `DataAnchor` on the
 *   chain node of the configuration, authentication checks on worker threads, the anchoring loop.
 * - `echo`: a bare CoAP server on UDP answering every POST with 2.04 and a receipt-sized payload
 *   — the transport's floor for the station's time to receipt.
 * - `memory`: a base station's store and ingest path fed one million readings
 *   (`services-memory.ts`); run with `--expose-gc`.
 *
 * Each prints one JSON ready line on stdout (`startProcess`); `memory` then prints its result line
 * and exits; the others run until SIGTERM.
 */
import { readFileSync } from "node:fs";

import { createServer } from "coap";

import { mclBackend } from "../sdk/core/crypto/backend.ts";
import { Pkg } from "../sdk/core/crypto/identity.ts";
import { pkgStationKeys } from "../sdk/core/nbiot/params.ts";
import { RECEIPT_BYTES } from "../sdk/core/nbiot/session.ts";
import { announceReady, runUntilSignal } from "../services/runtime/lifecycle.ts";
import { createLogger } from "../services/runtime/log.ts";
import type { StationConfig } from "../services/station/config.ts";
import { startStation } from "../services/station/service.ts";
import { feedStation } from "./services-memory.ts";

const [mode, arg] = process.argv.slice(2);

if (mode === "station") {
  const config = JSON.parse(readFileSync(arg!, "utf8")) as StationConfig;
  const master = process.env.STRATA_BENCH_MASTER;
  if (master === undefined) throw new Error("STRATA_BENCH_MASTER is not set");
  const passphrase = process.env.STRATA_PASSPHRASE ?? "";
  delete process.env.STRATA_BENCH_MASTER;
  delete process.env.STRATA_PASSPHRASE;
  const pkg = new Pkg(await mclBackend(), BigInt(master));
  const logger = createLogger("station", config.logLevel);
  const running = await startStation(config, {
    passphrase,
    masterPublic: pkg.masterPublic,
    keyProvider: () => ({ keys: pkgStationKeys(pkg, config.id), start: () => Promise.resolve(), stop: () => {} }),
    logger,
  });
  announceReady({ service: "station", url: running.http.url, coap: running.coap.url, id: running.id });
  await runUntilSignal("station", logger, () => running.close());
} else if (mode === "echo") {
  const server = createServer({ type: "udp4" });
  const receipt = Buffer.alloc(RECEIPT_BYTES, 7);
  server.on("request", (_req: unknown, res: { code: string; end(b: Buffer): void }) => {
    res.code = "2.04";
    res.end(receipt);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server as unknown as { _sock: { address(): { port: number } } })._sock.address().port;
  announceReady({ service: "echo", url: `coap://127.0.0.1:${port}` });
  await runUntilSignal("echo", createLogger("echo", "warn"), () => new Promise((r) => server.close(() => r())));
} else if (mode === "memory") {
  announceReady({ service: "memory" });
  const result = await feedStation((line) => console.log(JSON.stringify(line)));
  console.log(JSON.stringify({ result }));
  process.exit(0);
} else {
  throw new Error(`bench/services-child.ts: unknown mode ${mode}`);
}
