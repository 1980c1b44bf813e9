/**
 * Strata's main job as a story that runs through and exits, on a local deployment whose roles are
 * processes talking over loopback (services/local/deployment.ts, what `npm start` runs): a small
 * city joins the device registry (seed 001 labels, coordination, serving full nodes), a full node
 * goes offline and its devices are reassigned, a misbehaving meter is reported until it is
 * blocked, and a forged registration is refused (`scripts/demo/registry.ts`). Then the NB-IoT data
 * path (seed 000, `scripts/demo/nbiot.ts`): a sensor crossing three base stations, anchoring,
 * verified acquisition, accountability, tampering. Then Secuchain (seed 004,
 * `scripts/demo/secuchain.ts`): fog filtering, sign shares, an anchored sensitive batch, and
 * access tokens with crew shifts. Then the multi-layer network (seed 003,
 * `scripts/demo/layers.ts`): a van and a traffic light in two edge layers under district layers
 * on the first chain and a city layer on the second: a contract, a payment, a replay caught, a
 * lost node found by self-examination. The deployment is stopped in order at the end.
 *
 *   npm run demo
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import type { Signer } from "ethers";

import { LOCAL_REGISTRY_RULES } from "../services/local/chain-setup.ts";
import { startLocalDeployment } from "../services/local/deployment.ts";
import { DEFAULT_SCALE } from "../services/local/scale.ts";
import { demoChain } from "./demo/chain.ts";
import { runLayersDemo } from "./demo/layers.ts";
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
const deployment = await startLocalDeployment({ dir, scale });
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
  await runLayersDemo({
    accounts: async (layer): Promise<Signer[]> => {
      const on = layer === "city" ? anvil : hardhat;
      const accounts: Signer[] = [];
      for (let i = 0; i < 12; i++) accounts.push(await on.funded("100"));
      return accounts;
    },
    step,
    info,
  });
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
