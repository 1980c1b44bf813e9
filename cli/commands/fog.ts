/**
 * `strata fog deal`, `strata fog register` and `strata fog run`: a Secuchain fog cluster (seed 004)
 * as services. `deal` makes the cluster's threshold key and the data owner's filter keys, sealed
 * one file per member (services/fog/keys.ts); `register` registers the dealt cluster in
 * `DataAnchor` (services/fog/register.ts); `run` starts one member (services/fog/service.ts)
 * until SIGINT/SIGTERM.
 */
import type { Command } from "commander";
import type { Signer } from "ethers";

import type { Hex } from "../../sdk/core/bytes.ts";
import { mclBackend } from "../../sdk/core/crypto/backend.ts";
import { DataAnchorClient } from "../../sdk/contracts/anchor.ts";
import { ClusterRegistrationConflictError, InvalidInputError } from "../../sdk/errors.ts";
import { loadFogConfig } from "../../services/fog/config.ts";
import { dealCluster, readPublic } from "../../services/fog/keys.ts";
import { registerDealt } from "../../services/fog/register.ts";
import { startFogService } from "../../services/fog/service.ts";
import { announceReady, runUntilSignal } from "../../services/runtime/lifecycle.ts";
import { createLogger } from "../../services/runtime/log.ts";
import { takePassphrase } from "../../services/runtime/secret-file.ts";
import { withContract } from "../contracts.ts";
import type { Context } from "../program.ts";
import { keystoreOf } from "./key.ts";

const integer = (what: string) => (v: string) => {
  if (!/^[0-9]{1,3}$/.test(v)) throw new InvalidInputError(`${what} must be a whole number`, { value: v });
  return Number(v);
};

/** A comma-separated list of registry ids. */
function idsOf(option: string, value: string): Hex[] {
  const ids = value.split(",").map((v) => v.trim());
  for (const id of ids) {
    if (!/^0x[0-9a-fA-F]{64}$/.test(id))
      throw new InvalidInputError(`${option}: ${id} is not a registry id (32 bytes, hex)`);
  }
  return ids.map((id) => id.toLowerCase() as Hex);
}

export function fogCommands(program: Command, ctx: Context): void {
  const fog = program.command("fog").description("a fog cluster (seed 004): key dealing and member services");

  fog
    .command("deal")
    .description("deal a cluster's threshold key and filter keys: one sealed file per member, the public file last")
    .requiredOption("--out <dir>", "the folder the files are written to")
    .requiredOption("--members <n>", "the number of members", integer("--members"))
    .requiredOption("--threshold <t>", "the shares a batch needs", integer("--threshold"))
    .addHelpText(
      "after",
      "\nExample:\n  $ STRATA_PASSPHRASE=… strata fog deal --out cluster/ --members 5 --threshold 3",
    )
    .action(async (o: { out: string; members: number; threshold: number }) => {
      const passphrase = takePassphrase();
      const dealt = dealCluster(await mclBackend(), o.out, o.threshold, o.members, passphrase);
      ctx.done({
        json: { files: dealt.files, public: dealt.public },
        lines: [`dealt a ${o.threshold}-of-${o.members} cluster:`, ...dealt.files.map((f) => `  ${f}`)],
      });
    });

  fog
    .command("register")
    .description(
      "register a dealt cluster in DataAnchor: each member's key approves, the dealt shares prove the group key, the cluster's key sends",
    )
    .requiredOption(
      "--public <file>",
      "the cluster's public file from `strata fog deal` (the shares are read beside it)",
    )
    .requiredOption("--cluster <id>", "the cluster's registry id")
    .requiredOption("--members <ids>", "the members' registry ids in share order, comma-separated")
    .requiredOption("--key <name>", "the cluster's registry key (keystore): it sends the registration")
    .requiredOption("--member-keys <names>", "each member's registry key (keystore) in share order, comma-separated")
    .option("--rekey", "register a cluster held with another key again, at its next epoch (a re-dealt key)")
    .addHelpText(
      "after",
      "\nExample:\n  $ STRATA_PASSPHRASE=… strata fog register --public cluster/cluster.json --cluster 0x… \\\n" +
        "      --members 0x…,0x…,0x… --key fog-cluster --member-keys fog-1,fog-2,fog-3",
    )
    .action(
      async (o: {
        public: string;
        cluster: string;
        members: string;
        key: string;
        memberKeys: string;
        rekey?: true;
      }) => {
        const [cluster] = idsOf("--cluster", o.cluster);
        const members = idsOf("--members", o.members);
        const keyNames = o.memberKeys.split(",").map((v) => v.trim());
        if (keyNames.length !== members.length) {
          throw new InvalidInputError(`--member-keys: ${keyNames.length} keys for ${members.length} members`);
        }
        readPublic(o.public); // a bad public file is refused before any key is opened
        const registered = await withContract(ctx, "DataAnchor", o.key, async (b) => {
          const keystore = keystoreOf(ctx);
          const memberKeys = [];
          for (const name of keyNames) memberKeys.push(await keystore.open(name));
          const client = new DataAnchorClient(b.address, b.runner, {
            chainId: b.chain.chainId,
            deploymentBlock: b.block,
          });
          // the keystore's keys are open: the sealed shares take the same passphrase, once
          const passphrase = takePassphrase();
          const r = await registerDealt({
            publicFile: o.public,
            passphrase,
            cluster: cluster!,
            members,
            client,
            clusterKey: b.runner as Signer,
            memberKeys,
            ...(o.rekey === undefined ? {} : { rekey: true }),
          });
          if (!r.sent) throw new ClusterRegistrationConflictError(r, r);
          return r;
        });
        ctx.done({
          json: {
            cluster: registered.cluster,
            epoch: registered.epoch,
            threshold: registered.threshold,
            members: registered.members,
            groupKey: registered.groupKey,
            since: registered.since.toString(),
            tx: registered.hash,
            block: registered.blockNumber,
          },
          lines: [
            `registered fog cluster ${registered.cluster} (epoch ${registered.epoch}, ${registered.threshold} of ${registered.members.length})`,
            `  tx ${registered.hash} in block ${registered.blockNumber}`,
          ],
        });
      },
    );

  fog
    .command("run")
    .description("run a fog cluster member: MQTT intake, PEKS filter, open store and sign-share rounds over HTTP")
    .requiredOption("--config <file>", "the member's configuration (JSON)")
    .addHelpText("after", "\nExample:\n  $ STRATA_PASSPHRASE=… strata fog run --config fog-1.json")
    .action(async (o: { config: string }) => {
      const config = loadFogConfig(o.config);
      const passphrase = takePassphrase();
      const logger = createLogger(`fog-${config.index}`);
      const service = await startFogService(config, passphrase, logger);
      announceReady({ service: "fog", index: config.index, url: service.url, mqtt: service.mqtt ?? null });
      await runUntilSignal(`fog member ${config.index}`, logger, () => service.close());
    });
}
