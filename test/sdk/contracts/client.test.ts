/**
 * What every contract client shares (`sdk/contracts/client.ts`): one
 * `TxResult` per write (hash, gas, block, the contract's events by name), the
 * pure receipt parsers that decode a receipt got elsewhere with no network
 * call, and `connect`, which shares the log reader and the EIP-712 domain.
 */
import { expect } from "chai";
import { network } from "hardhat";

import DataAnchorModule from "../../../ignition/modules/DataAnchor.ts";
import { anchoredEntries, DataAnchorClient, parseAnchorReceipt } from "../../../sdk/contracts/anchor.ts";
import { parseAccessReceipt } from "../../../sdk/contracts/access.ts";
import { artifactInterface, receiptEvents, txResult } from "../../../sdk/contracts/client.ts";
import { parseRegistryReceipt } from "../../../sdk/contracts/registry.ts";
import { AccessTokens as AccessTokensArtifact } from "../../../sdk/artifacts/AccessTokens.ts";
import { DataAnchor as DataAnchorArtifact } from "../../../sdk/artifacts/DataAnchor.ts";
import { accessDomain, anchorDomain, registryDomain } from "../../../sdk/core/eip712.ts";
import { InvalidInputError, NoCodeError, WrongChainError } from "../../../sdk/errors.ts";
import { type Hex } from "../../../sdk/index.ts";
import { Kind } from "../../../sdk/exports/registry.ts";
import type { DataAnchor } from "../../../types/ethers-contracts/index.ts";
import { accessFixture, HOUR } from "../../helpers/access.ts";
import { fullNode } from "../../helpers/registry.ts";

const { ethers, ignition, networkHelpers } = await network.create();
const { loadFixture, time } = networkHelpers;
const deployAccessFixture = accessFixture(ethers, ignition);

async function deployClientsFixture() {
  const access = await deployAccessFixture();
  const gateway = await fullNode(access.city, access.coordinators, Kind.BaseStation);
  const { anchor } = (await ignition.deploy(DataAnchorModule, {
    parameters: { DataAnchor: { registry: await access.city.registry.getAddress() } },
  })) as unknown as { anchor: DataAnchor };
  const anchorClient = new DataAnchorClient(await anchor.getAddress(), gateway.key);
  return { ...access, gateway, anchorClient };
}

const receiptOf = async (hash: Hex) => (await ethers.provider.getTransactionReceipt(hash))!;

