/**
 * Where a fog node takes its sensors' readings (seed 004's device layer over MQTT, issue 15):
 * an embedded broker (aedes) on a TCP port by default, or an external broker (mosquitto, EMQX)
 * by URL. Sensors publish each encoded reading as a QoS 1 message on `strata/readings/<device
 * id>`. Either way a message reaches `accept` before the broker is told it arrived (embedded: in
 * `authorizePublish`, before the publisher's PUBACK; external: the subscriber's PUBACK waits for
 * it, on a persistent session), so a reading the broker acknowledged is in the node's inbox.
 *
 * The embedded broker takes unauthenticated sensors, so it holds nothing they did not earn: a
 * packet whose fixed header announces more than `maxPacketBytes` cuts the connection before its
 * body is read (mqtt-packet would buffer up to 256 MiB first), and a publish to a topic other than
 * a reading topic, or with the retain flag (aedes would keep it for good), is refused (the
 * connection is closed: MQTT 3.1.1 has no negative acknowledgement); each is counted by `refused`.
 */
import { createServer, type Server, type Socket } from "node:net";
import { Duplex, pipeline, Transform } from "node:stream";

import { Aedes } from "aedes";
import mqtt, { type MqttClient } from "mqtt";

import { TransportError } from "../../sdk/errors.ts";

/** How long a member waits for an external broker at start. */
const CONNECT_DEADLINE_MS = 15_000;

/** The topic sensors publish readings on. */
export const READING_TOPIC_PREFIX = "strata/readings/";

export interface ReadingSource {
  /** The broker URL sensors use. */
  readonly url: string;
  readonly connected: () => boolean;
  close(): Promise<void>;
}

/** Called for each message on a reading topic; throwing withholds the acknowledgement. */
export type Accept = (topic: string, payload: Uint8Array) => void;

/** Why the embedded broker cut a client. */
export type BrokerRefusal = "oversized-packet" | "foreign-topic" | "retained";

/**
 * Reads MQTT fixed headers as bytes pass (type byte, then the Remaining Length's 1-4 bytes, then
 * the body skipped) and answers false as soon as a header announces more than `max` bytes or a
 * length is malformed: before mqtt-packet buffers the body.
 */
export function packetSizeGuard(max: number): (chunk: Uint8Array) => boolean {
  let skip = 0; // body bytes still to pass
  let header = false; // inside a Remaining Length
  let length = 0;
  let shift = 0;
  return (chunk) => {
    let i = 0;
    while (i < chunk.length) {
      if (skip > 0) {
        const n = Math.min(skip, chunk.length - i);
        skip -= n;
        i += n;
        continue;
      }
      if (!header) {
        header = true; // the type byte
        length = 0;
        shift = 0;
        i++;
        continue;
      }
      const b = chunk[i++]!;
      length += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (length > max || (b & 0x80 && shift >= 28)) return false;
      if ((b & 0x80) === 0) {
        header = false;
        skip = length;
      }
    }
    return true;
  };
}

/** A socket seen through a `packetSizeGuard`: an oversized packet destroys it. */
function guarded(socket: Socket, max: number, onOversized: () => void): Duplex {
  const fits = packetSizeGuard(max);
  const inbound = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (fits(chunk)) {
        callback(null, chunk);
        return;
      }
      onOversized();
      socket.destroy();
      callback(new Error("MQTT packet over the size limit"));
    },
  });
  pipeline(socket, inbound, () => {});
  return Duplex.from({ readable: inbound, writable: socket });
}

export interface EmbeddedOptions {
  /** The largest MQTT packet a client may send (its fixed header's Remaining Length). */
  readonly maxPacketBytes: number;
  /** Counts each refusal. */
  readonly refused: (reason: BrokerRefusal) => void;
}

