/**
 * The key servers' pure protocol (services/keyserver/protocol.ts): public information checked
 * field by field, shares sealed to one request only, the registry's policy, the epoch window,
 * the audit chain.
 */
import { expect } from "chai";

import { type Hex, toHex } from "../../sdk/core/bytes.ts";
import { mclBackend } from "../../sdk/core/crypto/backend.ts";
import { ThresholdPkg } from "../../sdk/core/crypto/identity.ts";
import { type DeviceRecord, Kind, Status } from "../../sdk/core/registry.ts";
import { DecryptionError, InvalidInputError, KeyRequestRefusedError } from "../../sdk/errors.ts";
import {
  type AuditEntry,
  auditGenesis,
  auditHash,
  checkEpoch,
  checkPolicy,
  DEFAULT_APPLICATION_PERMISSION,
  ephemeralKeyPair,
  firstBrokenEntry,
  identitiesFor,
  keyRequestDigest,
  keyServerDomain,
  openShare,
  publicFromJson,
  publicInfo,
  publicToJson,
  sealShare,
} from "../../services/keyserver/protocol.ts";

const backend = await mclBackend();
const random32 = (): Hex => toHex(crypto.getRandomValues(new Uint8Array(32)));

describe("key server protocol", function () {
  const { pkg } = ThresholdPkg.deal(backend, 2, 3);
  const info = publicInfo(backend, pkg.commitments, 3, {
    chainId: 31337n,
    registry: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
  });
  const json = publicToJson(backend, info);

  describe("public information", function () {
    it("round-trips through JSON, the master key being the commitments' constant term", function () {
      const back = publicFromJson(backend, JSON.parse(JSON.stringify(json)));
      expect(back.deployment).to.equal(info.deployment);
      expect(backend.g2.eq(back.masterPublic, pkg.masterPublic)).to.equal(true);
      expect(back.chainId).to.equal(31337n);
      expect(back.registry).to.equal("0x5fbdb2315678afecb367f032d93f642f64180aa3");
    });

    it("refuses a server key, master key or deployment id that the commitments do not give, naming the field", function () {
      const swapped = { ...json, memberKeys: [json.memberKeys[1], json.memberKeys[0], json.memberKeys[2]] };
      expect(() => publicFromJson(backend, swapped)).to.throw(
        InvalidInputError,
        /memberKeys\[0\] is not the commitments' value/,
      );
      expect(() => publicFromJson(backend, { ...json, masterPublic: json.memberKeys[0] })).to.throw(
        /masterPublic is not the commitments' constant term/,
      );
      expect(() => publicFromJson(backend, { ...json, deployment: random32() })).to.throw(
        /deployment is not the digest/,
      );
      expect(() => publicFromJson(backend, { ...json, threshold: 4 })).to.throw(
        /threshold must be an integer in \[1, servers\]/,
      );
      expect(() => publicFromJson(backend, { ...json, commitments: [json.commitments[0], "0x1234"] })).to.throw(
        /commitments\[1\] is not a valid G2 point/,
      );
      expect(() => publicFromJson(backend, { ...json, extra: 1 })).to.throw(/extra is not a field/);
    });
  });

  describe("sealed shares", function () {
    const identity = "strata-nbiot/v1/node/sign/0x" + "11".repeat(32);
    const digest = random32();
    const share = crypto.getRandomValues(new Uint8Array(48));

    it("open with the request's ephemeral key, for that identity, server and request only", function () {
      const { secretKey, publicKey } = ephemeralKeyPair();
      const sealed = sealShare(publicKey, identity, 2, digest, share);
      expect(openShare(secretKey, identity, 2, digest, sealed)).to.deep.equal(share);
      expect(() => openShare(ephemeralKeyPair().secretKey, identity, 2, digest, sealed)).to.throw(DecryptionError);
      expect(() => openShare(secretKey, `${identity}x`, 2, digest, sealed)).to.throw(DecryptionError);
      expect(() => openShare(secretKey, identity, 3, digest, sealed)).to.throw(DecryptionError);
      expect(() => openShare(secretKey, identity, 2, random32(), sealed)).to.throw(DecryptionError);
      const tampered = `${sealed.slice(0, -2)}${sealed.endsWith("00") ? "01" : "00"}` as Hex;
      expect(() => openShare(secretKey, identity, 2, digest, tampered)).to.throw(DecryptionError);
    });

    it("refuses an ephemeral key of low order", function () {
      expect(() => sealShare(toHex(new Uint8Array(32)), identity, 1, digest, share)).to.throw(InvalidInputError);
    });
  });

  describe("requests", function () {
    it("sign different digests for different servers, roles, epochs and chains", function () {
      const base = {
        id: random32(),
        role: "station" as const,
        epoch: 7,
        ephemeralKey: random32(),
        deployment: info.deployment,
        server: 1,
        nonce: random32(),
        deadline: 1_900_000_000,
      };
      const domain = keyServerDomain(31337n, info.registry!);
      const digests = new Set([
        keyRequestDigest(domain, base),
        keyRequestDigest(domain, { ...base, server: 2 }),
        keyRequestDigest(domain, { ...base, epoch: 8 }),
        keyRequestDigest(domain, { ...base, role: "node", epoch: undefined } as never),
        keyRequestDigest(keyServerDomain(1n, info.registry!), base),
      ]);
      expect(digests.size).to.equal(5);
    });

    it("name a node's two identities, a station's one per epoch, an application's one", function () {
      const id = random32();
      expect(identitiesFor("node", id)).to.deep.equal([
        `strata-nbiot/v1/node/sign/${id}`,
        `strata-nbiot/v1/node/encrypt/${id}`,
      ]);
      expect(identitiesFor("station", id, 3)).to.deep.equal([`strata-nbiot/v1/station/sign/${id}/epoch/3`]);
      expect(identitiesFor("application", id)).to.deep.equal([`strata-nbiot/v1/application/sign/${id}`]);
    });
  });

  describe("policy", function () {
    const record = (kind: number, status: number, permissions = 1): DeviceRecord =>
      ({ id: random32(), kind, status, permissions }) as unknown as DeviceRecord;
    const reason = (f: () => void): string | undefined => {
      try {
        f();
        return undefined;
      } catch (e) {
        expect(e).to.be.instanceOf(KeyRequestRefusedError);
        return (e as KeyRequestRefusedError).reason;
      }
    };
    const app = DEFAULT_APPLICATION_PERMISSION;

    it("gives each role to its kind only, and only while Active", function () {
      expect(reason(() => checkPolicy(record(Kind.Device, Status.Active), "node", app))).to.equal(undefined);
      expect(reason(() => checkPolicy(record(Kind.BaseStation, Status.Active), "station", app))).to.equal(undefined);
      expect(
        reason(() => checkPolicy(record(Kind.Device, Status.Active, (app | 1) >>> 0), "application", app)),
      ).to.equal(undefined);
      expect(reason(() => checkPolicy(record(Kind.Device, Status.Active), "application", app))).to.equal("wrong-role");
      expect(reason(() => checkPolicy(record(Kind.FogNode, Status.Active), "node", app))).to.equal("wrong-role");
      expect(reason(() => checkPolicy(record(Kind.Device, Status.Active), "station", app))).to.equal("wrong-role");
      expect(reason(() => checkPolicy(record(Kind.BaseStation, Status.Active, app), "application", app))).to.equal(
        "wrong-role",
      );
      for (const status of [Status.Pending, Status.Suspended, Status.Blocked, Status.Revoked]) {
        expect(reason(() => checkPolicy(record(Kind.Device, status), "node", app))).to.equal("not-active");
      }
      expect(reason(() => checkPolicy(record(Kind.Device, Status.None), "node", app))).to.equal("unknown-device");
    });

    it("issues station keys for the previous, current and next epoch only, and no epoch to other roles", function () {
      const day = 86_400_000;
      const now = 100 * day + 5;
      for (const epoch of [99, 100, 101])
        expect(reason(() => checkEpoch("station", epoch, now, day))).to.equal(undefined);
      for (const epoch of [98, 102, undefined])
        expect(reason(() => checkEpoch("station", epoch, now, day))).to.equal("bad-epoch");
      expect(reason(() => checkEpoch("node", 0, now, day))).to.equal("bad-epoch");
      expect(reason(() => checkEpoch("application", undefined, now, day))).to.equal(undefined);
    });
  });

  describe("audit chain", function () {
    it("breaks at an entry changed, dropped or reordered", function () {
      const genesis = auditGenesis(info.deployment, 1);
      expect(genesis).to.not.equal(auditGenesis(info.deployment, 2));
      const entries: AuditEntry[] = [];
      let prev = genesis;
      for (let seq = 1; seq <= 4; seq++) {
        const r = {
          time: seq,
          outcome: "issued" as const,
          reason: null,
          id: random32(),
          role: "node",
          epoch: null,
          nonce: random32(),
          digest: random32(),
          signer: null,
          identities: [],
        };
        const hash = auditHash(prev, seq, r);
        entries.push({ ...r, seq, prev, hash });
        prev = hash;
      }
      expect(firstBrokenEntry(entries, genesis)).to.equal(-1);
      expect(
        firstBrokenEntry(
          entries.map((e, i) => (i === 2 ? { ...e, outcome: "refused" } : e)),
          genesis,
        ),
      ).to.equal(2);
      expect(firstBrokenEntry([entries[0]!, entries[2]!, entries[3]!], genesis)).to.equal(1);
      expect(firstBrokenEntry([entries[1]!, entries[0]!], genesis)).to.equal(0);
      expect(firstBrokenEntry(entries.slice(2), entries[1]!.hash, 3)).to.equal(-1);
    });
  });
});
