import { expect } from "chai";
import fc from "fast-check";
import { keccak256, solidityPacked, toUtf8Bytes } from "ethers";

import { deviceId, formatUuid, InvalidInputError, layerHash, parseUuid } from "../../../sdk/index.ts";

describe("core/ids", function () {
  describe("deviceId", function () {
    it("is keccak256(keccak256(layer) ‖ uint256(localId))", function () {
      const layer = "strata://city/d7/edge-3";
      const expected = keccak256(solidityPacked(["bytes32", "uint256"], [keccak256(toUtf8Bytes(layer)), 42n]));
      expect(deviceId({ layer, localId: 42n })).to.equal(expected);
      expect(layerHash(layer)).to.equal(keccak256(toUtf8Bytes(layer)));
    });

    it("differs for different layers with the same local id", function () {
      expect(deviceId({ layer: "strata://a/edge-1", localId: 1n })).to.not.equal(
        deviceId({ layer: "strata://a/edge-2", localId: 1n }),
      );
    });

    it("throws InvalidInputError for a malformed layer or an out-of-range local id", function () {
      for (const layer of ["", "no-scheme", "strata://has space", "strata://a#b"]) {
        expect(() => deviceId({ layer, localId: 1n })).to.throw(InvalidInputError, /layer/);
      }
      expect(() => deviceId({ layer: "strata://a", localId: -1n })).to.throw(InvalidInputError, /localId/);
      expect(() => deviceId({ layer: "strata://a", localId: 1n << 256n })).to.throw(InvalidInputError, /localId/);
    });
  });

  describe("formatUuid / parseUuid", function () {
    it("round-trips every valid UUID", function () {
      fc.assert(
        fc.property(
          fc.stringMatching(/^[a-z0-9/._-]{1,40}$/),
          fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }),
          (path, localId) => {
            const uuid = { layer: `strata://${path}`, localId };
            expect(parseUuid(formatUuid(uuid))).to.deep.equal(uuid);
          },
        ),
      );
    });

    it("throws InvalidInputError for text that is not layer#localId", function () {
      for (const text of ["strata://a", "strata://a#", "strata://a#-1", "strata://a#0x10", "#5", "strata://a#01"]) {
        expect(() => parseUuid(text)).to.throw(InvalidInputError);
      }
    });
  });
});
