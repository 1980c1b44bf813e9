import { expect } from "chai";

import { InvalidInputError } from "../../../sdk/index.ts";
import { Label, recommendLabel } from "../../../sdk/exports/registry.ts";

describe("core/labels", function () {
  const base = {
    connectionHoursPerSession: 8760,
    uptimeRatio: 0.999,
    memoryMiB: 8192,
    storageGiB: 512,
    mainsPowered: true,
  };

  it("labels an always-connected, capable machine a full node", function () {
    expect(recommendLabel(base).label).to.equal(Label.Full);
  });

  it("labels a long-lived device with modest hardware a coordination candidate (the paper's camera)", function () {
    expect(recommendLabel({ ...base, memoryMiB: 256, storageGiB: 8 }).label).to.equal(Label.Coordination);
  });

  it("labels battery-powered or short-lived devices lightweight", function () {
    expect(recommendLabel({ ...base, mainsPowered: false }).label).to.equal(Label.Lightweight);
    expect(recommendLabel({ ...base, connectionHoursPerSession: 0.1 }).label).to.equal(Label.Lightweight);
    expect(recommendLabel({ ...base, uptimeRatio: 0.3 }).label).to.equal(Label.Lightweight);
  });

  it("labels an always-on but tiny device lightweight", function () {
    expect(recommendLabel({ ...base, memoryMiB: 0.25, storageGiB: 0 }).label).to.equal(Label.Lightweight);
  });

  it("throws InvalidInputError for impossible traits", function () {
    expect(() => recommendLabel({ ...base, uptimeRatio: 1.5 })).to.throw(InvalidInputError, /uptimeRatio/);
    expect(() => recommendLabel({ ...base, memoryMiB: -1 })).to.throw(InvalidInputError, /memoryMiB/);
    expect(() => recommendLabel({ ...base, connectionHoursPerSession: Number.NaN })).to.throw(InvalidInputError);
  });
});
