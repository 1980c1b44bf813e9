/**
 * The pure access-request check (seed 004 §IV): the EIP-712 message against an
 * independent encoding, signing, every input refused with the field named, and
 * every denial reason of `checkAccessRequest`, plus a property test of its time
 * rules against a reference predicate.
 */
import { expect } from "chai";
import fc from "fast-check";
import { AbiCoder, concat, keccak256, type TypedDataDomain, toUtf8Bytes, Wallet } from "ethers";

import { AccessDeniedError, type Hex, InvalidInputError } from "../../../sdk/index.ts";
import {
  ACCESS_REQUEST_TYPES,
  accessDomain,
  type AccessRequest,
  accessRequestDigest,
  accessScope,
  checkAccessRequest,
  checkAccessRequestShape,
  newAccessRequest,
  type ShiftFacts,
  signAccessRequest,
} from "../../../sdk/exports/access.ts";
import { Status } from "../../../sdk/exports/registry.ts";

const CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const RESOURCE = keccak256(toUtf8Bytes("strata://city/d7/edge-3#42")) as Hex;
const OTHER_RESOURCE = keccak256(toUtf8Bytes("strata://city/d7/edge-3#43")) as Hex;
const SCOPE = accessScope("read:telemetry@fog/d7-1");
const T0 = 1_750_000_000n;
const HOUR = 3_600n;

