/**
 * A JSON-RPC proxy in front of a real node, for tests of nodes that refuse a block tag or drop
 * the answer to a send.
 */
import { createServer as createHttpServer, type Server } from "node:http";

interface RpcRequest {
  readonly id: unknown;
  readonly method: string;
  readonly params?: unknown;
}

/**
 * A JSON-RPC proxy on 127.0.0.1 to the node at `target`: `refuseFinalized` answers any request
 * naming the `finalized` tag with an error (a node that does not serve it); `dropAfterSend` forwards
 * the first `eth_sendRawTransaction` to the node, then closes the connection unanswered (the
 * transaction went through, its answer is lost).
 */
export async function rpcProxy(
  target: string,
  mode: { refuseFinalized?: boolean; dropAfterSend?: boolean },
): Promise<{ url: string; server: Server }> {
  let drops = mode.dropAfterSend === true ? 1 : 0;
  const server = createHttpServer((req, res) => {
    let body = "";
    req.on("data", (b: Buffer) => (body += b.toString()));
    req.on("end", () => {
      void (async () => {
        const parsed = JSON.parse(body) as RpcRequest | RpcRequest[];
        const requests = Array.isArray(parsed) ? parsed : [parsed];
        let drop = false;
        const one = async (r: RpcRequest) => {
          if (mode.refuseFinalized === true && JSON.stringify(r.params ?? []).includes('"finalized"')) {
            return { jsonrpc: "2.0", id: r.id, error: { code: -32602, message: "invalid block tag: finalized" } };
          }
          const answer = await fetch(target, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(r),
          });
          if (r.method === "eth_sendRawTransaction" && drops > 0) {
            drops--;
            drop = true;
          }
          return (await answer.json()) as unknown;
        };
        const out = [];
        for (const r of requests) out.push(await one(r));
        if (drop) {
          res.socket?.destroy();
          return;
        }
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify(Array.isArray(parsed) ? out : out[0]));
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}