describe("ContractClient (the clients' shared base)", function () {
  it("every write returns a TxResult equal to the one its receipt parses to, without a call", async function () {
    const ctx = await loadFixture(deployClientsFixture);
    // the access client
    const minted = await ctx.client.mint(ctx.stream);
    const mintReceipt = await receiptOf(minted.hash);
    expect(minted.blockNumber).to.equal(mintReceipt.blockNumber);
    expect(minted.gasUsed).to.equal(mintReceipt.gasUsed);
    expect(parseAccessReceipt(mintReceipt, ctx.address)).to.deep.equal(minted.events);
    const { tokenId: _, ...mintTx } = minted;
    expect(txResult(artifactInterface(AccessTokensArtifact), mintReceipt, ctx.address)).to.deep.equal(mintTx);
    expect(mintTx.events.map((e) => e.name)).to.deep.equal(["Transfer", "AccessTokenMinted"]);
    expect(parseAccessReceipt(mintReceipt.logs, ctx.address)[1]).to.deep.include({ name: "AccessTokenMinted" });
    const now = BigInt(await time.latest());
    const scheduled = await ctx.client.scheduleShift(minted.tokenId, ctx.crewA.address, now, now + HOUR);
    expect(parseAccessReceipt(await receiptOf(scheduled.hash), ctx.address)).to.deep.equal(scheduled.events);

    // the registry client: a heartbeat by the gateway's own key
    const beat = await ctx.city.client.connect(ctx.gateway.key).heartbeat(ctx.gateway.id);
    const beatReceipt = await receiptOf(beat.hash);
    expect(parseRegistryReceipt(beatReceipt, ctx.city.client.address)).to.deep.equal(beat.events);
    expect(beat.events.map((e) => e.name)).to.include("FullNodeHeartbeat");
    // another contract's address: none of its events
    expect(parseRegistryReceipt(beatReceipt, ctx.address)).to.deep.equal([]);

    // the anchor client: its result is a TxResult too, with the anchor's fields
    const root = ethers.id("client base") as Hex;
    const anchored = await ctx.anchorClient.anchor(ctx.gateway.id, root, 4);
    expect(anchored.hash).to.equal(anchored.hash);
    const anchorReceipt = await receiptOf(anchored.hash);
    expect(parseAnchorReceipt(anchorReceipt, ctx.anchorClient.address)).to.deep.equal(anchored.events);
    expect(anchoredEntries(anchorReceipt, ctx.anchorClient.address)).to.deep.equal([
      {
        gateway: ctx.gateway.id,
        sequence: 1n,
        root,
        leafCount: 4n,
        blockNumber: anchored.blockNumber,
        logIndex: anchorReceipt.logs[0]!.index,
        transactionHash: anchorReceipt.hash,
      },
    ]);
    expect(anchoredEntries(anchorReceipt.logs, ctx.address)).to.deep.equal([]);
    // the generic parser over any interface, also only the given contract's logs
    expect(receiptEvents(artifactInterface(DataAnchorArtifact), anchorReceipt, ctx.anchorClient.address)).to.deep.equal(
      anchored.events,
    );
    expect(receiptEvents(artifactInterface(DataAnchorArtifact), anchorReceipt, ctx.address)).to.deep.equal([]);
    expect(() => receiptEvents(artifactInterface(DataAnchorArtifact), anchorReceipt, undefined as never)).to.throw(
      InvalidInputError,
    );
  });

  it("signs nothing for a pinned chain the node does not serve or an address without code", async function () {
    const ctx = await loadFixture(deployClientsFixture);
    const approval = (client: DataAnchorClient) =>
      client.signFogClusterApproval(ctx.gateway.key, ctx.gateway.id, {
        groupKey: `0x${"00".repeat(128)}`,
        threshold: 1,
        members: [ctx.gateway.id],
        epoch: 1,
      });
    const wrongChain = new DataAnchorClient(ctx.anchorClient.address, ctx.gateway.key, { chainId: 1n });
    for (const call of [() => wrongChain.domain(), () => approval(wrongChain)]) {
      const e = await call().then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(e).to.be.instanceOf(WrongChainError);
    }
    const chainId = (await ethers.provider.getNetwork()).chainId;
    const noCode = new DataAnchorClient(ctx.gateway.key.address, ctx.gateway.key, { chainId });
    const e = await approval(noCode).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(e).to.be.instanceOf(NoCodeError);
  });

  it("connect shares the log reader and the domain, and each client's domain is its contract's", async function () {
    const ctx = await loadFixture(deployClientsFixture);
    const { chainId } = await ethers.provider.getNetwork();
    const other = ctx.client.connect(ctx.crewA);
    expect(other.logs).to.equal(ctx.client.logs);
    expect(other.runner).to.equal(ctx.crewA);
    expect(await other.domain()).to.deep.equal(accessDomain(chainId, ctx.address));
    expect(await ctx.client.domain()).to.equal(await other.domain());
    const registry = ctx.city.client.connect(ctx.stranger);
    expect(registry.logs).to.equal(ctx.city.client.logs);
    expect(await registry.domain()).to.deep.equal(registryDomain(chainId, ctx.city.client.address));
    const anchor = ctx.anchorClient.connect(ctx.stranger);
    expect(anchor).to.be.instanceOf(DataAnchorClient);
    expect(await anchor.domain()).to.deep.equal(anchorDomain(chainId, ctx.anchorClient.address));
  });
});
