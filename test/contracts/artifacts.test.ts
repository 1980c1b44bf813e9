/**
 * The artifacts the package ships (`sdk/artifacts`) and the typed bindings that type its clients
 * (`types/`), both written by `npm run artifacts` and committed, are the compiled contracts: same
 * ABI, same creation bytecode. A contract changed without
 * regenerating them fails here, so a stale ABI or bytecode cannot ship.
 */
import { expect } from "chai";
import { artifacts as hardhatArtifacts } from "hardhat";

import { artifacts, DEPLOYABLE_CONTRACTS } from "../../sdk/artifacts/index.ts";
import {
  AccessTokens__factory,
  DataAnchor__factory,
  DeviceRegistry__factory,
  SummaryLedger__factory,
} from "../../types/ethers-contracts/index.ts";

/** The committed TypeChain bindings (types/), which type the SDK's clients. */
const BINDINGS = {
  DeviceRegistry: DeviceRegistry__factory,
  DataAnchor: DataAnchor__factory,
  AccessTokens: AccessTokens__factory,
  SummaryLedger: SummaryLedger__factory,
} as const;

/**
 * Bytecode with solc's CBOR metadata blocks (`ipfs` hash + `solc` version) blanked: the metadata
 * hash covers the compile job's other sources, so an incremental build can change it while the
 * code stays the same.
 */
function withoutMetadata(bytecode: string): string {
  const metadata = /a264697066735822[0-9a-f]{68}64736f6c6343[0-9a-f]{6}0033/g;
  expect(bytecode.match(metadata)?.length ?? 0, "a metadata block").to.be.greaterThan(0);
  return bytecode.replace(metadata, "");
}

describe("shipped contract artifacts", () => {
  for (const name of DEPLOYABLE_CONTRACTS) {
    describe(name, () => {
      it("has the compiled contract's ABI", async () => {
        const built = await hardhatArtifacts.readArtifact(name);
        expect(artifacts[name].abi, "run `npm run artifacts`").to.deep.equal(built.abi);
      });

      it("is typed by bindings generated from the compiled contract's ABI", async () => {
        const built = await hardhatArtifacts.readArtifact(name);
        expect(BINDINGS[name].abi, "run `npm run artifacts`").to.deep.equal(built.abi);
      });

      it("has the compiled contract's creation bytecode (the code; its metadata hash may differ)", async () => {
        const built = await hardhatArtifacts.readArtifact(name);
        const shipped = withoutMetadata(artifacts[name].bytecode);
        expect(shipped === withoutMetadata(built.bytecode), "run `npm run artifacts`").to.equal(true);
      });
    });
  }

  it("ships every deployable contract and nothing else", async () => {
    const names = [...(await hardhatArtifacts.getAllFullyQualifiedNames())];
    const deployable = names
      .filter((n) => /^contracts\/(registry|anchoring|access|ledger)\//.test(n.replace(/^project\//, "")))
      .map((n) => n.split(":")[1]);
    expect([...DEPLOYABLE_CONTRACTS].sort()).to.deep.equal(deployable.sort());
  });
});
