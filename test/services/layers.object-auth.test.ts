/**
 * Who may speak for an edge layer's objects: client tokens on `/contracts/*`, checked before the
 * body, required when an edge node listens beyond loopback.
 */
import { createHash } from "node:crypto";

import { expect } from "chai";
import type { FastifyInstance } from "fastify";

import { InvalidInputError, PeerAuthenticationError } from "../../sdk/errors.ts";
import { closeHttp, createHttpService, listen } from "../../services/runtime/http.ts";
import { requestJson } from "../../services/runtime/http-client.ts";
import { silentLogger } from "../../services/runtime/log.ts";
import { createMetrics } from "../../services/runtime/metrics.ts";
import { checkObjectAccess, isLoopback, objectAuthHook } from "../../services/layers/object-auth.ts";

const TOKEN = "van-gateway-token-0123456789";
const clients = [{ name: "van gateway", tokenSha256: createHash("sha256").update(TOKEN).digest("hex") }];

describe("edge node object access", () => {
  describe("checkObjectAccess", () => {
    it("needs client tokens beyond loopback, naming the file and field", () => {
      expect(isLoopback("127.0.0.1") && isLoopback("::1") && isLoopback("localhost")).to.equal(true);
      expect(isLoopback("0.0.0.0") || isLoopback("10.0.0.7") || isLoopback("::")).to.equal(false);
      expect(() => checkObjectAccess("127.0.0.1", undefined, "edge.json")).to.not.throw();
      expect(() => checkObjectAccess("0.0.0.0", clients, "edge.json")).to.not.throw();
      for (const missing of [undefined, []]) {
        try {
          checkObjectAccess("0.0.0.0", missing, "edge.json");
          expect.fail("not refused");
        } catch (e) {
          expect(e).to.be.instanceOf(InvalidInputError);
          expect((e as InvalidInputError).shortMessage).to.equal(
            "edge.json: /clients is missing: an edge node listening on 0.0.0.0 must authenticate who speaks for its objects",
          );
        }
      }
    });
  });

  describe("objectAuthHook over HTTP", () => {
    let app: FastifyInstance;
    let url: string;
    let handled = 0;
    before(async () => {
      app = createHttpService({
        name: "edge",
        logger: silentLogger(),
        metrics: createMetrics("edge", { defaults: false }),
        health: () => ({ ok: true }),
      });
      const schema = {
        body: { type: "object", additionalProperties: false, properties: { from: { type: "string" } } },
      };
      app.post("/contracts/open", { schema, onRequest: [objectAuthHook(clients)] }, () => {
        handled++;
        return { ok: true };
      });
      app.post("/open-loopback", { schema, onRequest: [objectAuthHook(undefined)] }, () => ({ ok: true }));
      ({ url } = await listen(app, "127.0.0.1", 0));
    });
    after(() => closeHttp(app, 500));

    const refusal = async (headers: Record<string, string>, body: unknown = { from: "1" }) => {
      try {
        await requestJson(`${url}/contracts/open`, { body, headers });
      } catch (e) {
        return e as PeerAuthenticationError;
      }
      return expect.fail("not refused");
    };

    it("serves a caller with a known token", async () => {
      expect(
        await requestJson(`${url}/contracts/open`, {
          body: { from: "1" },
          headers: { authorization: `Bearer ${TOKEN}` },
        }),
      ).to.deep.equal({
        ok: true,
      });
      expect(handled).to.equal(1);
    });

    it("refuses no token, a malformed header and an unknown token with 401, before the body is checked", async () => {
      const none = await refusal({});
      expect(none).to.be.instanceOf(PeerAuthenticationError);
      expect(none.reason).to.equal("no-credential");
      expect((await refusal({ authorization: `Basic ${TOKEN}` })).reason).to.equal("no-credential");
      expect((await refusal({ authorization: "Bearer someone-else-token-000000" })).reason).to.equal("bad-credential");
      // A body off the schema is still refused as unauthenticated: nothing of it is read first.
      expect((await refusal({}, { junk: true })).reason).to.equal("no-credential");
      expect(handled).to.equal(1);
      const response = await fetch(`${url}/contracts/open`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      expect(response.status).to.equal(401);
    });

    it("checks nothing when no clients are configured (loopback only)", async () => {
      expect(await requestJson(`${url}/open-loopback`, { body: { from: "1" } })).to.deep.equal({ ok: true });
    });
  });
});
