/**
 * The anchor, access-token and summary-ledger clients' log reads behind a provider that caps
 * `eth_getLogs` at 10,000 blocks (a proxy answering -32005, like Infura) in
 * front of a real `hardhat node` process, on a chain of more than 240,000
 * blocks with events before, between and after mined gaps: each read starts at
 * the contract's deployment block (its `deployedAt()`), gives what an uncapped
 * read gives, and costs about one request per 10,000-block window.
 */
import { expect } from "chai";
import { getBytes, hexlify, type JsonRpcSigner, keccak256, toUtf8Bytes, Wallet } from "ethers";

import { mclBackend } from "../../../sdk/core/crypto/backend.ts";
import { minSig } from "../../../sdk/core/crypto/bls.ts";
import { attest, memberKeyMaterial } from "../../../sdk/core/layers/attestation.ts";
import { SummaryLedgerClient } from "../../../sdk/contracts/ledger.ts";
import { type Hex } from "../../../sdk/index.ts";
import { AccessTokensClient } from "../../../sdk/exports/access.ts";
import { DataAnchorClient } from "../../../sdk/exports/anchoring.ts";
import { AccessTokens__factory, SummaryLedger__factory } from "../../../types/ethers-contracts/index.ts";
import { type CappedRpc, startCappedRpc } from "../../../support/capped-rpc.ts";
import { type NodeProcess, startHardhatNode } from "../../../support/node-process.ts";
import { deployAnchorChain } from "../../helpers/station-chain.ts";

const CAP = 10_000;
const GAP = 60_000;

const mine = (node: NodeProcess, blocks: number) => node.provider.send("hardhat_mine", ["0x" + blocks.toString(16)]);
const root = (i: number): Hex => `0x${(i + 1).toString(16).padStart(64, "0")}`;

describe("Anchor and access-token log reads behind a 10,000-block cap (hardhat node)", function () {
  this.timeout(300_000);
  let node: NodeProcess;
  let capped: CappedRpc;
  let admin: JsonRpcSigner;
  let anchorAddress: string;
  let station: { id: Hex; key: Wallet };
  let tokensAddress: string;
  let tokenId: bigint;
  const anchors = 6;

  before(async function () {
    node = await startHardhatNode();
    await mine(node, 120_000);
    const chain = await deployAnchorChain(node);
    admin = await node.provider.getSigner(0);
    anchorAddress = chain.anchorAddress;
    station = await chain.station();
    const tokens = await new AccessTokens__factory(admin).deploy(chain.registry.address);
    await tokens.waitForDeployment();
    tokensAddress = await tokens.getAddress();
    const anchor = new DataAnchorClient(anchorAddress, station.key);
    const access = new AccessTokensClient(tokensAddress, admin);
    tokenId = (await access.mint(station.id)).tokenId;
    const crew = [Wallet.createRandom().address, Wallet.createRandom().address];
    // events before, between and after two mined gaps
    for (let i = 0; i < anchors; i++) {
      await anchor.anchor(station.id, root(i), i + 1);
      if (i % 2 === 0) {
        const now = BigInt((await node.provider.getBlock("latest"))!.timestamp);
        await access.handOver(tokenId, crew[(i / 2) % 2]!, now + 86_400n);
      }
      if (i === 1 || i === 3) await mine(node, GAP);
    }
    await mine(node, GAP);
    capped = await startCappedRpc(node.url, CAP);
  });

  after(async function () {
    await capped?.close();
    await node?.stop();
  });

  /** `eth_getLogs` requests a read from `deployedAt` to the head may take: one per window, and a few retries. */
  async function windows(deployedAt: number): Promise<number> {
    const head = await node.provider.getBlockNumber();
    return Math.ceil((head - deployedAt + 1) / CAP);
  }

  it("DataAnchorClient.history and entryAt: the uncapped read's entries, about one request per window", async function () {
    const uncapped = new DataAnchorClient(anchorAddress, node.provider, { initialSpan: 1_000_000 });
    const expected = await uncapped.history(station.id);
    expect(expected.map((e) => e.sequence)).to.deep.equal([1n, 2n, 3n, 4n, 5n, 6n]);
    const client = new DataAnchorClient(anchorAddress, capped.provider);
    capped.reset();
    expect(await client.history(station.id)).to.deep.equal(expected);
    const deployedAt = await client.logs.deploymentBlock();
    expect(client.logs.deploymentBlockSource).to.equal("contract"); // no search on code (history reads it only at its ends)
    const bound = await windows(deployedAt);
    expect(capped.count("eth_getLogs")).to.be.at.most(bound + 3);
    expect(capped.count("eth_getLogs")).to.be.below(Math.ceil((await node.provider.getBlockNumber()) / CAP));
    // each entryAt reads the whole range again (its filter names the sequence); the reader's span,
    // halved at the cap's refusal, settles at or below the cap: at most two requests per window
    const expectedAt = await uncapped.entryAt(station.id, 5n);
    capped.reset();
    const at = await client.entryAt(station.id, 5n);
    expect(at).to.deep.equal(expectedAt);
    expect(at?.root).to.equal(root(4));
    expect(capped.count("eth_getLogs")).to.be.at.most(2 * bound + 3);
    capped.reset();
    expect(await client.entryAt(station.id, 7n)).to.equal(undefined);
    expect(capped.count("eth_getLogs")).to.be.at.most(2 * bound + 3);
  });

  it("AccessTokensClient.history: the uncapped read's entries, about one request per window", async function () {
    const uncapped = new AccessTokensClient(tokensAddress, node.provider, { initialSpan: 1_000_000 });
    const expected = await uncapped.history(tokenId);
    expect(expected.length).to.equal(1 + anchors / 2); // minted, three hand-overs
    const client = new AccessTokensClient(tokensAddress, capped.provider);
    capped.reset();
    expect(await client.history(tokenId)).to.deep.equal(expected);
    const deployedAt = await client.logs.deploymentBlock();
    expect(client.logs.deploymentBlockSource).to.equal("contract");
    expect(capped.count("eth_getCode")).to.equal(0);
    expect(capped.count("eth_getLogs")).to.be.at.most((await windows(deployedAt)) + 3);
  });
});

