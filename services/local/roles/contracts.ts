/**
 * The contracts a local deployment's edge nodes send (seed 003's first and following
 * communications): every `everyMs`, the van in district A asks the crossing-9 light in district B
 * for a green phase through edge A's central node (`POST /contracts/open`), the light grants it
 * through edge B's (`/contracts/follow`), and the van ends the contract (`ending`). Each message
 * crosses district A, the city and district B, every layer recording its summary on its own
 * chain. One round at a time; a failed round is reported and the next one starts on time.
 */
import { toHex } from "../../../sdk/core/bytes.ts";
import { requestJson } from "../../runtime/http-client.ts";
import type { DeliveryJson, HopJson } from "../../layers/wire.ts";
import { EDGE_B, ROUTE } from "./layers.ts";

interface RouteAnswer {
  readonly summary: string;
  readonly hops: readonly HopJson[];
  readonly delivery?: DeliveryJson;
  readonly stoppedAt?: HopJson;
}

const utf8 = (text: string) => toHex(new TextEncoder().encode(text));

/** Sends one contract (three messages) from edge `a` to edge `b`; returns the hops' outcomes. */
export async function sendContract(a: string, b: string, n: number): Promise<string[]> {
  const timeoutMs = 60_000;
  const opened = await requestJson<RouteAnswer>(`${a}/contracts/open`, {
    body: { from: "1", to: `${EDGE_B}#1`, body: utf8(`contract ${n}: green for 20 s`), route: [...ROUTE] },
    timeoutMs,
  });
  if (!opened.delivery) throw new Error(`contract ${n}: not delivered (stopped at ${opened.stoppedAt?.outcome})`);
  const granted = await requestJson<RouteAnswer>(`${b}/contracts/follow`, {
    body: { last: opened.delivery.packet, from: "1", body: utf8(`contract ${n}: granted`) },
    timeoutMs,
  });
  if (!granted.delivery) throw new Error(`contract ${n}: grant not delivered`);
  const ended = await requestJson<RouteAnswer>(`${a}/contracts/follow`, {
    body: { last: granted.delivery.packet, from: "1", body: utf8(`contract ${n}: passed`), ending: true },
    timeoutMs,
  });
  return [...opened.hops, ...granted.hops, ...ended.hops].map((h) => h.outcome);
}

/** Sends contracts every `everyMs` until stopped; `stop()` waits for the round in flight. */
export function startContractTraffic(o: {
  readonly edges: { readonly a: string; readonly b: string };
  readonly everyMs: number;
  readonly onEvent: (text: string) => void;
}): { stop(): Promise<void> } {
  let stopped = false;
  let n = 0;
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> = Promise.resolve();
  const tick = () => {
    const k = ++n;
    round = sendContract(o.edges.a, o.edges.b, k).then(
      (outcomes) =>
        o.onEvent(`contract ${k}: ${outcomes.length} summaries recorded across district A, city, district B`),
      (e: unknown) => o.onEvent(`contract ${k} failed: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`),
    );
    void round.then(() => {
      if (!stopped) timer = setTimeout(tick, o.everyMs);
    });
  };
  timer = setTimeout(tick, 0);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await round;
    },
  };
}
