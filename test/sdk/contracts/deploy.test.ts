/**
 * `deployStrata` and `deploySummaryLedger`: deploy from the shipped artifacts with any ethers
 * signer, and refuse bad input with a typed error naming it before anything is sent.
 */
import { expect } from "chai";
import {
  AbstractSigner,
  type Provider,
  type Signer,
  type TransactionRequest,
  type TransactionResponse,
  type TypedDataDomain,
  type TypedDataField,
} from "ethers";
import { network } from "hardhat";

import {
  ConfigError,
  ContractRevertError,
  DeploymentIncompleteError,
  InvalidInputError,
  NoCodeError,
} from "../../../sdk/index.ts";
import { DEFAULT_REGISTRY_RULES, deployStrata, deploySummaryLedger } from "../../../sdk/exports/deploy.ts";
import { DeviceRegistryClient } from "../../../sdk/exports/registry.ts";

const { ethers } = await network.create();

/** A signer that fails its `failAt`-th transaction (1-based), as a node refusing it would. */
class FailingSigner extends AbstractSigner {
  #sent = 0;
  readonly inner: Signer;
  readonly failAt: number;

  constructor(inner: Signer, failAt: number) {
    super(inner.provider);
    this.inner = inner;
    this.failAt = failAt;
  }
  getAddress(): Promise<string> {
    return this.inner.getAddress();
  }
  connect(provider: Provider | null): Signer {
    return new FailingSigner(this.inner.connect(provider), this.failAt);
  }
  signTransaction(tx: TransactionRequest): Promise<string> {
    return this.inner.signTransaction(tx);
  }
  signMessage(message: string | Uint8Array): Promise<string> {
    return this.inner.signMessage(message);
  }
  signTypedData(
    domain: TypedDataDomain,
    types: Record<string, TypedDataField[]>,
    value: Record<string, unknown>,
  ): Promise<string> {
    return this.inner.signTypedData(domain, types, value);
  }
  override sendTransaction(tx: TransactionRequest): Promise<TransactionResponse> {
    this.#sent += 1;
    if (this.#sent === this.failAt) return Promise.reject(new Error("insufficient funds for gas * price + value"));
    return this.inner.sendTransaction(tx);
  }
}

async function rejection(work: Promise<unknown>): Promise<Error> {
  try {
    await work;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}

describe("deployStrata", function () {
  it("deploys the registry, the anchor contract and the access tokens with the given rules", async () => {
    const [admin] = await ethers.getSigners();
    const d = await deployStrata(admin!, { rules: { fullNodeApprovals: 3 } });
    expect(d.chainId).to.equal((await ethers.provider.getNetwork()).chainId);
    expect(Object.keys(d.contracts).sort()).to.deep.equal(["AccessTokens", "DataAnchor", "DeviceRegistry"]);
    for (const c of Object.values(d.contracts)) expect(await ethers.provider.getCode(c.address)).to.not.equal("0x");
    expect(d.registry).to.equal(d.contracts.DeviceRegistry!.address);
    const rules = await new DeviceRegistryClient(d.registry, ethers.provider).config();
    expect(rules).to.deep.equal({ ...DEFAULT_REGISTRY_RULES, fullNodeApprovals: 3 });
  });

  it("deploys a chosen set beside an existing registry", async () => {
    const [admin] = await ethers.getSigners();
    const first = await deployStrata(admin!, { contracts: ["DeviceRegistry"] });
    const second = await deployStrata(admin!, { contracts: ["DataAnchor"], registry: first.registry });
    expect(Object.keys(second.contracts)).to.deep.equal(["DataAnchor"]);
    expect(second.registry).to.equal(first.registry);
  });

  it("refuses an existing registry that is the zero address, has no code, or is not a DeviceRegistry", async () => {
    const [admin, other] = await ethers.getSigners();
    const d = await deployStrata(admin!);
    const zero = await rejection(deployStrata(admin!, { contracts: ["DataAnchor"], registry: ethers.ZeroAddress }));
    expect(zero).to.be.instanceOf(InvalidInputError);
    expect((zero as InvalidInputError).shortMessage).to.match(/^registry/);
    const eoa = await rejection(deployStrata(admin!, { contracts: ["DataAnchor"], registry: other!.address }));
    expect(eoa).to.be.instanceOf(NoCodeError);
    const notRegistry = await rejection(
      deployStrata(admin!, { contracts: ["DataAnchor"], registry: d.contracts.DataAnchor!.address }),
    );
    expect(notRegistry).to.be.instanceOf(ConfigError);
    expect((notRegistry as ConfigError).shortMessage).to.match(/is not a Strata DeviceRegistry/);
  });

  it("names a rule out of its range or unknown, and a timeout that is not a positive number, before sending", async () => {
    const [admin] = await ethers.getSigners();
    const before = await ethers.provider.getTransactionCount(admin!.address);
    for (const [rules, message] of [
      [{ fullNodeApprovals: 300 }, /^rules\.fullNodeApprovals: expected an integer from 0 to 255/],
      [{ epochLength: 2 ** 33 }, /^rules\.epochLength: expected an integer from 0 to 4294967295/],
      [{ reportPenalty: 1.5 }, /^rules\.reportPenalty/],
      [{ quorum: 2 }, /^rules: unknown rule quorum/],
    ] as const) {
      const e = await rejection(deployStrata(admin!, { rules: rules as never }));
      expect(e).to.be.instanceOf(InvalidInputError);
      expect((e as InvalidInputError).shortMessage).to.match(message);
    }
    for (const timeoutMs of [0, -1, Number.NaN]) {
      expect(await rejection(deployStrata(admin!, { timeoutMs }))).to.be.instanceOf(InvalidInputError);
    }
    expect(await rejection(deployStrata(admin!, null as never))).to.be.instanceOf(InvalidInputError);
    expect(await rejection(deployStrata(null as never))).to.be.instanceOf(InvalidInputError);
    expect(await ethers.provider.getTransactionCount(admin!.address)).to.equal(before);
  });

  it("returns the registry's own refusal of its rules as a ContractRevertError", async () => {
    const [admin] = await ethers.getSigners();
    const e = await rejection(deployStrata(admin!, { rules: { fullNodeApprovals: 0 } }));
    expect(e).to.be.instanceOf(ContractRevertError);
    expect((e as ContractRevertError).errorName).to.equal("RegistryInvalidConfig");
  });

  it("reports what was deployed when a later contract fails, so the deployment can be resumed", async () => {
    const [admin] = await ethers.getSigners();
    const e = await rejection(deployStrata(new FailingSigner(admin!, 2)));
    expect(e).to.be.instanceOf(DeploymentIncompleteError);
    const incomplete = e as DeploymentIncompleteError;
    expect(incomplete.failed).to.equal("DataAnchor");
    const registry = incomplete.deployed.DeviceRegistry!.address;
    expect(await ethers.provider.getCode(registry)).to.not.equal("0x");
    const rest = await deployStrata(admin!, { contracts: ["DataAnchor", "AccessTokens"], registry });
    expect(rest.registry).to.equal(registry);
  });
});

describe("deploySummaryLedger", function () {
  it("refuses a malformed beginning block with an InvalidInputError naming the field", async () => {
    const [admin] = await ethers.getSigners();
    const link = { layerId: `0x${"00".repeat(32)}` as const, ledger: ethers.ZeroAddress, chainId: 0n };
    const member = {
      node: admin!.address,
      publicKey: `0x${"11".repeat(256)}` as const,
      proofOfPossession: `0x${"22".repeat(128)}` as const,
    };
    const good = {
      layerId: `0x${"ab".repeat(32)}` as const,
      consensus: "PBFT",
      members: [member],
      subordinates: [],
      superior: link,
    };
    for (const [beginning, field] of [
      [{ ...good, layerId: "0x12" }, /^beginning\.layerId/],
      [{ ...good, members: [] }, /^beginning\.members/],
      [{ ...good, members: [{ ...member, publicKey: "0x11" }] }, /^beginning\.members\[0\]\.publicKey/],
      [{ ...good, superior: { layerId: link.layerId, ledger: link.ledger } }, /^beginning\.superior\.chainId/],
      [undefined, /^beginning/],
    ] as const) {
      const e = await rejection(deploySummaryLedger(admin!, beginning as never));
      expect(e, String(field)).to.be.instanceOf(InvalidInputError);
      expect((e as InvalidInputError).shortMessage).to.match(field);
    }
  });
});
