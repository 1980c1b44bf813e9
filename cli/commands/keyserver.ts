/**
 * `strata keyserver deal|run`: seed 000's PKG as t-of-n key-server processes (issue 15). `deal`
 * shares a fresh master key among n servers (each share sealed under STRATA_PASSPHRASE, the public
 * file last, all or nothing); `run` serves one share over HTTP to registered, Active devices
 * (services/keyserver/, docs/services.md "Key servers").
 */
import { InvalidArgumentError, type Command } from "commander";
import { isAddress } from "ethers";

import type { Hex } from "../../sdk/core/bytes.ts";
import { mclBackend } from "../../sdk/core/crypto/backend.ts";
import { InvalidInputError } from "../../sdk/errors.ts";
import { announceReady, runUntilSignal } from "../../services/runtime/lifecycle.ts";
import { takePassphrase } from "../../services/runtime/secret-file.ts";
import { dealKeyServers } from "../../services/keyserver/deal.ts";
import { startKeyServer } from "../../services/keyserver/server.ts";
import { checkAuditLog, loadKeyServerPublic } from "../../services/keyserver/client.ts";
import { rpcUrl } from "../chain.ts";
import { EXIT } from "../output.ts";
import type { Context } from "../program.ts";

function integer(what: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^[0-9]+$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new InvalidArgumentError(`${what} must be an integer in [${min}, ${max}]`);
    }
    return Number(value);
  };
}

