/**
 * The durable sender of a layer member's ledger writes (services/layers/sender.ts) against a
 * real anvil process: a transaction not mined in time is replaced with higher fees and mined
 * once; a send made while the chain is stopped waits (retried with back-off) and is mined once
 * when the chain is back; a transaction kept before a restart is found and finished first.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { Wallet } from "ethers";

import { type SenderEvent, TrackedWallet } from "../../services/layers/sender.ts";
import { type NodeProcess, startAnvil } from "../../support/node-process.ts";
import { ANVIL_KEYS } from "../helpers/cli.ts";

describe("layer member sender (anvil process)", function () {
  this.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), "strata-sender-"));
  const store = join(dir, "sender.sqlite");
  const to = Wallet.createRandom().address;
  let anvil: NodeProcess;
  let events: SenderEvent[] = [];
  const open = (options: { bumpAfterMs?: number; maxFeePerGas?: bigint } = {}) =>
    new TrackedWallet(ANVIL_KEYS[2]!, anvil.provider, {
      store,
      chainId: 31337n,
      bumpAfterMs: options.bumpAfterMs ?? 60_000,
      backoffMs: 100,
      backoffCapMs: 400,
      pollMs: 100,
      ...(options.maxFeePerGas === undefined ? {} : { maxFeePerGas: options.maxFeePerGas }),
      onEvent: (e) => events.push(e),
    });
  const automine = (on: boolean) => anvil.provider.send("evm_setAutomine", [on]);
  const until = async (what: () => boolean) => {
    while (!what()) await new Promise((r) => setTimeout(r, 50));
  };
  const sent = async () => anvil.provider.getTransactionCount(new Wallet(ANVIL_KEYS[2]!).address, "latest");

  before(async () => {
    anvil = await startAnvil(31337n, { stateFile: join(dir, "anvil.json") });
  });
  beforeEach(() => {
    events = [];
  });
  after(async () => {
    await anvil?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("replaces a transaction not mined in time with higher fees, and it is mined once", async () => {
    const wallet = open({ bumpAfterMs: 300 });
    try {
      await automine(false);
      const sending = wallet.sendTransaction({ to, value: 1n });
      await until(() => events.filter((e) => e.kind === "bump").length >= 2);
      await anvil.provider.send("evm_mine", []);
      const tx = await sending;
      await automine(true);
      const kept = wallet.kept();
      expect(kept.filter((k) => k.state === "mined").map((k) => k.hash)).to.deep.equal([tx.hash.toLowerCase()]);
      expect(kept.filter((k) => k.state === "replaced").length).to.be.at.least(2);
      expect(new Set(kept.map((k) => k.nonce)).size).to.equal(1);
      const first = (await anvil.provider.getTransaction(kept[0]!.hash)) ?? undefined;
      expect(first?.blockNumber ?? null, "the first transaction is not mined").to.equal(null);
      expect(tx.maxFeePerGas! > 0n).to.equal(true);
      expect(await anvil.provider.getBalance(to)).to.equal(1n);
      expect(await sent()).to.equal(1);
      expect(wallet.depth).to.equal(0);
    } finally {
      await automine(true);
      wallet.close();
    }
  });

  it("stops replacing at the fee cap and re-sends the last one until it is mined", async () => {
    const base = (await anvil.provider.getFeeData()).maxFeePerGas!;
    const wallet = open({ bumpAfterMs: 200, maxFeePerGas: base * 2n });
    try {
      await automine(false);
      const sending = wallet.sendTransaction({ to, value: 1n });
      await until(() => events.some((e) => e.kind === "capped"));
      await anvil.provider.send("evm_mine", []);
      const tx = await sending;
      expect(tx.maxFeePerGas! <= base * 2n).to.equal(true);
      expect(await anvil.provider.getBalance(to)).to.equal(2n);
    } finally {
      await automine(true);
      wallet.close();
    }
  });

  it("waits while the chain is stopped, retrying with back-off, and the send is mined once when it is back", async () => {
    const wallet = open();
    try {
      await anvil.halt();
      const sending = wallet.sendTransaction({ to, value: 1n });
      await until(() => events.filter((e) => e.kind === "retry").length >= 3);
      expect(wallet.chainDown).to.equal(true);
      await anvil.restart();
      const tx = await sending;
      expect(tx.blockNumber).to.be.a("number");
      expect(wallet.chainDown).to.equal(false);
      expect(await anvil.provider.getBalance(to)).to.equal(3n);
      expect(await sent()).to.equal(3);
    } finally {
      wallet.close();
    }
  });

  it("forgets a transaction the node refuses outright, so its nonce is free for the next send", async () => {
    const poor = Wallet.createRandom();
    const wallet = new TrackedWallet(poor.privateKey, anvil.provider, {
      store: join(dir, "poor.sqlite"),
      chainId: 31337n,
      backoffMs: 100,
      pollMs: 100,
    });
    try {
      const refused = await wallet.sendTransaction({ to, value: 0n, gasLimit: 21_000n }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(refused?.name).to.equal("TxRejectedError");
      expect(wallet.kept()).to.deep.equal([]);
      expect(wallet.depth).to.equal(0);
      await anvil.provider.send("anvil_setBalance", [poor.address, "0xde0b6b3a7640000"]);
      const tx = await wallet.sendTransaction({ to, value: 0n });
      expect(tx.nonce).to.equal(0);
    } finally {
      wallet.close();
    }
  });

  it("finds a transaction kept before a restart and finishes it before sending anything new", async () => {
    let wallet = open();
    await automine(false);
    const lost = wallet.sendTransaction({ to, value: 1n });
    await until(() => wallet.kept().some((k) => k.state === "pending"));
    await new Promise((r) => setTimeout(r, 200));
    wallet.close(); // the process stops with the transaction in flight
    expect(
      await lost.then(
        () => "mined",
        (e: Error) => e.name,
      ),
    ).to.equal("TransportError");
    await anvil.provider.send("anvil_dropAllTransactions", []); // and the node forgot it
    await automine(true);
    wallet = open();
    try {
      expect(wallet.depth).to.equal(1);
      const next = await wallet.sendTransaction({ to, value: 10n });
      expect(await anvil.provider.getBalance(to)).to.equal(14n);
      expect(next.nonce).to.equal(4);
      expect(await sent()).to.equal(5);
      expect(
        wallet
          .kept()
          .filter((k) => k.nonce >= 3)
          .map((k) => [k.nonce, k.state]),
      ).to.deep.equal([
        [3, "mined"],
        [4, "mined"],
      ]);
      expect(wallet.kept().some((k) => k.state === "pending")).to.equal(false);
    } finally {
      wallet.close();
    }
  });
});
