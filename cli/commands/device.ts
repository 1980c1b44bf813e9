/**
 * `strata layer set-operator`, `strata device register|appoint|approve|show|history`: devices and
 * gateways in `DeviceRegistry`, each key from the encrypted keystore. A device's own key signs its
 * registration (EIP-712); the layer's operator sends it.
 */
import { readFile } from "node:fs/promises";

import type { HDNodeWallet, Wallet } from "ethers";

import { type Command, Option } from "commander";

import {
  checkLayer,
  type CompactSignature,
  ContractRevertError,
  deviceId as sdkDeviceId,
  fromHex,
  type Hex,
  InvalidInputError,
} from "../../sdk/index.ts";
import { parseBatch } from "../batch.ts";
import {
  isP256Signer,
  buildRegistration,
  DeviceRegistryClient,
  Kind,
  Label,
  minimalProfile,
  Status,
} from "../../sdk/exports/registry.ts";
import { type Chain, connect, rpcUrl } from "../chain.ts";
import { deploymentOn, deploymentsPath, readDeployments } from "../deployments.ts";
import type { Context } from "../program.ts";
import { keystoreOf } from "./key.ts";

const KINDS = Object.keys(Kind).map((k) => k.replace(/[A-Z]/g, (c, i: number) => (i ? "-" : "") + c.toLowerCase()));
const LABELS = Object.keys(Label).map((k) => k.toLowerCase());
const nameOf = <T extends Record<string, number>>(table: T, value: number): string =>
  Object.entries(table).find(([, v]) => v === value)?.[0] ?? String(value);

/** The registry's id of a device registered as `localId` under `layer`. */
function deviceIdOf(layer: string, localId: bigint): Hex {
  return sdkDeviceId({ layer, localId }).toLowerCase() as Hex;
}

function deviceId(value: string, what: string): Hex {
  fromHex(value, what, 32);
  return value.toLowerCase() as Hex;
}

/** The registry client on the chain at `--rpc`, through `runner` (a key) or read-only. */
async function registryOn(ctx: Context): Promise<{ chain: Chain; address: string; block: number }> {
  const globals = ctx.globals();
  const file = deploymentsPath(globals.deployments);
  const chain = await connect(rpcUrl(globals.rpc));
  const registry = deploymentOn(await readDeployments(file), chain.chainId, file).contracts.DeviceRegistry;
  if (!registry) throw new InvalidInputError(`${file}: no DeviceRegistry on chain ${chain.chainId}`);
  return { chain, address: registry.address, block: registry.block };
}

async function withRegistry<T>(
  ctx: Context,
  keyName: string | undefined,
  work: (client: DeviceRegistryClient, sender: string | undefined) => Promise<T>,
): Promise<T> {
  const { chain, address, block } = await registryOn(ctx);
  try {
    const key = keyName === undefined ? undefined : (await keystoreOf(ctx).open(keyName)).connect(chain.provider);
    const options = { chainId: chain.chainId, deploymentBlock: block };
    return await work(new DeviceRegistryClient(address, key ?? chain.provider, options), key?.address);
  } finally {
    chain.provider.destroy();
  }
}