export function keyServerCommands(program: Command, ctx: Context): void {
  const keyserver = program
    .command("keyserver")
    .description("the PKG as t-of-n key servers that issue identity keys to registered, Active devices");

  keyserver
    .command("deal")
    .description(
      "share a fresh master key among n key servers, t of which issue keys (shares sealed under STRATA_PASSPHRASE)",
    )
    .requiredOption("--servers <n>", "how many key servers", integer("--servers", 1, 1000))
    .requiredOption("--threshold <t>", "how many of them together issue a key", integer("--threshold", 1, 1000))
    .requiredOption("--out <dir>", "the folder to create: server-<i>.share, public.json (and server-<i>.json)")
    .option("--registry <address>", "the DeviceRegistry whose records decide who gets keys (writes server configs)")
    .option("--chain-id <id>", "the registry's chain (with --registry)")
    .option("--host <host>", "the servers' listen address (with --registry)", "127.0.0.1")
    .option(
      "--base-port <port>",
      "server i listens on port + i - 1 (0: any free port)",
      integer("--base-port", 0, 65535),
      0,
    )
    .option(
      "--key-epoch-ms <ms>",
      "the stations' key epoch (with --registry)",
      integer("--key-epoch-ms", 1000, 2 ** 52),
    )
    .addHelpText(
      "after",
      "\nExamples:\n  $ STRATA_PASSPHRASE=… strata keyserver deal --servers 3 --threshold 2 --out keyservers\n  $ STRATA_PASSPHRASE=… strata keyserver deal --servers 3 --threshold 2 --out keyservers --registry 0x… --chain-id 31337 --rpc http://127.0.0.1:8545",
    )
    .action(
      async (o: {
        servers: number;
        threshold: number;
        out: string;
        registry?: string;
        chainId?: string;
        host: string;
        basePort: number;
        keyEpochMs?: number;
      }) => {
        if (o.threshold > o.servers) {
          throw new InvalidInputError(`--threshold ${o.threshold} is more than --servers ${o.servers}`);
        }
        if ((o.registry === undefined) !== (o.chainId === undefined)) {
          throw new InvalidInputError("--registry and --chain-id go together");
        }
        if (o.registry !== undefined && !isAddress(o.registry)) {
          throw new InvalidInputError(`--registry ${o.registry}: not an address`);
        }
        if (o.chainId !== undefined && !/^[1-9][0-9]{0,77}$/.test(o.chainId)) {
          throw new InvalidInputError(`--chain-id ${o.chainId}: not a positive integer`);
        }
        const passphrase = takePassphrase();
        const dealt = dealKeyServers({
          backend: await mclBackend(),
          servers: o.servers,
          threshold: o.threshold,
          out: o.out,
          passphrase,
          ...(o.registry === undefined
            ? {}
            : {
                chain: {
                  rpc: rpcUrl(ctx.globals().rpc),
                  registry: o.registry,
                  chainId: BigInt(o.chainId!),
                  host: o.host,
                  basePort: o.basePort,
                  ...(o.keyEpochMs === undefined ? {} : { keyEpochMs: o.keyEpochMs }),
                },
              }),
        });
        ctx.done({
          json: {
            out: dealt.out,
            deployment: dealt.deployment,
            threshold: dealt.threshold,
            servers: dealt.servers,
            public: dealt.publicFile,
            shares: dealt.shareFiles,
            configs: dealt.configFiles,
          },
          lines: [
            `dealt ${dealt.threshold}-of-${dealt.servers} key servers, deployment ${dealt.deployment}`,
            `public file ${dealt.publicFile}`,
            ...dealt.shareFiles.map((f) => `share ${f}`),
            ...dealt.configFiles.map((f) => `config ${f}`),
          ],
        });
      },
    );

  keyserver
    .command("run")
    .description("serve one key share over HTTP (passphrase from STRATA_PASSPHRASE); prints a JSON ready line")
    .requiredOption("--config <file>", "the server's configuration file")
    .addHelpText("after", "\nExample:\n  $ STRATA_PASSPHRASE=… strata keyserver run --config keyservers/server-1.json")
    .action(async (o: { config: string }) => {
      const running = await startKeyServer(o.config, takePassphrase());
      running.logger.info({ url: running.url, server: running.server, deployment: running.deployment }, "listening");
      announceReady({
        service: "keyserver",
        url: running.url,
        port: running.port,
        server: running.server,
        deployment: running.deployment,
      });
      await runUntilSignal("keyserver", running.logger, () => running.close());
    });

  keyserver
    .command("audit")
    .description("read a key server's audit log and check its hash chain (exit 7 when it breaks)")
    .requiredOption("--url <url>", "the key server's base URL")
    .option("--from <seq:hash>", "a head read earlier: the log must still hold that hash at that entry")
    .option("--public <file>", "the dealing's public file: the server must belong to it")
    .addHelpText(
      "after",
      "\nExamples:\n  $ strata keyserver audit --url http://127.0.0.1:8601\n  $ strata keyserver audit --url http://127.0.0.1:8601 --public keyservers/public.json --from 42:0x…",
    )
    .action(async (o: { url: string; from?: string; public?: string }) => {
      let from: { seq: number; hash: Hex } | undefined;
      if (o.from !== undefined) {
        const m = /^(0|[1-9][0-9]{0,14}):(0x[0-9a-fA-F]{64})$/.exec(o.from);
        if (m === null) throw new InvalidInputError(`--from ${o.from}: expected <seq>:<32-byte hex hash>`);
        from = { seq: Number(m[1]), hash: m[2]!.toLowerCase() as Hex };
      }
      const deployment =
        o.public === undefined ? undefined : loadKeyServerPublic(await mclBackend(), o.public).deployment;
      const check = await checkAuditLog(o.url, {
        ...(from === undefined ? {} : { from }),
        ...(deployment === undefined ? {} : { deployment }),
      });
      ctx.done(
        {
          json: check,
          lines: [
            check.verified
              ? `audit log of server ${check.server} verifies: ${check.entries} entries (${check.issued} issued, ${check.refused} refused)`
              : `audit log of server ${check.server} BREAKS at entry ${check.brokenAt}`,
            `head ${check.head.seq}:${check.head.hash}`,
          ],
        },
        check.verified ? EXIT.ok : EXIT.invalid,
      );
    });
}
