/**
 * Strata's main job as a story that runs through and exits, on the local deployment `npm start`
 * runs (services/local/deployment.ts): every role a process of its own, on loopback. First what
 * the running services did (`scripts/demo/services.ts`): a simulated NB-IoT device's readings
 * acquired from the base stations over HTTP and verified against the chain, an insider's edit of
 * a station's SQLite store caught by the next acquisition, the fog cluster's
 * open store and anchored sensitive batches. Then the registry (seed 001,
 * `scripts/demo/registry.ts`): a small city joins, a full node goes offline and its devices are
 * reassigned, a misbehaving meter is blocked, a forged registration is refused. Then the NB-IoT
 * data path (seed 000, `scripts/demo/nbiot.ts`) and Secuchain (seed 004,
 * `scripts/demo/secuchain.ts`) step by step, with their roles in this process (a rogue station and
 * a compromised fog node are staged there); these three move their chain's clock, so they run
 * on the Strata contracts of the second chain. Last, the multi-layer network on the running layer
 * and edge services (seed 003, `scripts/demo/layers-services.ts`): a contract from a van to a
 * traffic light through district A, the city and district B on two chains, a payment, a replay
 * refused; then the city's member processes are stopped, and district B's examining member finds
 * its superior lost over HTTP and raises the alarm with its peers. The deployment is stopped in
 * order at the end.
 *
 *   npm run demo
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { LOCAL_REGISTRY_RULES } from "../services/local/chain-setup.ts";
import { startLocalDeployment } from "../services/local/deployment.ts";
import { DEFAULT_SCALE } from "../services/local/scale.ts";
import { demoChain } from "./demo/chain.ts";
import { runLayersDemo, runLostSuperiorDemo } from "./demo/layers-services.ts";
import { runNbiotDemo } from "./demo/nbiot.ts";
import { runRegistryDemo } from "./demo/registry.ts";
import { runSecuchainDemo } from "./demo/secuchain.ts";
import { runServicesDemo } from "./demo/services.ts";

const LAYER = "strata://city/district-7/edge-3";
const step = (text: string): void => console.log(`\n▸ ${text}`);
const info = (text: string): void => console.log(`   ${text}`);

const started = Date.now();
const dir = mkdtempSync(join(tmpdir(), "strata-demo-"));
step("Starting a local deployment: every role a process of its own, on loopback");
// small and quick: a reading a second, so devices have moved between stations within the first minute
const scale = { ...DEFAULT_SCALE, devices: 3, sensors: 3, readingEveryMs: 1_000, batchEveryMs: 2_000 };
// district B's first member examines its peers and the city every 2 s or so (a lost node found)
const deployment = await startLocalDeployment({ dir, scale, examineEveryMs: 2_000 }).catch((error: unknown) => {
  // whatever had started is stopped already; its logs stay
  console.error(`\nThe deployment did not start: ${error instanceof Error ? error.message : String(error)}`);
  console.error(`logs: ${join(dir, "logs")}`);
  process.exit(1);
});
const { hardhat, anvil } = deployment.chains;
info(`chain ${hardhat.chainId}: hardhat node at ${hardhat.url}; chain ${anvil.chainId}: anvil at ${anvil.url}`);
info(
  `${deployment.supervisor.running.length} service processes: ${deployment.supervisor.running.map((r) => r.spec.name).join(", ")}`,
);
let failed = false;
try {
  await runServicesDemo({ deployment, step, info });
  // The scripted story moves its chain's clock (a missed heartbeat, a crew's shift ending): it runs
  // on the Strata contracts of the second chain, so the stations' chain keeps the machine's time.
  const chain = demoChain(anvil.provider);
  const [admin, operator] = [await chain.signer(0), await chain.signer(1)];
  const { client, cameras, localId } = await runRegistryDemo({
    chain,
    chainId: anvil.chainId,
    registryAddress: anvil.deployment.registry,
    cfg: LOCAL_REGISTRY_RULES,
    admin,
    operator,
    layer: LAYER,
    step,
    info,
  });
  let nextId = localId;
  const common = {
    provider: anvil.provider,
    anchorAddress: anvil.anchorAddress,
    client,
    admin,
    operator,
    coordinators: cameras,
    layer: LAYER,
    nextLocalId: () => ++nextId,
    step,
    info,
  };
  await runNbiotDemo(common);
  await runSecuchainDemo({ ...common, chain, accessTokensAddress: anvil.accessTokensAddress! });
  await runLayersDemo({ deployment, step, info });
  await runLostSuperiorDemo({ deployment, step, info });
} catch (error) {
  failed = true;
  console.error(error);
} finally {
  step("Stopping the deployment in order");
  const clean = await deployment.stop();
  info(clean ? "every process ended cleanly" : "a process did not end cleanly (logs kept)");
  if (clean) rmSync(dir, { recursive: true, force: true });
  else info(`logs: ${join(dir, "logs")}`);
  failed ||= !clean;
}
console.log(failed ? "\nFailed." : `\nDone in ${Math.round((Date.now() - started) / 1000)} s.`);
process.exit(failed ? 1 : 0);