export function deviceCommands(program: Command, ctx: Context): void {
  program
    .command("layer")
    .description("layers: the namespaces devices register under")
    .command("set-operator")
    .description("name the account that sends a layer's registrations (the registry's admin only)")
    .argument("<layer>", "the layer's address, e.g. strata://city")
    .argument("<operator>", "the operator's account")
    .requiredOption("--key <name>", "the registry admin's key")
    .addHelpText("after", "\nExample:\n  $ strata layer set-operator strata://city 0x… --key admin")
    .action(async (layer: string, operator: string, options: { key: string }) => {
      const tx = await withRegistry(ctx, options.key, (c) => c.setLayerOperator(layer, operator));
      ctx.done({
        json: { layer, operator, transaction: tx.hash },
        lines: [`${layer}: operator ${operator} (${tx.hash})`],
      });
    });

  const device = program.command("device").description("devices and gateways in the registry");

  device
    .command("register")
    .description("register a device: its own key signs the registration, the layer's operator sends it")
    .requiredOption("--key <name>", "the device's key (signs its registration)")
    .requiredOption("--operator-key <name>", "the layer operator's key (sends it, and owns the device)")
    .requiredOption("--layer <address>", "the layer, e.g. strata://city")
    .requiredOption("--local-id <n>", "the device's number within the layer")
    .addOption(new Option("--kind <kind>", "what it is").choices(KINDS).default("device"))
    .addOption(new Option("--label <label>", "its label").choices(LABELS).default("lightweight"))
    .option("--class <path>", "its hardware class path", "device")
    .option("--permissions <n>", "its permissions bitmap", "1")
    .addHelpText(
      "after",
      "\nExample:\n  $ strata device register --key bs-7 --operator-key operator --layer strata://city --local-id 7 --kind base-station --label full",
    )
    .action(async (o: Record<string, string>) => {
      if (!/^[0-9]+$/.test(o.localId!))
        throw new InvalidInputError(`--local-id: expected a non-negative integer, got ${o.localId}`);
      if (!/^[0-9]+$/.test(o.permissions!) || BigInt(o.permissions!) > 2n ** 32n - 1n)
        throw new InvalidInputError(`--permissions: expected an integer from 0 to 4294967295, got ${o.permissions}`);
      const kind = Object.values(Kind)[KINDS.indexOf(o.kind!)]!;
      const label = Object.values(Label)[LABELS.indexOf(o.label!)]!;
      const deviceKey = await keystoreOf(ctx).openDeviceKey(o.key!);
      const result = await withRegistry(ctx, o.operatorKey, async (client, operator) => {
        const request = buildRegistration({
          uuid: { layer: o.layer!, localId: BigInt(o.localId!) },
          key: deviceKey.address,
          kind,
          label,
          permissions: Number(o.permissions),
          profile: minimalProfile(o.class!),
          deadline: BigInt(Math.floor(Date.now() / 1000) + 3600),
        });
        if (!isP256Signer(deviceKey)) {
          return client.register(request, await client.signRegistration(deviceKey, request, operator!));
        }
        // A P-256 key (a secure element): checked on chain through the EIP-7951 precompile.
        const sig = await client.signRegistrationP256(deviceKey, request, operator!);
        return client.registerP256(request, deviceKey.publicKey, sig);
      });
      const curve = isP256Signer(deviceKey) ? "p256" : "secp256k1";
      ctx.done({
        json: { id: result.id, key: deviceKey.address, curve, transaction: result.hash, status: "Pending" },
        lines: [`registered ${result.id} (${curve} key ${deviceKey.address}), Pending`, `transaction ${result.hash}`],
      });
    });

  device
    .command("register-batch")
    .description("register many devices from a CSV or JSON file; reported per row, and resumable")
    .argument("<file>", "devices: .csv (key,local_id,kind,label,class,permissions) or .json")
    .requiredOption("--operator-key <name>", "the layer operator's key")
    .requiredOption("--layer <address>", "the layer, e.g. strata://city")
    .addHelpText(
      "after",
      "\nExample:\n  $ strata device register-batch fleet.csv --operator-key operator --layer strata://city\n  (run it again after a failure: registered rows are skipped)",
    )
    .action(async (file: string, o: { operatorKey: string; layer: string }) => {
      let text: string;
      try {
        text = await readFile(file, "utf8");
      } catch (error) {
        throw new InvalidInputError(
          `${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
        );
      }
      const rows = parseBatch(text, file);
      for (const r of rows) {
        if (!KINDS.includes(r.kind))
          throw new InvalidInputError(`${file} row ${r.row}, kind: one of ${KINDS.join(", ")}`);
        if (!LABELS.includes(r.label))
          throw new InvalidInputError(`${file} row ${r.row}, label: one of ${LABELS.join(", ")}`);
      }
      try {
        checkLayer(o.layer);
      } catch (error) {
        throw new InvalidInputError(`--layer: ${(error as InvalidInputError).shortMessage}`, { layer: o.layer });
      }
      const keys: (Wallet | HDNodeWallet)[] = [];
      for (const r of rows) keys.push(await keystoreOf(ctx).open(r.key));
      const deadline = BigInt(Math.floor(Date.now() / 1000) + 3600);
      // every row is checked before the chain is asked anything: a refusal names its row
      const requests = rows.map((r, i) => {
        try {
          return buildRegistration({
            uuid: { layer: o.layer, localId: r.localId },
            key: keys[i]!.address,
            kind: Object.values(Kind)[KINDS.indexOf(r.kind)]!,
            label: Object.values(Label)[LABELS.indexOf(r.label)]!,
            permissions: r.permissions,
            profile: minimalProfile(r.class),
            deadline,
          });
        } catch (error) {
          if (!(error instanceof InvalidInputError)) throw error;
          throw new InvalidInputError(`${file} row ${r.row}: ${error.shortMessage}`, { ...error.details, row: r.row });
        }
      });
      const outcome = await withRegistry(ctx, o.operatorKey, async (client, operator) => {
        const signatures: CompactSignature[] = [];
        for (const [i, req] of requests.entries())
          signatures.push(await client.signRegistration(keys[i]!, req, operator!));
        try {
          return { done: await client.registerAll(requests, signatures) };
        } catch (error) {
          if (!(error instanceof ContractRevertError)) throw error;
          return { error };
        }
      });
      const registered = new Set(outcome.done?.ids ?? (outcome.error?.details.ids as Hex[] | undefined) ?? []);
      const skipped = new Set(outcome.done?.skipped ?? []);
      const refusedIndex = outcome.error?.details.request as number | undefined;
      const report = rows.map((r, i) => {
        const id = deviceIdOf(o.layer, r.localId);
        const status = registered.has(id)
          ? "registered"
          : skipped.has(id)
            ? "already-registered"
            : refusedIndex === i
              ? `refused: ${outcome.error!.errorName}`
              : outcome.error
                ? "not-sent"
                : "registered";
        return { row: r.row, key: r.key, id, status };
      });
      const result = {
        json: {
          file,
          rows: report,
          ...(outcome.error ? { stopped: { name: outcome.error.name, message: outcome.error.shortMessage } } : {}),
        },
        lines: [
          ...report.map((r) => `row ${r.row} ${r.key.padEnd(16)} ${r.id} ${r.status}`),
          ...(outcome.error
            ? [`stopped: ${outcome.error.shortMessage}; fix the row and run again (registered rows are skipped)`]
            : []),
        ],
      };
      ctx.done(result, outcome.error ? 5 : 0);
    });

  device
    .command("appoint")
    .addHelpText("after", "\nExample:\n  $ strata device appoint 0x… --key admin")
    .description("appoint a registered coordination node (the registry's admin only)")
    .argument("<id>", "the coordination node's device id")
    .requiredOption("--key <name>", "the registry admin's key")
    .action(async (id: string, options: { key: string }) => {
      const tx = await withRegistry(ctx, options.key, (c) => c.appointCoordinator(deviceId(id, "id")));
      ctx.done({ json: { id, transaction: tx.hash }, lines: [`appointed ${id} (${tx.hash})`] });
    });

  device
    .command("approve")
    .description("a coordination node approves a device (and names its serving full node) or a gateway")
    .argument("<id>", "the device to approve")
    .requiredOption("--key <name>", "the coordination node's key")
    .requiredOption("--coordinator <id>", "the coordination node's device id")
    .option("--serving <id>", "the live full node that serves a lightweight device")
    .addHelpText("after", "\nExample:\n  $ strata device approve 0x… --key coord --coordinator 0x… --serving 0x…")
    .action(async (id: string, options: { key: string; coordinator: string; serving?: string }) => {
      const tx = await withRegistry(ctx, options.key, (c) =>
        options.serving === undefined
          ? c.approve(deviceId(options.coordinator, "--coordinator"), deviceId(id, "id"))
          : c.approve(
              deviceId(options.coordinator, "--coordinator"),
              deviceId(id, "id"),
              deviceId(options.serving, "--serving"),
            ),
      );
      ctx.done({ json: { id, transaction: tx.hash }, lines: [`approved ${id} (${tx.hash})`] });
    });

  device
    .command("heartbeat")
    .addHelpText("after", "\nExample:\n  $ strata device heartbeat 0x… --key gateway-7")
    .description("a full node proves it is up (its own key)")
    .argument("<id>", "the full node's device id")
    .requiredOption("--key <name>", "the full node's key")
    .action(async (id: string, o: { key: string }) => {
      const tx = await withRegistry(ctx, o.key, (c) => c.heartbeat(deviceId(id, "id")));
      ctx.done({ json: { id, transaction: tx.hash }, lines: [`heartbeat of ${id} (${tx.hash})`] });
    });

  device
    .command("report")
    .addHelpText("after", "\nExample:\n  $ strata device report 0x… --reporter 0x… --evidence 0x… --key gateway-7")
    .description("report a device's misbehaviour (an Active node, with its own key)")
    .argument("<id>", "the device reported")
    .requiredOption("--reporter <id>", "the reporting node's device id")
    .requiredOption("--evidence <hash>", "the 32-byte hash of the evidence kept off chain")
    .requiredOption("--key <name>", "the reporting node's key")
    .action(async (id: string, o: { reporter: string; evidence: string; key: string }) => {
      const tx = await withRegistry(ctx, o.key, (c) =>
        c.report(deviceId(o.reporter, "--reporter"), deviceId(id, "id"), deviceId(o.evidence, "--evidence")),
      );
      ctx.done({ json: { id, transaction: tx.hash }, lines: [`reported ${id} (${tx.hash})`] });
    });

  device
    .command("rekey")
    .addHelpText("after", "\nExample:\n  $ strata device rekey 0x… --new-key meter-12-v2 --key operator")
    .description("the owner asks to bind a new key (the new key signs the request); k approvals complete it")
    .argument("<id>", "the device id")
    .requiredOption("--new-key <name>", "the new key in the keystore (signs that it is held)")
    .requiredOption("--key <name>", "the owner's key")
    .action(async (id: string, o: { newKey: string; key: string }) => {
      const device = deviceId(id, "id");
      const newKey = await keystoreOf(ctx).openDeviceKey(o.newKey);
      const deadline = BigInt(Math.floor(Date.now() / 1000) + 3600);
      const tx = await withRegistry(ctx, o.key, async (c) =>
        !isP256Signer(newKey)
          ? c.requestRekey(device, newKey.address, deadline, await c.signRekey(newKey, device, deadline))
          : c.requestRekeyP256(device, newKey.publicKey, deadline, await c.signRekeyP256(newKey, device, deadline)),
      );
      ctx.done({
        json: { id, newKey: newKey.address, transaction: tx.hash },
        lines: [`re-key of ${id} to ${newKey.address} requested (${tx.hash})`],
      });
    });

  device
    .command("revoke")
    .addHelpText("after", "\nExample:\n  $ strata device revoke 0x… --key operator")
    .description("the owner revokes a device for good")
    .argument("<id>", "the device id")
    .requiredOption("--key <name>", "the owner's key")
    .action(async (id: string, o: { key: string }) => {
      const tx = await withRegistry(ctx, o.key, (c) => c.revoke(deviceId(id, "id")));
      ctx.done({ json: { id, transaction: tx.hash }, lines: [`revoked ${id} (${tx.hash})`] });
    });

  device
    .command("transfer")
    .addHelpText("after", "\nExample:\n  $ strata device transfer 0x… 0xNewOwner… --key operator")
    .description("the owner transfers a device to a new owner")
    .argument("<id>", "the device id")
    .argument("<owner>", "the new owner's account")
    .requiredOption("--key <name>", "the owner's key")
    .action(async (id: string, owner: string, o: { key: string }) => {
      const tx = await withRegistry(ctx, o.key, (c) => c.transferDevice(deviceId(id, "id"), owner));
      ctx.done({ json: { id, owner, transaction: tx.hash }, lines: [`${id} transferred to ${owner} (${tx.hash})`] });
    });

  device
    .command("show")
    .addHelpText("after", "\nExample:\n  $ strata device show 0x… --json")
    .description("a device's record: key, owner, kind, label, status, trust, serving node")
    .argument("<id>", "the device id")
    .action(async (id: string) => {
      const record = await withRegistry(ctx, undefined, (c) => c.getDevice(deviceId(id, "id")));
      if (record.status === Status.None) throw new InvalidInputError(`no device ${id} in the registry`, { id });
      const shown = {
        ...record,
        kind: nameOf(Kind, record.kind),
        label: nameOf(Label, record.label),
        status: nameOf(Status, record.status),
      };
      ctx.done({
        json: shown,
        lines: [
          `${record.id}: ${shown.kind}, ${shown.label}, ${shown.status}, trust ${record.trust}`,
          `key ${record.key}, owner ${record.owner}`,
          `serving node ${record.servingNode}`,
        ],
      });
    });

  device
    .command("history")
    .addHelpText("after", "\nExample:\n  $ strata device history 0x… --json")
    .description("a device's provenance timeline: every registry event about it, in order")
    .argument("<id>", "the device id")
    .action(async (id: string) => {
      const history = await withRegistry(ctx, undefined, (c) => c.history(deviceId(id, "id")));
      ctx.done({
        json: { id, history },
        lines: history.map(
          (e) => `${new Date(Number(e.timestamp) * 1000).toISOString()} block ${e.blockNumber} ${e.event}`,
        ),
      });
    });
}
