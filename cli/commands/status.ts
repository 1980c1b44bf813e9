/** `strata status`: the chain, the deployment's contracts and what they hold. */
import type { Command } from "commander";

import { artifactInterface, LogReader } from "../../sdk/index.ts";
import { AccessTokens, DataAnchor, DeviceRegistry } from "../../sdk/exports/artifacts.ts";
import type { ContractArtifact } from "../../sdk/exports/artifacts.ts";
import { connect, rpcUrl } from "../chain.ts";
import { deploymentOn, deploymentsPath, readDeployments } from "../deployments.ts";
import type { Context } from "../program.ts";

/** What each contract counts: the event that adds one. */
const COUNTED: readonly {
  name: "DeviceRegistry" | "DataAnchor" | "AccessTokens";
  artifact: ContractArtifact;
  event: string;
  label: string;
}[] = [
  { name: "DeviceRegistry", artifact: DeviceRegistry, event: "DeviceRegistered", label: "devices registered" },
  { name: "DataAnchor", artifact: DataAnchor, event: "Anchored", label: "batches anchored" },
  { name: "AccessTokens", artifact: AccessTokens, event: "AccessTokenMinted", label: "access tokens minted" },
];

export function statusCommand(program: Command, ctx: Context): void {
  program
    .command("status")
    .description("the chain, the deployment's contracts (code present?) and their counts")
    .addHelpText("after", "\nExample:\n  $ strata status --rpc http://127.0.0.1:8545 --json")
    .action(async () => {
      const globals = ctx.globals();
      const file = deploymentsPath(globals.deployments);
      const chain = await connect(rpcUrl(globals.rpc));
      try {
        const deployment = deploymentOn(await readDeployments(file), chain.chainId, file);
        const head = await chain.provider.getBlockNumber();
        const contracts = [];
        for (const { name, artifact, event, label } of COUNTED) {
          const c = deployment.contracts[name];
          if (!c) continue;
          const code = (await chain.provider.getCode(c.address)) !== "0x";
          let count: number | undefined;
          if (code) {
            const reader = new LogReader(c.address, () => chain.provider, { deploymentBlock: c.block });
            const topic = artifactInterface(artifact).getEvent(event)!.topicHash;
            count = (await reader.logs([topic], { fromBlock: c.block, toBlock: head })).length;
          }
          contracts.push({ name, address: c.address, block: c.block, code, count, counts: label });
        }
        ctx.done({
          json: { url: chain.url, chainId: chain.chainId, head, file, deployer: deployment.deployer, contracts },
          lines: [
            `chain ${chain.chainId} at ${chain.url}, block ${head}`,
            ...contracts.map(
              (c) =>
                `  ${c.name.padEnd(16)} ${c.address} ${c.code ? `${c.count} ${c.counts}` : "NO CODE (a reset chain? deploy again)"}`,
            ),
          ],
        });
      } finally {
        chain.provider.destroy();
      }
    });
}
