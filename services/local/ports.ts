/**
 * Ports for the services of a local deployment whose peers must know them before they start
 * (stations, fog members, layer members, edge nodes). They are drawn below Linux's ephemeral
 * range (32768–60999), where no `listen(0)` of this machine — a key server, another test — can be
 * handed one between the draw and the service's own bind, each checked free on 127.0.0.1 and
 * never drawn twice in one deployment.
 */
import { createSocket } from "node:dgram";
import { createServer } from "node:net";

const LOW = 20_000;
const HIGH = 32_000;

const tcpFree = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });

const udpFree = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = createSocket("udp4");
    socket.once("error", () => resolve(false));
    socket.bind(port, "127.0.0.1", () => socket.close(() => resolve(true)));
  });

export interface Ports {
  /** A free TCP port (HTTP, MQTT). */
  tcp(): Promise<number>;
  /** A free UDP port (CoAP). */
  udp(): Promise<number>;
}

export function portAllocator(): Ports {
  const taken = new Set<number>();
  const draw = async (free: (port: number) => Promise<boolean>): Promise<number> => {
    for (let i = 0; i < 1000; i++) {
      const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
      if (taken.has(port)) continue;
      taken.add(port);
      if (await free(port)) return port;
    }
    throw new Error(`no free port between ${LOW} and ${HIGH}`);
  };
  return { tcp: () => draw(tcpFree), udp: () => draw(udpFree) };
}
