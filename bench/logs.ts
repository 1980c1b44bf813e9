/**
 * Log-reading metrics: `DeviceRegistryClient.history` of one device on a
 * 1,000,000-block chain (a `hardhat node` process) behind a proxy that caps
 * `eth_getLogs` at 10,000 blocks (error -32005, like Infura), against the
 * pre-`LogReader` approach in the same run: windows of 10,000 blocks by hand
 * from block 0, then one `getBlock` per event block, one at a time.
 *
 * Requests are HTTP requests to the proxy (a JSON-RPC batch counts once).
 */
import { type Log, Wallet } from "ethers";

import { buildRegistration, DeviceRegistryClient, Kind, Label, minimalProfile } from "../sdk/exports/registry.ts";
import { DeviceRegistry__factory } from "../types/ethers-contracts/index.ts";
import { startCappedRpc } from "../support/capped-rpc.ts";
import { startHardhatNode } from "../support/node-process.ts";
import type { Metrics } from "./metrics.ts";

const CHAIN = 1_000_000;
const CAP = 10_000;
const EVENTS = 300;
const LAYER = "strata://bench/logs";

export async function logsMetrics(): Promise<Metrics> {
  const node = await startHardhatNode();
  try {
    await node.provider.send("hardhat_mine", ["0x" + (CHAIN / 2).toString(16)]);
    const admin = await node.provider.getSigner(0);
    const config = {
      fullNodeApprovals: 2,
      reportPenalty: 250,
      suspendBelow: 600,
      blockBelow: 300,
      epochLength: 3600,
      heartbeatTimeout: 600,
    };
    const registry = await new DeviceRegistry__factory(admin).deploy(await admin.getAddress(), config);
    const deploymentBlock = (await registry.deploymentTransaction()!.wait())!.blockNumber;
    const address = await registry.getAddress();
    const client = new DeviceRegistryClient(address, admin);
    await client.setLayerOperator(LAYER, await admin.getAddress());
    const key = Wallet.createRandom();
    const req = buildRegistration({
      uuid: { layer: LAYER, localId: 1n },
      key: key.address,
      kind: Kind.Device,
      label: Label.Lightweight,
      permissions: 1,
      profile: minimalProfile("Device/Sensor"),
      deadline: 2n ** 40n,
    });
    const id = (await client.register(req, await client.signRegistration(key, req, await admin.getAddress()))).id;
    for (let i = 0; i < EVENTS - 1; i++) await client.setPermissions(id, i + 2);
    const head = await node.provider.getBlockNumber();
    await node.provider.send("hardhat_mine", ["0x" + (CHAIN - head).toString(16)]);

    const capped = await startCappedRpc(node.url, CAP);
    try {
      const posts = (): number => capped.requests;
      // the SDK: from the deployment block (found by binary search), adaptive spans, batched block times
      capped.reset();
      let started = performance.now();
      // the deployment block from the receipt: `hardhat_mine`'s reserved blocks answer `0x` to eth_getCode,
      // so the binary search cannot be used on this chain (docs/registry.md)
      const history = await new DeviceRegistryClient(address, capped.provider, { deploymentBlock }).history(id);
      const sdkMs = performance.now() - started;
      const sdkRequests = posts();
      if (history.length !== EVENTS) throw new Error(`history read ${history.length} events`);

      // baseline: 10,000-block windows by hand from block 0, one block header per event block
      capped.reset();
      started = performance.now();
      const latest = await capped.provider.getBlockNumber();
      const topics = [null, id];
      const logs: Log[] = [];
      for (let from = 0; from <= latest; from += CAP) {
        logs.push(
          ...(await capped.provider.getLogs({
            address,
            fromBlock: from,
            toBlock: Math.min(from + CAP - 1, latest),
            topics,
          })),
        );
      }
      for (const n of new Set(logs.map((l) => l.blockNumber))) await capped.provider.getBlock(n);
      const baseMs = performance.now() - started;
      const baseRequests = posts();
      if (logs.length !== EVENTS) throw new Error(`baseline read ${logs.length} events`);

      const baseline = (name: string, value: number) => ({ name, value });
      return {
        "registry.history1M.requests": {
          value: sdkRequests,
          unit: "requests",
          baseline: baseline("10,000-block windows from 0 by hand, getBlock per event", baseRequests),
          target: { op: "<=", value: 150 },
        },
        "registry.history1M.ms": {
          value: Math.round(sdkMs),
          unit: "ms",
          baseline: baseline("10,000-block windows from 0 by hand, getBlock per event", Math.round(baseMs)),
        },
      };
    } finally {
      await capped.close();
    }
  } finally {
    await node.stop();
  }
}
