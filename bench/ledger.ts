/**
 * Seed 003's high-level layer ledger (`SummaryLedger`): the gas of recording a
 * following summary (statements 4-5: one fresh slot) and of verifying a quorum
 * attestation (an aggregate BLS signature of exactly 2f+1 members, the worst
 * case: f non-signers' keys subtracted) for a 7-node and a 31-node layer.
 * Figures are receipts' gasUsed (21,000 intrinsic and the calldata included);
 * the attestation is verified by a transaction to `isValidAttestation`.
 */
import type { Metrics } from "./metrics.ts";

export async function ledgerMetrics(): Promise<Metrics> {
  const { network } = await import("hardhat");
  const { ethers } = await network.create();
  const { keccak256, toUtf8Bytes } = await import("ethers");
  const { attest, beginning, first, layerId, layerMembers, quorumOf } =
    await import("../test/contracts/ledger/layer.ts");
  const accounts = await ethers.getSigners();
  const sub = layerId("edge-0");
  const sum = (s: string): string => keccak256(toUtf8Bytes(s));

  async function deploy(n: number) {
    const members = layerMembers(
      n,
      accounts.slice(0, 4).map((a) => a.address),
      `bench-${n}`,
    );
    const args = beginning(`L1-${n}`, members, [{ layerId: sub, ledger: accounts[19]!.address, chainId: 31337n }]);
    const ledger = await ethers.deployContract("SummaryLedger", [args]);
    return { ledger, members };
  }

  async function verifyGas(n: number): Promise<number> {
    const { ledger, members } = await deploy(n);
    const digest = sum(`bench decision ${n}`);
    const a = attest(members, digest, first(quorumOf(n)));
    if (!(await ledger.getFunction("isValidAttestation")(digest, a.signers, a.signature))) {
      throw new Error(`bench: the ${n}-node attestation does not verify`);
    }
    const data = ledger.interface.encodeFunctionData("isValidAttestation", [digest, a.signers, a.signature]);
    const tx = await accounts[0]!.sendTransaction({ to: await ledger.getAddress(), data });
    return Number((await tx.wait())!.gasUsed);
  }

  async function recordGas(): Promise<number> {
    const { ledger, members } = await deploy(7);
    const block = await ethers.provider.getBlock("latest");
    const now = BigInt(block!.timestamp);
    const request = {
      summary: sum("M1"),
      sourceLayer: sub,
      route: sum("route"),
      expiry: now + 3600n,
      deadline: now + 600n,
    };
    const a = attest(members, await ledger.getFunction("openDigest")(request), first(quorumOf(7)));
    await (await ledger.getFunction("open")(request, a.signers, a.signature)).wait();
    const blockId = (await ledger.getFunction("summaryOf")(request.summary))[0] as string;
    const gas: number[] = [];
    for (let i = 2; i <= 4; i++) {
      const tx = await ledger.getFunction("record")(blockId, sum(`M${i}`), false);
      gas.push(Number((await tx.wait())!.gasUsed));
    }
    return Math.max(...gas);
  }

  /** The same-run baseline: the least a summary record can do (`BaselineSummaryRecord`), a following record. */
  async function baselineRecordGas(): Promise<number> {
    const baseline = await ethers.deployContract("BaselineSummaryRecord");
    const blockId = sum("baseline block");
    await (await baseline.getFunction("record")(blockId, sum("B1"))).wait();
    const gas: number[] = [];
    for (let i = 2; i <= 4; i++) {
      const tx = await baseline.getFunction("record")(blockId, sum(`B${i}`));
      gas.push(Number((await tx.wait())!.gasUsed));
    }
    return Math.max(...gas);
  }

  const verify7 = await verifyGas(7);
  const verify31 = await verifyGas(31);
  const record = await recordGas();
  const minimal = await baselineRecordGas();
  const target = { op: "<=", value: 150_000 } as const;
  return {
    "layers.summary.record.gas": {
      value: record,
      unit: "gas",
      baseline: { name: "BaselineSummaryRecord (write-once summary + event)", value: minimal },
      target: { op: "<=", value: 50_000 },
    },
    "layers.attestation.verify7.gas": { value: verify7, unit: "gas", target },
    "layers.attestation.verify31.gas": { value: verify31, unit: "gas", target },
  };
}
