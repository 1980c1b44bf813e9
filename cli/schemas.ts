/**
 * JSON Schemas (draft 2020-12 subset, as Ajv reads them) of what `strata … --json` prints, per
 * command, and of the error object every command prints on failure. Scripts can validate against
 * them; the tests validate every document the command prints.
 */
const hex = (bytes: number) => ({ type: "string", pattern: `^0x[0-9a-fA-F]{${bytes * 2}}$` });
const address = hex(20);
const word = hex(32);
const decimal = { type: "string", pattern: "^[0-9]+$" };
const tx = { type: "object", required: ["transaction"], properties: { transaction: word } };
const object = (required: string[], properties: Record<string, unknown>) => ({
  type: "object",
  required,
  properties,
});
const curve = { enum: ["secp256k1", "p256"] };
const p256Key = object(["x", "y"], { x: word, y: word });
const storedKey = object(["name", "address", "curve", "file"], {
  name: { type: "string" },
  address,
  curve,
  file: { type: "string" },
  publicKey: p256Key,
});
const deployed = object(["address", "txHash", "block"], { address, txHash: word, block: { type: "integer" } });

export const ERROR_SCHEMA = object(["error"], {
  error: object(["name", "message", "exitCode"], {
    name: { type: "string" },
    message: { type: "string" },
    details: { type: "object" },
    exitCode: { type: "integer", minimum: 1, maximum: 7 },
  }),
});

