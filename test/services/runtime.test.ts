/**
 * The shared runtime of the services: checked configuration, sealed secret files, the HTTP
 * service's typed error answers rebuilt by the client, and the process life (ready line, stop).
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";
import type { FastifyInstance } from "fastify";

import { AccessDeniedError, InvalidInputError, ProtocolError, TimeoutError, TransportError } from "../../sdk/errors.ts";
import { loadConfig } from "../../services/runtime/config.ts";
import { PayloadTooLargeError } from "../../services/runtime/errors.ts";
import { closeHttp, createHttpService, listen } from "../../services/runtime/http.ts";
import { requestJson } from "../../services/runtime/http-client.ts";
import { silentLogger } from "../../services/runtime/log.ts";
import { createMetrics } from "../../services/runtime/metrics.ts";
import { openSecret, sealSecret, takePassphrase } from "../../services/runtime/secret-file.ts";

const refusal = (work: () => unknown): string => {
  try {
    work();
  } catch (error) {
    expect(error).to.be.instanceOf(InvalidInputError);
    return (error as InvalidInputError).shortMessage;
  }
  return expect.fail("not refused");
};

describe("services/runtime", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "strata-runtime-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe("loadConfig", () => {
    const schema = {
      type: "object",
      additionalProperties: false,
      required: ["port"],
      properties: { port: { type: "integer", minimum: 0, maximum: 65535 }, host: { type: "string" } },
    };
    const write = (name: string, text: string) => {
      const file = join(dir, name);
      writeFileSync(file, text);
      return file;
    };

    it("returns a configuration that matches its schema", () => {
      expect(loadConfig(write("ok.json", '{"port": 80, "host": "127.0.0.1"}'), schema)).to.deep.equal({
        port: 80,
        host: "127.0.0.1",
      });
    });

    it("names the file and the field of an unknown, missing or wrong field", () => {
      const extra = write("extra.json", '{"port": 80, "prot": 1}');
      expect(refusal(() => loadConfig(extra, schema))).to.equal(`${extra}: /prot is not a known field`);
      const missing = write("missing.json", "{}");
      expect(refusal(() => loadConfig(missing, schema))).to.equal(`${missing}: /port is missing`);
      const wrong = write("wrong.json", '{"port": 70000}');
      expect(refusal(() => loadConfig(wrong, schema))).to.equal(`${wrong}: /port must be <= 65535`);
    });

    it("names a file that is absent or not JSON", () => {
      expect(refusal(() => loadConfig(join(dir, "absent.json"), schema, "station configuration"))).to.match(
        /absent\.json: the station configuration file cannot be read \(ENOENT\)/,
      );
      expect(refusal(() => loadConfig(write("bad.json", "{port"), schema))).to.match(
        /bad\.json: the configuration is not JSON/,
      );
    });
  });

  describe("sealed secret files", () => {
    it("opens what it sealed, with mode 0600", () => {
      const file = join(dir, "secret.json");
      sealSecret(file, { share: "0x01", index: 3 }, "correct horse");
      expect(statSync(file).mode & 0o777).to.equal(0o600);
      expect(openSecret(file, "correct horse")).to.deep.equal({ share: "0x01", index: 3 });
    });

    it("refuses a wrong passphrase, a flipped byte and a damaged file, naming the file", () => {
      const file = join(dir, "secret2.json");
      sealSecret(file, "value", "pass");
      expect(refusal(() => openSecret(file, "other"))).to.equal(
        `${file}: the passphrase is wrong or the sealed secret is damaged`,
      );
      const sealed = JSON.parse(readFileSync(file, "utf8")) as { ciphertext: string };
      const flipped = (parseInt(sealed.ciphertext.slice(0, 2), 16) ^ 1).toString(16).padStart(2, "0");
      writeFileSync(file, JSON.stringify({ ...sealed, ciphertext: flipped + sealed.ciphertext.slice(2) }));
      expect(refusal(() => openSecret(file, "pass"))).to.equal(
        `${file}: the passphrase is wrong or the sealed secret is damaged`,
      );
      writeFileSync(file, '{"version": 1}');
      expect(refusal(() => openSecret(file, "pass"))).to.match(
        /the sealed secret is damaged \(not a version 1 sealed file\)/,
      );
      writeFileSync(file, "{");
      expect(refusal(() => openSecret(file, "pass"))).to.match(/the sealed secret is damaged \(not JSON\)/);
    });

    it("takes the passphrase from the environment once and removes it", () => {
      process.env.STRATA_PASSPHRASE = "from env";
      expect(takePassphrase()).to.equal("from env");
      expect(process.env.STRATA_PASSPHRASE).to.equal(undefined);
      expect(takePassphrase()).to.equal("from env");
    });
  });

  describe("the HTTP service and its client", () => {
    let app: FastifyInstance;
    let url: string;
    let healthy = true;
    before(async () => {
      app = createHttpService({
        name: "test",
        logger: silentLogger(),
        metrics: createMetrics("test", { defaults: false }),
        bodyLimit: 1024,
        health: () => ({ ok: healthy }),
      });
      app.post(
        "/echo",
        {
          schema: {
            body: {
              type: "object",
              additionalProperties: false,
              required: ["n"],
              properties: { n: { type: "integer" } },
            },
          },
        },
        async (request) => {
          const { n } = request.body as { n: number };
          if (n === 1) throw new ProtocolError("replay", "the message was seen before", { seq: 5n });
          if (n === 2) throw new AccessDeniedError("expired", "the token expired");
          if (n === 3) throw new Error("secret internals");
          if (n === 4) await new Promise((r) => setTimeout(r, 2_000));
          return { n };
        },
      );
      ({ url } = await listen(app, "127.0.0.1", 0));
    });
    after(() => closeHttp(app, 500));

    const thrown = async (work: Promise<unknown>) => {
      try {
        await work;
      } catch (e) {
        return e as Error;
      }
      return expect.fail("no error");
    };

    it("answers a good request", async () => {
      expect(await requestJson(`${url}/echo`, { body: { n: 7 } })).to.deep.equal({ n: 7 });
    });

    it("rebuilds a rejection as the same class with its reason and details", async () => {
      const e = await thrown(requestJson(`${url}/echo`, { body: { n: 1 } }));
      expect(e).to.be.instanceOf(ProtocolError);
      expect((e as ProtocolError).reason).to.equal("replay");
      expect((e as ProtocolError).shortMessage).to.equal("the message was seen before");
      expect((e as ProtocolError).details.seq).to.equal("5");
      const denied = await thrown(requestJson(`${url}/echo`, { body: { n: 2 } }));
      expect(denied).to.be.instanceOf(AccessDeniedError);
      expect((denied as AccessDeniedError).reason).to.equal("expired");
    });

    it("refuses a body off its schema or over the limit before the handler, naming the field", async () => {
      const extra = await thrown(requestJson(`${url}/echo`, { body: { n: 1, m: 2 } }));
      expect(extra).to.be.instanceOf(InvalidInputError);
      expect((extra as InvalidInputError).shortMessage).to.equal(
        "the request body is invalid: /m is not a known field",
      );
      const wrongType = await thrown(requestJson(`${url}/echo`, { body: { n: "1" } }));
      expect((wrongType as InvalidInputError).shortMessage).to.equal("the request body is invalid: /n must be integer");
      const big = await thrown(requestJson(`${url}/echo`, { body: { n: 1, pad: "x".repeat(2000) } }));
      expect(big).to.be.instanceOf(PayloadTooLargeError);
      const response = await fetch(`${url}/echo`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{",
      });
      expect(response.status).to.equal(400);
      expect(((await response.json()) as { error: { name: string } }).error.name).to.equal("InvalidInputError");
    });

    it("hides an internal error's text", async () => {
      const response = await fetch(`${url}/echo`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"n":3}',
      });
      expect(response.status).to.equal(500);
      expect(await response.text()).to.not.contain("secret internals");
    });

    it("serves /metrics and /healthz", async () => {
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).to.match(/strata_http_errors_total\{route="\/echo",name="ProtocolError",service="test"\} 1/);
      expect((await fetch(`${url}/healthz`)).status).to.equal(200);
      healthy = false;
      expect((await fetch(`${url}/healthz`)).status).to.equal(503);
      healthy = true;
    });

    it("gives a TimeoutError on a missed deadline and a TransportError on a refused connection", async () => {
      expect(await thrown(requestJson(`${url}/echo`, { body: { n: 4 }, timeoutMs: 100 }))).to.be.instanceOf(
        TimeoutError,
      );
      const closed = await thrown(requestJson("http://127.0.0.1:1/x"));
      expect(closed).to.be.instanceOf(TransportError);
      expect(closed).to.not.be.instanceOf(TimeoutError);
    });
  });
});