describe("core/access", function () {
  const domain = accessDomain(31337n, CONTRACT);
  const crew = Wallet.createRandom();
  const nextCrew = Wallet.createRandom();
  const request = (over: Partial<AccessRequest> = {}): AccessRequest => ({
    ...newAccessRequest({
      token: 7n,
      resource: RESOURCE,
      requester: crew.address,
      issuedAt: T0 + 60n,
      expiresAt: T0 + 660n,
      scope: SCOPE,
    }),
    ...over,
  });
  /** The crew's shift [T0, T0 + 8h) of token 7, current at T0 + 100. */
  const facts = (over: Partial<ShiftFacts> = {}): ShiftFacts => ({
    resource: RESOURCE,
    holder: crew.address,
    start: T0,
    end: T0 + 8n * HOUR,
    revoked: false,
    resourceStatus: Status.Active,
    ...over,
  });
  type CheckArgs = Parameters<typeof checkAccessRequest>[0];
  const judge = (over: Partial<CheckArgs> = {}, req: AccessRequest = request()) =>
    checkAccessRequest({
      domain,
      request: req,
      signature: signAccessRequest(crew.privateKey as Hex, domain, req),
      facts: facts(),
      now: T0 + 100n,
      ...over,
    });
  const denies = (reason: string, over: Partial<CheckArgs> = {}, req?: AccessRequest): AccessDeniedError => {
    try {
      judge(over, req);
    } catch (e) {
      expect(e).to.be.instanceOf(AccessDeniedError);
      expect((e as AccessDeniedError).reason).to.equal(reason);
      expect((e as AccessDeniedError).name).to.equal("AccessDeniedError");
      return e as AccessDeniedError;
    }
    return expect.fail(`expected denial ${reason}`);
  };
  const refusesInput = (field: string, run: () => unknown): void => {
    try {
      run();
    } catch (e) {
      expect(e).to.be.instanceOf(InvalidInputError);
      expect((e as InvalidInputError).shortMessage.startsWith(field)).to.equal(true, (e as Error).message);
      return;
    }
    expect.fail(`expected InvalidInputError for ${field}`);
  };

  describe("the EIP-712 message", function () {
    it("has the type string the SDK documents", function () {
      const fields = ACCESS_REQUEST_TYPES.AccessRequest!.map((f) => `${f.type} ${f.name}`).join(",");
      expect(`AccessRequest(${fields})`).to.equal(
        "AccessRequest(uint256 token,bytes32 resource,address requester,bytes32 nonce,uint64 issuedAt,uint64 expiresAt,bytes32 scope)",
      );
    });

    it("hashes to the digest of an independent EIP-712 encoding", function () {
      const req = request();
      const abi = AbiCoder.defaultAbiCoder();
      const typeHash = keccak256(
        toUtf8Bytes(
          "AccessRequest(uint256 token,bytes32 resource,address requester,bytes32 nonce,uint64 issuedAt,uint64 expiresAt,bytes32 scope)",
        ),
      );
      const structHash = keccak256(
        abi.encode(
          ["bytes32", "uint256", "bytes32", "address", "bytes32", "uint64", "uint64", "bytes32"],
          [typeHash, req.token, req.resource, req.requester, req.nonce, req.issuedAt, req.expiresAt, req.scope],
        ),
      );
      const domainHash = keccak256(
        abi.encode(
          ["bytes32", "bytes32", "bytes32", "uint256", "address"],
          [
            keccak256(
              toUtf8Bytes("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
            ),
            keccak256(toUtf8Bytes("Strata AccessTokens")),
            keccak256(toUtf8Bytes("1")),
            31337n,
            CONTRACT,
          ],
        ),
      );
      expect(accessRequestDigest(domain, req)).to.equal(keccak256(concat(["0x1901", domainHash, structHash])));
    });

    it("signs exactly as a wallet's signTypedData does, and refuses a key that is not the requester's", async function () {
      const req = request();
      expect(signAccessRequest(crew.privateKey as Hex, domain, req)).to.equal(
        await crew.signTypedData(domain, ACCESS_REQUEST_TYPES, { ...req }),
      );
      expect(signAccessRequest(crew.signingKey, domain, req)).to.equal(
        signAccessRequest(crew.privateKey as Hex, domain, req),
      );
      refusesInput("the key is not the requester's", () => signAccessRequest(nextCrew.privateKey as Hex, domain, req));
      refusesInput("key", () => signAccessRequest("0x1234" as Hex, domain, req));
    });

    it("draws a fresh random nonce for every new request", function () {
      const nonces = new Set(Array.from({ length: 32 }, () => request().nonce));
      expect(nonces.size).to.equal(32);
      for (const n of nonces) expect(n).to.match(/^0x[0-9a-f]{64}$/);
    });

    it("derives scopes from purpose strings and refuses an empty one", function () {
      expect(accessScope("read:telemetry@fog/d7-1")).to.equal(keccak256(toUtf8Bytes("read:telemetry@fog/d7-1")));
      expect(accessScope("actuate@gw/7")).not.to.equal(SCOPE);
      refusesInput("purpose", () => accessScope(""));
    });
  });

  describe("checkAccessRequestShape", function () {
    it("normalises hex to lowercase and the requester to its checksum", function () {
      const req = request();
      const shouted = checkAccessRequestShape({
        ...req,
        resource: req.resource.toUpperCase().replace("0X", "0x") as Hex,
        requester: req.requester.toLowerCase(),
      });
      expect(shouted).to.deep.equal(req);
    });

    it("refuses every malformed field with InvalidInputError naming it", function () {
      const req = request();
      refusesInput("token", () => checkAccessRequestShape({ ...req, token: 0n }));
      refusesInput("token", () => checkAccessRequestShape({ ...req, token: 1 as unknown as bigint }));
      refusesInput("resource", () => checkAccessRequestShape({ ...req, resource: "0x1234" }));
      refusesInput("requester", () => checkAccessRequestShape({ ...req, requester: "crew-a" }));
      refusesInput("nonce", () => checkAccessRequestShape({ ...req, nonce: `0x${"00".repeat(32)}` }));
      refusesInput("nonce", () => checkAccessRequestShape({ ...req, nonce: "0xabcd" }));
      refusesInput("issuedAt", () => checkAccessRequestShape({ ...req, issuedAt: -1n }));
      refusesInput("expiresAt", () => checkAccessRequestShape({ ...req, expiresAt: 1n << 64n }));
      refusesInput("expiresAt", () => checkAccessRequestShape({ ...req, expiresAt: req.issuedAt }));
      refusesInput("scope", () => checkAccessRequestShape({ ...req, scope: "0x" }));
      refusesInput("nonce", () =>
        newAccessRequest({ ...req, nonce: new Uint8Array(16) } as unknown as Parameters<typeof newAccessRequest>[0]),
      );
      refusesInput("facts.resource", () => judge({ facts: facts({ resource: "0x00" as Hex }) }));
      refusesInput("now", () => judge({ now: -5n }));
    });
  });

  describe("checkAccessRequest", function () {
    it("grants a request signed by the current holder, inside the shift, until the request's expiry", function () {
      const req = request();
      expect(judge({}, req)).to.deep.equal({
        token: 7n,
        resource: RESOURCE,
        holder: crew.address,
        scope: SCOPE,
        nonce: req.nonce,
        expiresAt: T0 + 660n,
        shiftEnd: T0 + 8n * HOUR,
      });
    });

    it("denies wrong-resource when the token is an access right to another resource (or none)", function () {
      denies("wrong-resource", { facts: facts({ resource: OTHER_RESOURCE }) });
      denies("wrong-resource", { facts: facts({ resource: `0x${"00".repeat(32)}` }) });
    });

    it("denies wrong-scope when the verifier requires another purpose or audience", function () {
      denies("wrong-scope", { scope: accessScope("read:telemetry@fog/d7-2") });
      expect(judge({ scope: SCOPE }).scope).to.equal(SCOPE);
    });

    it("denies not-yet for a request dated beyond the allowed clock skew", function () {
      const req = request({ issuedAt: T0 + 131n, expiresAt: T0 + 700n });
      denies("not-yet", {}, req);
      expect(judge({}, request({ issuedAt: T0 + 130n, expiresAt: T0 + 700n })).holder).to.equal(crew.address);
    });

    it("denies expired for a request past its expiry", function () {
      denies("expired", { now: T0 + 660n });
    });

    it("denies too-long for a request that would live longer than the verifier allows", function () {
      denies("too-long", {}, request({ expiresAt: T0 + 60n + HOUR + 1n }));
      const policy = { maxSkewSeconds: 30n, maxLifetimeSeconds: 2n * HOUR };
      expect(judge({ policy }, request({ expiresAt: T0 + 60n + HOUR + 1n })).holder).to.equal(crew.address);
    });

    it("denies bad-signature for a malformed signature, another signer and a tampered field", function () {
      denies("bad-signature", { signature: "0x1234" });
      const req = request();
      denies("bad-signature", {
        signature: signAccessRequest(nextCrew.privateKey as Hex, domain, { ...req, requester: nextCrew.address }),
      });
      const signature = signAccessRequest(crew.privateKey as Hex, domain, req);
      denies("bad-signature", { signature }, { ...req, expiresAt: req.expiresAt - 1n });
      denies("bad-signature", { signature }, { ...req, scope: accessScope("write:config@fog/d7-1") });
    });

    it("denies bad-signature for a request signed for another AccessTokens deployment or chain", function () {
      const req = request();
      for (const other of [accessDomain(1n, CONTRACT), accessDomain(31337n, nextCrew.address)] as TypedDataDomain[]) {
        denies("bad-signature", { signature: signAccessRequest(crew.privateKey as Hex, other, req) }, req);
      }
    });

    it("denies revoked once the owner revoked the token", function () {
      denies("revoked", { facts: facts({ revoked: true, holder: "0x0000000000000000000000000000000000000000" }) });
    });

    it("denies resource-inactive when the registry no longer has the resource Active", function () {
      for (const status of [Status.None, Status.Pending, Status.Suspended, Status.Blocked, Status.Revoked]) {
        const e = denies("resource-inactive", { facts: facts({ resourceStatus: status }) });
        expect(e.details).to.deep.include({ status });
      }
    });

    it("denies not-holder to the previous crew after a hand-over, and between shifts", function () {
      denies("not-holder", { facts: facts({ holder: nextCrew.address, start: T0 + 90n }) });
      denies("not-holder", {
        facts: facts({ holder: "0x0000000000000000000000000000000000000000", start: 0n, end: 0n }),
      });
    });

    it("denies expired when the holder's shift has ended by the verifier's clock", function () {
      const req = request({ issuedAt: T0 + 8n * HOUR - 600n, expiresAt: T0 + 8n * HOUR });
      denies("expired", { now: T0 + 8n * HOUR - 1n, facts: facts({ end: T0 + 8n * HOUR - 1n }) }, req);
    });

    it("denies not-yet for a request issued before the holder's shift began", function () {
      const e = denies("not-yet", { facts: facts({ start: T0 + 91n }) });
      expect(e.details).to.deep.include({ issuedAt: T0 + 60n, shiftStart: T0 + 91n });
      expect(judge({ facts: facts({ start: T0 + 90n }) }).holder).to.equal(crew.address); // within the skew
    });

    it("denies beyond-shift for a request that expires after the shift ends", function () {
      denies("beyond-shift", { facts: facts({ end: T0 + 659n }) });
      expect(judge({ facts: facts({ end: T0 + 660n }) }).shiftEnd).to.equal(T0 + 660n);
    });

    it("denies replay for a nonce already served, and does not spend nonces on denied requests", function () {
      const seen = new Set<string>();
      const req = request();
      denies("beyond-shift", { seen, facts: facts({ end: T0 + 200n }) }, req);
      expect(seen.size).to.equal(0);
      judge({ seen }, req);
      expect(seen.has(req.nonce)).to.equal(true);
      denies("replay", { seen }, req);
      judge({ seen }); // a fresh nonce passes
    });

    it("follows its time rules for any request and shift (property)", function () {
      const req = request();
      const signature = signAccessRequest(crew.privateKey as Hex, domain, req);
      fc.assert(
        fc.property(
          fc.bigInt({ min: T0 - HOUR, max: T0 + HOUR }),
          fc.bigInt({ min: 1n, max: 2n * HOUR }),
          fc.bigInt({ min: T0 - HOUR, max: T0 + 2n * HOUR }),
          (start, length, now) => {
            const end = start + length;
            const expected =
              req.issuedAt <= now + 30n &&
              req.expiresAt > now &&
              end > now &&
              req.issuedAt + 30n >= start &&
              req.expiresAt <= end;
            let granted: boolean;
            try {
              checkAccessRequest({ domain, request: req, signature, facts: facts({ start, end }), now });
              granted = true;
            } catch (e) {
              expect(e).to.be.instanceOf(AccessDeniedError);
              granted = false;
            }
            expect(granted).to.equal(expected);
          },
        ),
        { numRuns: 300 },
      );
    });
  });
});
