/**
 * `strata deploy`: Strata's contracts on the chain at `--rpc`, idempotent per chain id: a chain
 * whose deployment in the file still has its code is left as it is.
 */
import { type Command, Option } from "commander";

import { InvalidInputError, NoCodeError } from "../../sdk/index.ts";
import { DEFAULT_REGISTRY_RULES, deployStrata, type StrataContract } from "../../sdk/exports/deploy.ts";
import { connect, rpcUrl } from "../chain.ts";
import { deploymentsPath, readDeployments, writeDeployments } from "../deployments.ts";
import type { Context } from "../program.ts";
import { keystoreOf } from "./key.ts";

const RULES = Object.keys(DEFAULT_REGISTRY_RULES) as (keyof typeof DEFAULT_REGISTRY_RULES)[];

function integer(name: string): (value: string) => number {
  return (value) => {
    if (!/^[0-9]+$/.test(value))
      throw new InvalidInputError(`--${name}: expected a non-negative integer, got ${value}`);
    return Number(value);
  };
}

const kebab = (s: string): string => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

export function deployCommand(program: Command, ctx: Context): void {
  const command = program
    .command("deploy")
    .description("deploy DeviceRegistry, DataAnchor and AccessTokens (once per chain) and record them")
    .requiredOption("--key <name>", "the deployer's key in the keystore")
    .option("--force", "deploy again even if the file has a deployment for this chain");
  for (const rule of RULES) {
    command.addOption(
      new Option(`--${kebab(rule)} <n>`, `registry rule ${rule} (default ${DEFAULT_REGISTRY_RULES[rule]})`).argParser(
        integer(kebab(rule)),
      ),
    );
  }
  command
    .addHelpText(
      "after",
      "\nExample:\n  $ strata deploy --key operator --rpc http://127.0.0.1:8545 --full-node-approvals 3",
    )
    .action(async (options: Record<string, unknown>) => {
      const globals = ctx.globals();
      const file = deploymentsPath(globals.deployments);
      const doc = await readDeployments(file);
      const chain = await connect(rpcUrl(globals.rpc));
      const existing = doc.chains[chain.chainId.toString()];
      if (existing && options.force !== true) {
        const missing = [];
        for (const [name, c] of Object.entries(existing.contracts)) {
          if ((await chain.provider.getCode(c.address)) === "0x") missing.push(name);
        }
        if (missing.length > 0) {
          throw new NoCodeError(
            `${file} records a deployment on chain ${chain.chainId} whose ${missing.join(", ")} has no code (a reset chain?): use --force`,
            { chainId: chain.chainId, missing },
          );
        }
        chain.provider.destroy();
        ctx.done({
          json: {
            chainId: chain.chainId,
            deployed: false,
            file,
            deployer: existing.deployer,
            contracts: existing.contracts,
          },
          lines: [`already deployed on chain ${chain.chainId} (${file}); nothing sent`],
        });
        return;
      }
      const rules: Record<string, number> = {};
      for (const rule of RULES) if (options[rule] !== undefined) rules[rule] = options[rule] as number;
      const signer = (await keystoreOf(ctx).open(String(options.key))).connect(chain.provider);
      if (!globals.json) ctx.io.stderr(`deploying Strata on chain ${chain.chainId} from ${signer.address}…\n`);
      const deployment = await deployStrata(signer, { rules });
      await writeDeployments(file, {
        version: doc.version,
        chains: {
          ...doc.chains,
          [chain.chainId.toString()]: {
            chainId: chain.chainId,
            deployer: deployment.deployer,
            contracts: deployment.contracts,
          },
        },
      });
      chain.provider.destroy();
      const names = Object.keys(deployment.contracts) as StrataContract[];
      ctx.done({
        json: {
          chainId: chain.chainId,
          deployed: true,
          file,
          deployer: deployment.deployer,
          contracts: deployment.contracts,
        },
        lines: [
          `deployed on chain ${chain.chainId} (recorded in ${file}):`,
          ...names.map(
            (n) => `  ${n.padEnd(16)} ${deployment.contracts[n]!.address} (block ${deployment.contracts[n]!.block})`,
          ),
        ],
      });
    });
}