describe("Summary ledger log reads behind a 10,000-block cap (hardhat node)", function () {
  this.timeout(300_000);
  let node: NodeProcess;
  let capped: CappedRpc;
  let address: string;
  let blockId: Hex;
  const id = (s: string): Hex => keccak256(toUtf8Bytes(s)) as Hex;
  const [m1, m2, m3] = [id("cap M1"), id("cap M2"), id("cap M3")];

  before(async function () {
    const backend = await mclBackend();
    const bls = minSig(backend);
    node = await startHardhatNode();
    await mine(node, 120_000);
    const accounts = await Promise.all([0, 1, 2, 3].map((i) => node.provider.getSigner(i)));
    const secrets = [0, 1, 2, 3].map((i) => bls.keygen(getBytes(id(`capped ledger member ${i}`))));
    const members = await Promise.all(
      secrets.map(async (sk, i) => {
        const k = memberKeyMaterial(backend, sk);
        return {
          node: await accounts[i]!.getAddress(),
          publicKey: hexlify(k.publicKey),
          proofOfPossession: hexlify(k.proofOfPossession),
        };
      }),
    );
    const SUB = id("edge-0");
    const ledger = await new SummaryLedger__factory(accounts[0]!).deploy({
      layerId: id("L1"),
      consensus: "PBFT",
      members,
      subordinates: [{ layerId: SUB, ledger: Wallet.createRandom().address, chainId: 31337n }],
      superior: { layerId: id("L2"), ledger: Wallet.createRandom().address, chainId: 31337n },
    });
    await ledger.waitForDeployment();
    address = await ledger.getAddress();
    const c = new SummaryLedgerClient(address, accounts[0]!);
    const now = BigInt((await node.provider.getBlock("latest"))!.timestamp);
    const lifetime = 30n * 86_400n;
    const request = {
      summary: m1,
      sourceLayer: SUB,
      route: id("route"),
      responsible: await accounts[0]!.getAddress(),
      expiry: now + lifetime,
      deadline: now + 600n,
    };
    const digest = await c.openDigest(request);
    const attestation = attest(
      backend,
      digest,
      [0, 1, 2].map((index) => ({ index, secretKey: secrets[index]! })),
    );
    blockId = (await c.open(request, attestation)).blockId;
    await mine(node, GAP);
    await c.record(blockId, m2);
    await mine(node, GAP);
    await c.record(blockId, m3, true);
    await mine(node, GAP);
    capped = await startCappedRpc(node.url, CAP);
  });

  after(async function () {
    await capped?.close();
    await node?.stop();
  });

  it("SummaryLedgerClient proof, opening and endingSummary: the uncapped read's answers, about one request per window", async function () {
    const uncapped = new SummaryLedgerClient(address, node.provider, { initialSpan: 1_000_000 });
    const expected = {
      proof: await uncapped.proof(blockId),
      opening: await uncapped.opening(blockId),
      ending: await uncapped.endingSummary(blockId),
    };
    expect(expected.proof?.summaries.map((s) => s.summary)).to.deep.equal([m1, m2, m3]);
    expect(expected.opening?.summary).to.equal(m1);
    expect(expected.ending).to.equal(m3);
    const client = new SummaryLedgerClient(address, capped.provider);
    const head = await node.provider.getBlockNumber();
    const deployedAt = await client.logs.deploymentBlock();
    expect(client.logs.deploymentBlockSource).to.equal("contract");
    const windows = Math.ceil((head - deployedAt + 1) / CAP);
    // each read scans from the deployment block; the reader's span, halved at the cap's refusal,
    // settles at or below the cap: at most two requests per window
    capped.reset();
    expect(await client.proof(blockId)).to.deep.equal(expected.proof);
    expect(capped.count("eth_getLogs")).to.be.at.most(2 * windows + 3);
    capped.reset();
    expect(await client.opening(blockId)).to.deep.equal(expected.opening);
    expect(capped.count("eth_getLogs")).to.be.at.most(2 * windows + 3);
    capped.reset();
    expect(await client.endingSummary(blockId)).to.equal(expected.ending);
    expect(capped.count("eth_getLogs")).to.be.at.most(2 * windows + 3);
    expect(capped.count("eth_getCode")).to.equal(0);
  });
});