/** An aedes broker on `host:port` whose reading topics go to `accept`; nothing else is taken. */
export async function embeddedBroker(
  host: string,
  port: number,
  accept: Accept,
  options: EmbeddedOptions,
): Promise<ReadingSource> {
  const broker = await Aedes.createBroker({ heartbeatInterval: 60_000, maxClientsIdLength: 128 });
  broker.authorizePublish = (_client, packet, callback) => {
    if (!packet.topic.startsWith(READING_TOPIC_PREFIX)) {
      options.refused("foreign-topic");
      callback(new Error("only reading topics are taken"));
      return;
    }
    if (packet.retain) {
      options.refused("retained");
      callback(new Error("retained messages are refused"));
      return;
    }
    try {
      accept(packet.topic, packet.payload as Uint8Array);
    } catch (e) {
      callback(e as Error);
      return;
    }
    callback(null);
  };
  // nobody subscribes to readings: aedes need not hold them
  broker.authorizeSubscribe = (_client, subscription, callback) => {
    callback(null, subscription.topic.startsWith(READING_TOPIC_PREFIX) ? null : subscription);
  };
  const server: Server = createServer((socket) => {
    socket.on("error", () => {}); // a reset is the client's end, seen by aedes through the guard
    broker.handle(guarded(socket, options.maxPacketBytes, () => options.refused("oversized-packet")));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const taken = typeof address === "object" && address !== null ? address.port : port;
  return {
    url: `mqtt://${host}:${taken}`,
    connected: () => server.listening,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}

/** The first wait before reconnecting to an external broker; it doubles up to `RECONNECT_MAX_MS`. */
const RECONNECT_MS = 500;
const RECONNECT_MAX_MS = 15_000;

export interface ExternalOptions {
  /** Told of each socket or broker error after start (the client reconnects by itself). */
  readonly onError?: (e: Error) => void;
  /** Told of each connection after the first (a reconnect). */
  readonly onReconnected?: () => void;
}

/**
 * A persistent-session subscriber on an external broker: `clientId` must stay the same across
 * restarts, so the broker keeps the messages it did not acknowledge and delivers them again. A
 * broker that cannot be reached at start fails the start; after it, a lost connection (a broker
 * restart, a failover, a reset) is taken up again by mqtt.js with back-off (0.5 s doubling to
 * 15 s), and the reading topics are subscribed again when the broker lost the session; meanwhile
 * `connected()` is false (the service's `/healthz` answers 503). A reading `accept` cannot keep
 * (the inbox failed) cuts the connection: it is not acknowledged, and comes again after the
 * reconnect.
 */
export async function externalBroker(
  url: string,
  clientId: string,
  accept: Accept,
  options: ExternalOptions = {},
): Promise<ReadingSource> {
  const client: MqttClient = mqtt.connect(url, {
    clientId,
    clean: false,
    reconnectPeriod: RECONNECT_MS,
    connectTimeout: 10_000,
    protocolVersion: 4,
  });
  client.handleMessage = (packet, callback) => {
    try {
      accept(packet.topic, packet.payload as Uint8Array);
      callback();
    } catch (e) {
      // no PUBACK: the broker delivers it again after the reconnect
      client.stream.destroy();
      callback(e as Error);
    }
  };
  // a broker that cannot be reached at start is one line, not a service that never gets ready
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      done();
      client.end(true);
      reject(new TransportError(`the MQTT broker at ${url} could not be reached`, { url }));
    }, CONNECT_DEADLINE_MS);
    const connected = (): void => {
      done();
      resolve();
    };
    const failed = (e: Error): void => {
      done();
      client.end(true);
      reject(new TransportError(`the MQTT broker at ${url} refused the connection: ${e.message}`, { url }));
    };
    const done = (): void => {
      clearTimeout(timer);
      client.off("connect", connected);
      client.off("error", failed);
    };
    client.once("connect", connected);
    client.once("error", failed);
  });
  // from now on an error is told, never fatal: mqtt.js reconnects
  client.on("error", (e) => options.onError?.(e));
  client.on("reconnect", () => {
    client.options.reconnectPeriod = Math.min(2 * (client.options.reconnectPeriod ?? RECONNECT_MS), RECONNECT_MAX_MS);
  });
  client.on("connect", () => {
    client.options.reconnectPeriod = RECONNECT_MS;
    options.onReconnected?.();
  });
  await client.subscribeAsync(`${READING_TOPIC_PREFIX}+`, { qos: 1 });
  return {
    url,
    connected: () => client.connected,
    close: () => client.endAsync(),
  };
}
