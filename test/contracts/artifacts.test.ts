/**
 * The artifacts the package ships (`sdk/artifacts`, written by `npm run artifacts`) are the
 * compiled contracts: same ABI, same creation bytecode. A contract changed without
 * regenerating them fails here, so a stale ABI or bytecode cannot ship.
 */
import { expect } from "chai";
import { artifacts as hardhatArtifacts } from "hardhat";

import { artifacts, DEPLOYABLE_CONTRACTS } from "../../sdk/artifacts/index.ts";

describe("shipped contract artifacts", () => {
  for (const name of DEPLOYABLE_CONTRACTS) {
    describe(name, () => {
      it("has the compiled contract's ABI", async () => {
        const built = await hardhatArtifacts.readArtifact(name);
        expect(artifacts[name].abi, "run `npm run artifacts`").to.deep.equal(built.abi);
      });

      it("has the compiled contract's creation bytecode", async () => {
        const built = await hardhatArtifacts.readArtifact(name);
        expect(artifacts[name].bytecode === built.bytecode, "run `npm run artifacts`").to.equal(true);
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