export const OUTPUT_SCHEMAS: Readonly<Record<string, object>> = {
  "key new": storedKey,
  "key import": storedKey,
  "key list": object(["keystore", "keys"], { keystore: { type: "string" }, keys: { type: "array", items: storedKey } }),
  "key export-public": {
    oneOf: [
      object(["name", "curve", "address", "publicKey"], {
        curve: { const: "secp256k1" },
        address,
        publicKey: { type: "string", pattern: "^0x04[0-9a-f]{128}$" },
      }),
      object(["name", "curve", "address", "publicKey"], { curve: { const: "p256" }, address, publicKey: p256Key }),
    ],
  },
  deploy: object(["chainId", "deployed", "resumed", "file", "deployer", "contracts"], {
    chainId: decimal,
    deployed: { type: "boolean" },
    resumed: { type: "boolean" },
    deployer: address,
    contracts: { type: "object", additionalProperties: deployed },
  }),
  status: object(["url", "chainId", "head", "contracts"], {
    chainId: decimal,
    head: { type: "integer" },
    contracts: {
      type: "array",
      items: object(["name", "address", "code"], { address, code: { type: "boolean" }, count: { type: "integer" } }),
    },
  }),
  "layer set-operator": object(["layer", "operator", "transaction"], { operator: address, transaction: word }),
  "device register": object(["id", "key", "curve", "transaction", "status"], {
    id: word,
    key: address,
    curve,
    transaction: word,
  }),
  "device register-batch": object(["file", "rows"], {
    rows: {
      type: "array",
      items: object(["row", "key", "id", "status"], { row: { type: "integer" }, id: word, status: { type: "string" } }),
    },
  }),
  "device appoint": tx,
  "device approve": tx,
  "device heartbeat": tx,
  "device report": tx,
  "device rekey": tx,
  "device revoke": tx,
  "device transfer": tx,
  "device show": object(["id", "key", "owner", "kind", "label", "status", "trust"], {
    id: word,
    key: address,
    owner: address,
    kind: { enum: ["Device", "BaseStation", "FogNode", "EdgeNode"] },
    label: { enum: ["Lightweight", "Full", "Coordination"] },
    status: { enum: ["None", "Pending", "Active", "Suspended", "Blocked", "Revoked"] },
    trust: { type: "integer" },
  }),
  "device history": object(["id", "history"], {
    history: {
      type: "array",
      items: object(["event", "blockNumber", "transactionHash"], { event: { type: "string" }, transactionHash: word }),
    },
  }),
  "token mint": object(["tokenId", "transaction"], { tokenId: decimal, transaction: word }),
  "token shift": object(["tokenId", "shift", "transaction"], {
    shift: object(["holder", "start", "end"], { holder: address, start: decimal, end: decimal }),
  }),
  "token hand-over": object(["tokenId", "shift", "transaction"], { transaction: word }),
  "token return": tx,
  "token revoke": tx,
  "token show": object(["resource", "owner", "holder", "revoked", "shifts"], {
    resource: word,
    owner: address,
    revoked: { type: "boolean" },
    shifts: { type: "array" },
  }),
  "access check": object(["resource", "account", "access"], { access: { type: "boolean" } }),
  "peer challenge": object(["challenge"], {
    challenge: object(["prover", "verifier", "nonce", "issuedAt"], {
      prover: word,
      verifier: word,
      nonce: word,
      issuedAt: decimal,
    }),
  }),
  "peer answer": object(["challenge", "signature"], { signature: { oneOf: [hex(65), hex(128)] } }),
  "peer verify": object(["verified"], { verified: { type: "boolean" } }),
  anchor: object(["chainId", "root", "leafCount", "sequence", "transaction", "block", "bundles"], {
    chainId: decimal,
    root: word,
    leafCount: { type: "integer", minimum: 1 },
    sequence: decimal,
    transaction: word,
    block: { type: "integer" },
    bundles: { type: "array", items: { type: "string" } },
  }),
  verify: object(["bundle", "kind", "state", "checks"], {
    bundle: { type: "string" },
    kind: { enum: ["record", "reading", "batch", "summary"] },
    state: { enum: ["invalid", "offline", "pending", "anchored", "final"] },
    checks: {
      type: "array",
      items: object(["check", "ok", "detail"], {
        check: { type: "string" },
        ok: { type: "boolean" },
        detail: { type: "string" },
      }),
    },
    confirmations: { type: "integer" },
  }),
  "layer establish": object(["file", "version", "layers", "edges"], {
    file: { type: "string" },
    version: { const: 1 },
    layers: {
      type: "array",
      items: object(["address", "layerId", "chainId", "rpc", "ledger", "members"], {
        layerId: word,
        chainId: decimal,
        ledger: address,
        members: {
          type: "array",
          items: object(["index", "node", "publicKey", "keyFile"], { node: address, publicKey: hex(96) }),
        },
      }),
    },
    edges: {
      type: "array",
      items: object(["address", "layerId", "superior", "node", "keyFile", "store"], { layerId: word, node: address }),
    },
  }),
  // the ready line of a service (stdout, one line), then logs on stderr until it stops
  "layer run": object(["ready", "service", "url", "port", "layer", "index", "node", "chainId"], {
    ready: { const: true },
    service: { const: "layer" },
    url: { type: "string" },
    port: { type: "integer" },
    node: address,
    chainId: decimal,
  }),
  "edge run": object(["ready", "service", "url", "port", "edge", "node"], {
    ready: { const: true },
    service: { const: "edge" },
    url: { type: "string" },
    port: { type: "integer" },
    node: address,
  }),
  "keyserver deal": object(["out", "deployment", "threshold", "servers", "public", "shares", "configs"], {
    out: { type: "string" },
    deployment: word,
    threshold: { type: "integer", minimum: 1 },
    servers: { type: "integer", minimum: 1 },
    public: { type: "string" },
    shares: { type: "array", items: { type: "string" } },
    configs: { type: "array", items: { type: "string" } },
  }),
  "keyserver audit": object(["url", "server", "deployment", "head", "entries", "issued", "refused", "verified"], {
    url: { type: "string" },
    server: { type: "integer", minimum: 1 },
    deployment: word,
    head: object(["seq", "hash"], { seq: { type: "integer", minimum: 0 }, hash: word }),
    entries: { type: "integer", minimum: 0 },
    issued: { type: "integer", minimum: 0 },
    refused: { type: "integer", minimum: 0 },
    verified: { type: "boolean" },
    brokenAt: { type: "integer", minimum: 0 },
  }),
  "keyserver run": object(["ready", "service", "url", "port", "server", "deployment"], {
    ready: { const: true },
    service: { const: "keyserver" },
    url: { type: "string" },
    port: { type: "integer" },
    server: { type: "integer", minimum: 1 },
    deployment: word,
  }),
  "station run": object(["ready", "service", "url", "http", "coap", "id"], {
    ready: { const: true },
    service: { const: "station" },
    url: { type: "string" },
    http: { type: "string" },
    coap: { type: "string", pattern: "^coap://" },
    id: word,
  }),
  // the ready line, then one summary line when the devices stop
  "sim nbiot": object(["ready", "service", "devices", "stations"], {
    ready: { const: true },
    service: { const: "sim-nbiot" },
    devices: { type: "integer" },
    stations: { type: "integer" },
  }),
  "fog deal": object(["files", "public"], {
    files: { type: "array", items: { type: "string" } },
    public: object(["version", "threshold", "members", "commitments", "groupKey", "peksPublicKey"], {
      threshold: { type: "integer" },
      members: { type: "integer" },
      commitments: { type: "array", items: hex(96) },
      groupKey: hex(256),
      peksPublicKey: hex(48),
    }),
  }),
  "fog register": object(["cluster", "epoch", "threshold", "members", "groupKey", "since", "tx", "block"], {
    cluster: hex(32),
    epoch: { type: "integer" },
    threshold: { type: "integer" },
    members: { type: "array", items: hex(32) },
    groupKey: hex(256),
    since: { type: "string" },
    tx: hex(32),
    block: { type: "integer" },
  }),
  // a service prints its ready line (JSON) on stdout, then runs until stopped
  "fog run": object(["ready", "url"], { ready: { const: true }, url: { type: "string" } }),
  "sim sensors": object(["ready"], { ready: { const: true } }),
};
