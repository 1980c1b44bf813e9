/**
 * The key servers as separate processes over HTTP on 127.0.0.1 (issue 15, seed 000's PKG t-of-n),
 * against a `hardhat node` in its own process: a 2-of-3 dealing made by `strata keyserver deal`,
 * three `strata keyserver run` processes, devices registered on chain. Keys issued are used; each
 * refusal is asserted by its reason; the audit log's chain is checked; servers are killed.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type Server } from "node:http";
import { DatabaseSync } from "node:sqlite";

import { expect } from "chai";
import { Wallet } from "ethers";

import { type Hex, toHex } from "../../sdk/core/bytes.ts";
import { mclBackend } from "../../sdk/core/crypto/backend.ts";
import { checkPrivateKey } from "../../sdk/core/crypto/identity.ts";
import {
  checkNodeKeys,
  nbiotParams,
  signingIdentity,
  type ApplicationKeys,
  type NodeKeys,
} from "../../sdk/core/nbiot/params.ts";
import { openPrimaryKey, sealPrimaryKey } from "../../sdk/core/nbiot/provisioning.ts";
import { Kind } from "../../sdk/core/registry.ts";
import { Label } from "../../sdk/core/labels.ts";
import { minimalProfile } from "../../sdk/core/profile.ts";
import { buildRegistration } from "../../sdk/core/registration.ts";
import { type P256Signer, p256SoftwareKey, randomP256PrivateKey } from "../../sdk/core/p256.ts";
import { KeyIssuanceError, KeyRequestRefusedError, type StrataError } from "../../sdk/errors.ts";
import { requestJson } from "../../services/runtime/http-client.ts";
import { listen } from "../../services/runtime/http.ts";
import { silentLogger } from "../../services/runtime/log.ts";
import { ThresholdScheme } from "../../sdk/core/crypto/threshold.ts";
import { createKeyServer, openShareFile } from "../../services/keyserver/server.ts";
import { startService, type ServiceProcess } from "../../services/runtime/process.ts";
import { AuditLog, type AuditEntry, firstBrokenEntry } from "../../services/keyserver/audit.ts";
import {
  checkAuditLog,
  type KeyServerAccess,
  loadKeyServerPublic,
  requestIdentityKeys,
  stationKeySource,
} from "../../services/keyserver/client.ts";
import {
  DEFAULT_APPLICATION_PERMISSION,
  ephemeralKeyPair,
  type KeyRequest,
  keyRequestValue,
  KEY_REQUEST_TYPES,
  keyServerDomain,
  type KeyServerPublic,
  sealedParts,
} from "../../services/keyserver/protocol.ts";
import { type NodeProcess, startHardhatNode } from "../../support/node-process.ts";
import { deployRpcChain, type RpcChain } from "../helpers/rpc-chain.ts";
import { jsonOf, PASSPHRASE, strataIn } from "../helpers/cli.ts";

const backend = await mclBackend();
const randomId = (): Hex => toHex(crypto.getRandomValues(new Uint8Array(32)));

/** An HTTP proxy to `target` that cuts every connection while `down` (a JSON-RPC node gone). */
async function switchableProxy(target: string): Promise<{ url: string; server: Server; down: boolean; calls: number }> {
  const state = { url: "", server: undefined as unknown as Server, down: false, calls: 0 };
  state.server = createServer((req, res) => {
    if (state.down) {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (b: Buffer) => chunks.push(b));
    req.on("end", () => {
      state.calls += (
        Buffer.concat(chunks)
          .toString()
          .match(/"eth_call"/g) ?? []
      ).length;
      fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body: Buffer.concat(chunks) })
        .then(async (answer) => {
          res.setHeader("content-type", "application/json");
          res.end(await answer.text());
        })
        .catch(() => req.socket.destroy());
    });
  });
  await new Promise<void>((resolve) => state.server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${(state.server.address() as { port: number }).port}`;
  return state;
}

interface AuditPage {
  readonly genesis: Hex;
  readonly head: { seq: number; hash: Hex };
  readonly prev: Hex;
  readonly entries: AuditEntry[];
}

describe("key servers (2 of 3, processes over HTTP, hardhat node)", function () {
  this.timeout(120_000);

  let node: NodeProcess;
  let chain: RpcChain;
  let dir: string;
  let info: KeyServerPublic;
  let urls: string[];
  const servers: ServiceProcess[] = [];
  const env = { ...process.env, STRATA_PASSPHRASE: PASSPHRASE, STRATA_LOG_LEVEL: "warn" };
  let device: { id: Hex; key: Wallet };
  let station: { id: Hex; key: Wallet };
  let application: { id: Hex; key: Wallet };
  let sensor: { id: Hex; key: P256Signer };
  let proxy: { url: string; server: Server; down: boolean; calls: number };

  const access = (who: { id: Hex; key: Wallet }, more: Partial<KeyServerAccess> = {}): KeyServerAccess => ({
    servers: urls,
    public: info,
    id: who.id,
    signer: who.key,
    backend,
    ...more,
  });

  /** Every server's refusal reason, in server order (the request must fail on all of them). */
  async function refusals(request: Promise<unknown>): Promise<(string | undefined)[]> {
    const error = await request.then(
      () => expect.fail("the key servers issued keys"),
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(KeyIssuanceError);
    return (error as KeyIssuanceError).failures.map((f) => f.reason);
  }

  const audit = (url: string, after = 0) => requestJson<AuditPage>(`${url}/v1/audit?after=${after}`);

  /** A request signed for server `index` as the client would make it. */
  async function signedRequest(who: { id: Hex; key: Wallet }, index: number, more: Partial<KeyRequest> = {}) {
    const request: KeyRequest = {
      id: who.id,
      role: "node",
      ephemeralKey: ephemeralKeyPair().publicKey,
      deployment: info.deployment,
      server: index,
      nonce: randomId(),
      deadline: Math.floor(Date.now() / 1000) + 60,
      ...more,
    };
    const domain = keyServerDomain(chain.chainId, chain.registry.address);
    const signature = await who.key.signTypedData(domain, KEY_REQUEST_TYPES, keyRequestValue(request));
    return { request, signature };
  }

  before(async function () {
    node = await startHardhatNode();
    chain = await deployRpcChain(node.provider, "strata://city/keyservers");
    dir = mkdtempSync(join(tmpdir(), "strata-keyserver-"));
    const dealt = await strataIn(dir)([
      "--json",
      "--rpc",
      node.url,
      "keyserver",
      "deal",
      "--servers",
      "3",
      "--threshold",
      "2",
      "--out",
      join(dir, "ks"),
      "--registry",
      chain.registry.address,
      "--chain-id",
      String(chain.chainId),
    ]);
    expect(dealt.code, dealt.stderr).to.equal(0);
    info = loadKeyServerPublic(backend, join(dir, "ks", "public.json"));
    // server 3 reads the chain through a proxy the tests can take down
    proxy = await switchableProxy(node.url);
    const third = join(dir, "ks", "server-3.json");
    writeFileSync(third, JSON.stringify({ ...JSON.parse(readFileSync(third, "utf8")), rpc: proxy.url }));
    const [started, registered] = await Promise.all([
      Promise.all(
        [1, 2, 3].map((i) =>
          startService(["keyserver", "run", "--config", join(dir, "ks", `server-${i}.json`)], { env }),
        ),
      ),
      (async () => {
        device = await chain.admit(Kind.Device, "Device/Sensor/Temperature");
        station = await chain.admit(Kind.BaseStation, "Gateway/BaseStation/NB-IoT");
        application = await chain.admit(Kind.Device, "Device/Sensor/Temperature");
        await chain.registry.setPermissions(application.id, (1 | DEFAULT_APPLICATION_PERMISSION) >>> 0);
        // a lightweight device whose key is a P-256 key (a secure element's), served by `device`
        const key = p256SoftwareKey(randomP256PrivateKey());
        const req = buildRegistration({
          uuid: { layer: chain.layer, localId: 1_000_000n },
          key: key.address,
          kind: Kind.Device,
          label: Label.Lightweight,
          permissions: 1,
          profile: minimalProfile("Device/Sensor/Temperature"),
          deadline: 2n ** 40n,
        });
        const sig = await chain.registry.signRegistrationP256(key, req, await chain.admin.getAddress());
        const { id } = await chain.registry.registerP256(req, key.publicKey, sig);
        await chain.approveDevice(id, device.id);
        sensor = { id, key };
      })(),
    ]);
    servers.push(...started);
    void registered;
    urls = servers.map((s) => String(s.ready.url));
  });

  after(async function () {
    await Promise.all(servers.map((s) => s.kill()));
    await node?.stop();
    proxy?.server.closeAllConnections();
    proxy?.server.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe("issuing", function () {
    it("gives a registered, Active node its signing and decryption keys, and an application its signing key; they work together", async function () {
      const keys: NodeKeys = await requestIdentityKeys({ ...access(device), role: "node" });
      expect(keys.id).to.equal(device.id);
      checkNodeKeys(backend, info.masterPublic, keys);
      const app: ApplicationKeys = await requestIdentityKeys({ ...access(application), role: "application" });
      // the application seals a primary key to the node and signs it; the node checks and opens it
      const params = nbiotParams(backend, info.masterPublic);
      const { key, sealed } = sealPrimaryKey(params, app, keys.id, Date.now());
      expect(openPrimaryKey(params, keys, app.id, sealed)).to.deep.equal(key);
    });

    it("gives a device whose registered key is a P-256 key its keys, on that key's signature", async function () {
      const keys = await requestIdentityKeys({ ...access(device), id: sensor.id, signer: sensor.key, role: "node" });
      checkNodeKeys(backend, info.masterPublic, keys);
      const page = await audit(urls[0]!);
      expect(page.entries.find((e) => e.id === sensor.id && e.outcome === "issued")?.signer).to.equal(
        sensor.key.address,
      );
    });

    it("gives a station the key of an epoch, and keeps the current and next epochs' keys for it", async function () {
      const epochMs = 24 * 3_600_000;
      const current = Math.floor(Date.now() / epochMs);
      const key = await requestIdentityKeys({ ...access(station), role: "station", epoch: current });
      expect(
        checkPrivateKey(backend, info.masterPublic, signingIdentity("station", station.id, current), key),
      ).to.equal(true);
      const source = stationKeySource({ ...access(station), timing: { keyEpochMs: epochMs } });
      await source.start();
      source.stop();
      expect(source.held()).to.deep.equal([current, current + 1]);
      expect(backend.g1.eq(source.keyFor(current), key)).to.equal(true);
      expect(() => source.keyFor(current + 2)).to.throw(/holds no signing key for epoch/);
      // a station whose clock runs an epoch ahead: the servers issue the epoch after the current
      // one only, so the one after that is refused, reported, and not held
      const errors: [unknown, number][] = [];
      const ahead = stationKeySource({
        ...access(station),
        timing: { keyEpochMs: epochMs },
        clock: () => Date.now() + epochMs,
        onError: (error, epoch) => errors.push([error, epoch]),
      });
      await ahead.start();
      ahead.stop();
      expect(ahead.held()).to.deep.equal([current + 1]);
      expect(errors.map(([, epoch]) => epoch)).to.deep.equal([current + 2]);
      expect((errors[0]![0] as KeyIssuanceError).failures.map((f) => f.reason)).to.deep.equal(
        Array(3).fill("bad-epoch"),
      );
    });

    it("records every issuance in a hash-chained audit log anyone can check", async function () {
      for (const url of urls) {
        const page = await audit(url);
        expect(page.prev).to.equal(page.genesis);
        expect(page.entries.length).to.equal(page.head.seq);
        expect(firstBrokenEntry(page.entries, page.genesis)).to.equal(-1);
        const issued = page.entries.filter((e) => e.outcome === "issued");
        expect(issued.map((e) => e.role)).to.include.members(["node", "application", "station"]);
        const nodeEntry = issued.find((e) => e.id === device.id)!;
        expect(nodeEntry.signer).to.equal(device.key.address);
        expect(nodeEntry.identities).to.deep.equal([
          signingIdentity("node", device.id),
          `strata-nbiot/v1/node/encrypt/${device.id}`,
        ]);
        // a page from the middle continues from the hash before it
        const tail = await audit(url, 2);
        expect(tail.prev).to.equal(page.entries[1]!.hash);
        expect(firstBrokenEntry(tail.entries, tail.prev, 3)).to.equal(-1);
        // an entry changed in transit no longer verifies
        const forged = page.entries.map((e, i) => (i === 1 ? { ...e, role: "station" } : e));
        expect(firstBrokenEntry(forged, page.genesis)).to.equal(1);
      }
    });
  });

  describe("auditing", function () {
    it("checks a server's whole log (strata keyserver audit), and a head read earlier against it", async function () {
      const whole = await strataIn(dir)([
        "--json",
        "keyserver",
        "audit",
        "--url",
        urls[1]!,
        "--public",
        join(dir, "ks", "public.json"),
      ]);
      expect(whole.code, whole.stderr).to.equal(0);
      const check = jsonOf(whole) as { verified: boolean; server: number; entries: number; head: { seq: number } };
      expect(check).to.include({ verified: true, server: 2 });
      expect(check.entries).to.equal(check.head.seq);
      const page = await audit(urls[1]!);
      // a head read earlier: still there (nothing rewritten), or not (history rewritten)
      const kept = await checkAuditLog(urls[1]!, { from: { seq: 2, hash: page.entries[1]!.hash } });
      expect(kept).to.include({ verified: true, entries: page.head.seq - 2 });
      const rewritten = await checkAuditLog(urls[1]!, { from: { seq: 2, hash: page.entries[0]!.hash } });
      expect(rewritten).to.include({ verified: false, brokenAt: 2 });
      const other = await checkAuditLog(urls[1]!, { deployment: randomId() }).catch((e) => e);
      expect((other as Error).message).to.match(/serves deployment 0x[0-9a-f]{64}, not/);
    });
  });

  describe("refusing", function () {
    it("refuses an unregistered id (unknown-device)", async function () {
      const stranger = { id: randomId(), key: Wallet.createRandom() as unknown as Wallet };
      expect(await refusals(requestIdentityKeys({ ...access(stranger), role: "node" }))).to.deep.equal(
        Array(3).fill("unknown-device"),
      );
    });

    it("refuses a device that is pending or revoked (not-active)", async function () {
      const pending = await chain.register(Label.Full, Kind.Device, "Device/Sensor/Temperature");
      expect(await refusals(requestIdentityKeys({ ...access(pending), role: "node" }))).to.deep.equal(
        Array(3).fill("not-active"),
      );
      const revoked = await chain.admit(Kind.Device, "Device/Sensor/Temperature");
      await chain.registry.revoke(revoked.id);
      expect(await refusals(requestIdentityKeys({ ...access(revoked), role: "node" }))).to.deep.equal(
        Array(3).fill("not-active"),
      );
    });

    it("refuses a role the registered kind does not have (wrong-role)", async function () {
      const epoch = Math.floor(Date.now() / (24 * 3_600_000));
      expect(await refusals(requestIdentityKeys({ ...access(device), role: "station", epoch }))).to.deep.equal(
        Array(3).fill("wrong-role"),
      );
      expect(await refusals(requestIdentityKeys({ ...access(device), role: "application" }))).to.deep.equal(
        Array(3).fill("wrong-role"),
      );
      expect(await refusals(requestIdentityKeys({ ...access(station), role: "node" }))).to.deep.equal(
        Array(3).fill("wrong-role"),
      );
    });

    it("refuses a request signed by another key (wrong-signer) or with a malformed signature (bad-signature)", async function () {
      const impostor = { id: device.id, key: Wallet.createRandom() as unknown as Wallet };
      expect(await refusals(requestIdentityKeys({ ...access(impostor), role: "node" }))).to.deep.equal(
        Array(3).fill("wrong-signer"),
      );
      const { request, signature } = await signedRequest(device, 1);
      const highS = `${signature.slice(0, 66)}${"ff".repeat(32)}${signature.slice(130)}`;
      const error = await requestJson(`${urls[0]}/v1/keys`, { body: { request, signature: highS } }).catch((e) => e);
      expect(error).to.be.instanceOf(KeyRequestRefusedError);
      expect((error as KeyRequestRefusedError).reason).to.equal("bad-signature");
    });

    it("refuses an expired request, one whose deadline is too far, and a station epoch outside the window", async function () {
      expect(
        await refusals(requestIdentityKeys({ ...access(device, { now: () => Date.now() - 600_000 }), role: "node" })),
      ).to.deep.equal(Array(3).fill("expired"));
      expect(
        await refusals(requestIdentityKeys({ ...access(device, { lifetimeSeconds: 3600 }), role: "node" })),
      ).to.deep.equal(Array(3).fill("too-far"));
      const epoch = Math.floor(Date.now() / (24 * 3_600_000)) + 5;
      expect(await refusals(requestIdentityKeys({ ...access(station), role: "station", epoch }))).to.deep.equal(
        Array(3).fill("bad-epoch"),
      );
    });

    it("refuses a replayed request and one addressed to another server, and says so with 401", async function () {
      const signed = await signedRequest(device, 1);
      const first = await requestJson<{ server: number }>(`${urls[0]}/v1/keys`, { body: signed });
      expect(first.server).to.equal(1);
      const again = await fetch(`${urls[0]}/v1/keys`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(signed),
      });
      expect(again.status).to.equal(401);
      expect(((await again.json()) as { error: { reason: string } }).error.reason).to.equal("replayed");
      // the same request twice at once: served once
      const twin = await signedRequest(device, 1);
      const both = await Promise.allSettled([0, 1].map(() => requestJson(`${urls[0]}/v1/keys`, { body: twin })));
      expect(both.filter((r) => r.status === "fulfilled")).to.have.length(1);
      const lost = both.find((r) => r.status === "rejected") as PromiseRejectedResult;
      expect((lost.reason as KeyRequestRefusedError).reason).to.equal("replayed");
      const elsewhere = await requestJson(`${urls[1]}/v1/keys`, { body: signed }).catch((e) => e);
      expect((elsewhere as KeyRequestRefusedError).reason).to.equal("wrong-server");
    });

    it("answers an oversized or malformed body with 413/400 before any check, and writes nothing to the audit log", async function () {
      const before = (await audit(urls[0]!)).head;
      const post = (body: string) =>
        fetch(`${urls[0]}/v1/keys`, { method: "POST", headers: { "content-type": "application/json" }, body });
      const signed = await signedRequest(device, 1);
      const big = await post(JSON.stringify({ ...signed, padding: "x".repeat(10_000) }));
      expect(big.status).to.equal(413);
      expect(((await big.json()) as { error: { name: string } }).error.name).to.equal("PayloadTooLargeError");
      for (const body of [
        "{not json",
        JSON.stringify({ ...signed, extra: 1 }),
        JSON.stringify({ request: { ...signed.request, role: "fog" }, signature: signed.signature }),
        JSON.stringify({ request: { ...signed.request, id: "0x12" }, signature: signed.signature }),
        JSON.stringify({ request: signed.request, signature: "0x1234" }),
      ]) {
        const answer = await post(body);
        expect(answer.status, body).to.equal(400);
        expect(((await answer.json()) as { error: { name: string } }).error.name).to.equal("InvalidInputError");
      }
      expect((await audit(urls[0]!)).head).to.deep.equal(before);
      // the refusals above of identified requesters are in the log, still chained; the others
      // (anyone could have sent them) are counted only
      const page = await audit(urls[0]!);
      expect(firstBrokenEntry(page.entries, page.genesis)).to.equal(-1);
      const reasons = new Set(page.entries.filter((e) => e.outcome === "refused").map((e) => e.reason));
      for (const r of ["not-active", "wrong-role", "replayed"]) expect(reasons.has(r), r).to.equal(true);
      for (const r of ["unknown-device", "wrong-signer", "bad-signature", "expired", "too-far", "wrong-server"]) {
        expect(reasons.has(r), r).to.equal(false);
      }
      const health = await fetch(`${urls[0]}/healthz`);
      expect(health.status).to.equal(200);
      expect(await health.json()).to.include({ ok: true, server: 1, chain: "ok" });
      const metrics = await (await fetch(`${urls[0]}/metrics`)).text();
      expect(metrics).to.match(/strata_keyserver_issued_total\{[^}]*role="node"[^}]*\} [1-9]/);
      expect(metrics).to.match(/strata_keyserver_refused_total\{[^}]*reason="replayed"[^}]*\} 2/);
      for (const r of ["unknown-device", "wrong-signer", "bad-signature", "expired"]) {
        expect(metrics).to.match(
          new RegExp(`strata_keyserver_refused_anonymous_total\\{[^}]*reason="${r}"[^}]*\\} [1-9]`),
        );
      }
    });

    it("answers a failure making the shares as the server's (500), and leaves the request's nonce unspent", async function () {
      let fail = true;
      const auditLog = new AuditLog(join(dir, "in-process.audit.sqlite"), info.deployment, 1);
      const app = createKeyServer({
        backend,
        info,
        share: openShareFile(backend, join(dir, "ks", "server-1.share"), PASSPHRASE, info),
        chainId: chain.chainId,
        registryAddress: chain.registry.address,
        registry: chain.registry,
        audit: auditLog,
        logger: silentLogger(),
        // a worker that crashes once
        extract: (task) =>
          fail
            ? ((fail = false), Promise.reject(new Error("worker exited")))
            : Promise.resolve(sealedParts(new ThresholdScheme(backend), task)),
      });
      const { url } = await listen(app, "127.0.0.1", 0);
      try {
        const signed = await signedRequest(device, 1);
        const failed = await fetch(`${url}/v1/keys`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(signed),
        });
        expect(failed.status).to.equal(500);
        expect(((await failed.json()) as { error: { name: string } }).error.name).to.equal("ShareMakingError");
        // the same request again: served (its nonce was not spent by the failure)
        expect((await requestJson<{ server: number }>(`${url}/v1/keys`, { body: signed })).server).to.equal(1);
      } finally {
        await app.close();
        auditLog.close();
      }
    });

    it("answers a flood of forged requests without an audit entry, and with one registry read per id", async function () {
      const before = (await audit(urls[2]!)).head;
      const reads = proxy.calls;
      const forger = Wallet.createRandom() as unknown as Wallet;
      const stranger = { id: randomId(), key: forger };
      const impostor = { id: device.id, key: forger };
      const forged = [
        ...(await Promise.all([0, 1, 2, 3, 4].map(() => signedRequest(stranger, 3)))),
        ...(await Promise.all([0, 1, 2, 3, 4].map(() => signedRequest(impostor, 3)))),
        await signedRequest(stranger, 2), // wrong-server
        await signedRequest(stranger, 3, { deadline: Math.floor(Date.now() / 1000) - 10 }), // expired
      ];
      const refused = [];
      for (const body of forged) {
        const error = await requestJson(`${urls[2]}/v1/keys`, { body }).catch((e: unknown) => e);
        refused.push((error as KeyRequestRefusedError).reason);
      }
      expect(refused).to.deep.equal([
        ...Array(5).fill("unknown-device"),
        ...Array(5).fill("wrong-signer"),
        "wrong-server",
        "expired",
      ]);
      expect((await audit(urls[2]!)).head).to.deep.equal(before);
      // the stranger's and the device's records were read at most once each (cached; the device's
      // may be cached already from the tests before)
      expect(proxy.calls - reads).to.be.within(1, 2);
    });
  });

  describe("share files and audit logs at rest", function () {
    const run = (config: string, passphrase = PASSPHRASE) =>
      strataIn(dir)(["keyserver", "run", "--config", config], { STRATA_PASSPHRASE: passphrase });

    it("refuses a configuration with an unknown field, and a dealing into a folder that exists, in one line", async function () {
      const config = JSON.parse(readFileSync(join(dir, "ks", "server-1.json"), "utf8")) as Record<string, unknown>;
      writeFileSync(join(dir, "typo.json"), JSON.stringify({ ...config, lisen: 1 }));
      const [typo, again] = await Promise.all([
        run(join(dir, "typo.json")),
        strataIn(dir)(["keyserver", "deal", "--servers", "3", "--threshold", "2", "--out", join(dir, "ks")]),
      ]);
      expect(typo.code).to.equal(3);
      expect(typo.stderr.trim().split("\n")).to.have.length(1);
      expect(typo.stderr).to.include(`${join(dir, "typo.json")}: /lisen is not a known field`);
      expect(again.code).to.equal(3);
      expect(again.stderr).to.include(`${join(dir, "ks")}: already exists`);
    });

    it("refuses to start with a wrong passphrase or a damaged share file, in one line naming the file", async function () {
      const share = join(dir, "ks", "server-1.share");
      const damaged = join(dir, "damaged.share");
      const sealed = JSON.parse(readFileSync(share, "utf8")) as { ciphertext: string };
      sealed.ciphertext = `${sealed.ciphertext[0] === "0" ? "1" : "0"}${sealed.ciphertext.slice(1)}`;
      writeFileSync(damaged, JSON.stringify(sealed));
      const config = JSON.parse(readFileSync(join(dir, "ks", "server-1.json"), "utf8")) as Record<string, unknown>;
      writeFileSync(
        join(dir, "damaged.json"),
        JSON.stringify({
          ...config,
          share: damaged,
          public: join(dir, "ks", "public.json"),
          audit: join(dir, "x.sqlite"),
        }),
      );
      const [wrong, broken] = await Promise.all([
        run(join(dir, "ks", "server-1.json"), "not the passphrase"),
        run(join(dir, "damaged.json")),
      ]);
      for (const [result, file] of [
        [wrong, share],
        [broken, damaged],
      ] as const) {
        expect(result.code).to.equal(3);
        expect(result.stderr.trim().split("\n")).to.have.length(1);
        expect(result.stderr).to.include(`${file}: the passphrase is wrong or the sealed secret is damaged`);
      }
    });

    it("refuses to start on an audit log whose entries were changed", async function () {
      const copy = join(dir, "tampered.sqlite");
      // server 1's log, copied after a graceful stop (which checkpoints it), then one entry edited
      const first = servers[0]!;
      expect(await first.stop()).to.equal(0);
      copyFileSync(join(dir, "ks", "server-1.audit.sqlite"), copy);
      const db = new DatabaseSync(copy);
      db.prepare("UPDATE audit SET role = 'station' WHERE seq = 2").run();
      db.close();
      const config = JSON.parse(readFileSync(join(dir, "ks", "server-1.json"), "utf8")) as Record<string, unknown>;
      writeFileSync(
        join(dir, "tampered.json"),
        JSON.stringify({
          ...config,
          share: join(dir, "ks", "server-1.share"),
          public: join(dir, "ks", "public.json"),
          audit: copy,
        }),
      );
      // the tampered copy is refused; the untouched log opens again, its chain intact
      const [tampered, restarted] = await Promise.all([
        run(join(dir, "tampered.json")),
        startService(["keyserver", "run", "--config", join(dir, "ks", "server-1.json")], { env }),
      ]);
      servers[0] = restarted;
      expect(tampered.code).to.equal(3);
      expect(tampered.stderr.trim().split("\n")).to.have.length(1);
      expect(tampered.stderr).to.include("the audit log's hash chain breaks at entry 2");
      urls[0] = String(servers[0].ready.url);
      const page = await audit(urls[0]);
      expect(page.head.seq).to.be.greaterThan(2);
      expect(firstBrokenEntry(page.entries, page.genesis)).to.equal(-1);
    });
  });

  describe("chain faults", function () {
    it("answers 503 while a server cannot read the chain (its /healthz too), the others still serve, and it serves again once the chain is back", async function () {
      // a device server 3 has never read (a read of `device` may still be cached there)
      const fresh = await chain.admit(Kind.Device, "Device/Sensor/Temperature");
      proxy.down = true;
      try {
        const signed = await signedRequest(fresh, 3);
        const answer = await fetch(`${urls[2]}/v1/keys`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(signed),
        });
        expect(answer.status).to.equal(503);
        expect(((await answer.json()) as { error: { name: string } }).error.name).to.match(
          /TransportError|TimeoutError/,
        );
        expect((await fetch(`${urls[2]}/healthz`)).status).to.equal(503);
        checkNodeKeys(backend, info.masterPublic, await requestIdentityKeys({ ...access(device), role: "node" }));
      } finally {
        proxy.down = false;
      }
      expect((await fetch(`${urls[2]}/healthz`)).status).to.equal(200);
      const signed = await signedRequest(fresh, 3);
      expect((await requestJson<{ server: number }>(`${urls[2]}/v1/keys`, { body: signed })).server).to.equal(3);
      // the refusal during the outage was not identified: counted, not in the log
      const last = (await audit(urls[2]!)).entries.at(-1)!;
      expect([last.outcome, last.id]).to.deep.equal(["issued", fresh.id.toLowerCase()]);
      const metrics = await (await fetch(`${urls[2]}/metrics`)).text();
      expect(metrics).to.match(
        /strata_keyserver_refused_anonymous_total\{[^}]*reason="(TransportError|TimeoutError)"[^}]*\} [1-9]/,
      );
    });
  });

  describe("servers down", function () {
    it("issues with one server killed (t = 2 of 3 still serve)", async function () {
      await servers[2]!.kill();
      const keys = await requestIdentityKeys({ ...access(device), role: "node" });
      checkNodeKeys(backend, info.masterPublic, keys);
    });

    it("fails with a KeyIssuanceError naming both servers when two are down", async function () {
      await servers[1]!.kill();
      const error = await requestIdentityKeys({ ...access(device), role: "node", timeoutMs: 5000 }).catch((e) => e);
      expect(error).to.be.instanceOf(KeyIssuanceError);
      const failures = (error as KeyIssuanceError).failures;
      expect(failures.map((f) => f.server)).to.deep.equal([urls[1], urls[2]]);
      expect(failures.map((f) => f.error)).to.deep.equal(["TransportError", "TransportError"]);
      expect((error as StrataError).shortMessage).to.include(`1 of 3 key servers served, 2 needed`);
      expect((error as StrataError).shortMessage).to.include(urls[1]!);
    });
  });
});
