import { expect } from "chai";

import { DEFAULT_REGISTRY_CONFIG } from "../../../ignition/modules/DeviceRegistry.ts";
import { reportersToSanction } from "../../../sdk/exports/registry.ts";

describe("core/registry reportersToSanction", function () {
  it("gives the independent reporters the deployment defaults need: 3 to suspend, 5 to block", function () {
    expect(reportersToSanction(DEFAULT_REGISTRY_CONFIG)).to.deep.equal({ suspend: 3, block: 5 });
  });

  it("needs at least two reporters to suspend under any rules the contract accepts", function () {
    for (let suspendBelow = 1; suspendBelow < 1000; suspendBelow += 37)
      for (let penalty = 1; penalty <= 1000 - suspendBelow; penalty += 41) {
        const { suspend, block } = reportersToSanction({ reportPenalty: penalty, suspendBelow, blockBelow: 0 });
        expect(suspend).to.be.at.least(2);
        expect(block).to.be.at.least(suspend);
        // exactly: suspend - 1 penalties stay at or above the threshold, suspend fall under it
        expect(1000 - (suspend - 1) * penalty).to.be.at.least(suspendBelow);
        expect(1000 - suspend * penalty).to.be.below(suspendBelow);
      }
  });
});
