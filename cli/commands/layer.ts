/**
 * `strata layer establish|run` and `strata edge run`: seed 003's layers as
 * services (docs/services.md, "Layer and edge nodes"). `establish` writes a
 * deployment's key files, object databases, ledgers and public file from a
 * plan; `run` starts one high-level layer member, or one edge layer's central
 * node, from a configuration file, prints one JSON ready line and runs until
 * SIGINT/SIGTERM.
 */
import type { Command } from "commander";

import { loadConfig } from "../../services/runtime/config.ts";
import { runUntilSignal } from "../../services/runtime/lifecycle.ts";
import { takePassphrase } from "../../services/runtime/secret-file.ts";
import { runEdgeService } from "../../services/layers/edge-service.ts";
import { establishLayers } from "../../services/layers/establish.ts";
import { runLayerService } from "../../services/layers/layer-service.ts";
import { type LayerPlanFile, PLAN_SCHEMA } from "../../services/layers/layout.ts";
import type { Context } from "../program.ts";
import { keystoreOf } from "./key.ts";

export function layerCommands(program: Command, ctx: Context): void {
  // `strata layer` also holds the registry's layer commands (device.ts): the seed 003 ones join them.
  const layer = (program.commands.find((c) => c.name() === "layer") ?? program.command("layer")).description(
    "layers: the namespaces devices register under, and seed 003's high-level layers",
  );

  layer
    .command("establish")
    .description(
      "deploy each planned layer's ledger on its chain, seal every member's and central node's key (one file each) and write the public file last",
    )
    .requiredOption("--plan <file>", "the plan: layers, their chains (rpc), member counts, superiors, edge layers")
    .requiredOption("--out <dir>", "where the key files, object databases and layers.json go (nothing overwritten)")
    .requiredOption("--key <name>", "the deployer's key in the keystore (funded on every chain of the plan)")
    .addHelpText(
      "after",
      "\nExample:\n  $ STRATA_PASSPHRASE=… strata layer establish --plan plan.json --out ./layers --key operator",
    )
    .action(async (o: { plan: string; out: string; key: string }) => {
      const plan = loadConfig<LayerPlanFile>(o.plan, PLAN_SCHEMA, "layer plan");
      // The keystore reads STRATA_PASSPHRASE itself; the sealed files take the same one, after it.
      const deployer = await keystoreOf(ctx).open(o.key);
      const passphrase = takePassphrase();
      const json = ctx.globals().json === true;
      const { file, layers } = await establishLayers({
        plan,
        out: o.out,
        deployer,
        passphrase,
        progress: (line) => {
          if (!json) ctx.io.stderr(`${line}\n`);
        },
      });
      ctx.done({
        json: { file, ...layers },
        lines: [
          `established ${layers.layers.length} layers and ${layers.edges.length} edge layers (${file}):`,
          ...layers.layers.map(
            (l) => `  ${l.address.padEnd(36)} chain ${l.chainId} ledger ${l.ledger} (${l.members.length} members)`,
          ),
          ...layers.edges.map((e) => `  ${e.address.padEnd(36)} central node ${e.node} under ${e.superior}`),
        ],
      });
    });

  layer
    .command("run")
    .description("run one member of a high-level layer (packets P and its peers' RPC over HTTP)")
    .requiredOption("--config <file>", "the member's configuration (layers file, layer, index, listen, network)")
    .addHelpText("after", "\nExample:\n  $ STRATA_PASSPHRASE=… strata layer run --config city-0.json")
    .action(async (o: { config: string }) => {
      const service = await runLayerService(o.config, takePassphrase());
      await runUntilSignal("layer", service.logger, service.close);
    });
}

export function edgeCommands(program: Command, _ctx: Context): void {
  const edge = program.command("edge").description("seed 003 edge layers: run a central node");
  edge
    .command("run")
    .description("run an edge layer's central node (its objects' contracts over HTTP, deliveries from its superior)")
    .requiredOption("--config <file>", "the central node's configuration (layers file, edge, listen, network)")
    .addHelpText("after", "\nExample:\n  $ STRATA_PASSPHRASE=… strata edge run --config crossing-1.json")
    .action(async (o: { config: string }) => {
      const service = await runEdgeService(o.config, takePassphrase());
      await runUntilSignal("edge", service.logger, service.close);
    });
}
