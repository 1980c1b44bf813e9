/**
 * Where a fog node takes its sensors' readings (seed 004's device layer over MQTT, issue 15):
 * an embedded broker (aedes) on a TCP port by default, or an external broker (mosquitto, EMQX)
 * by URL. Sensors publish each encoded reading as a QoS 1 message on `strata/readings/<device
 * id>`. Either way a message reaches `accept` before the broker is told it arrived (embedded: in
 * `authorizePublish`, before the publisher's PUBACK; external: the subscriber's PUBACK waits for
 * it, on a persistent session), so a reading the broker acknowledged is in the node's inbox.
 */
import { createServer, type Server } from "node:net";

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

/** An aedes broker on `host:port` whose reading topics go to `accept`. */
export async function embeddedBroker(host: string, port: number, accept: Accept): Promise<ReadingSource> {
  const broker = await Aedes.createBroker({ heartbeatInterval: 60_000, maxClientsIdLength: 128 });
  broker.authorizePublish = (_client, packet, callback) => {
    if (packet.topic.startsWith("$SYS/")) {
      callback(new Error("$SYS/ topics are reserved"));
      return;
    }
    if (packet.topic.startsWith(READING_TOPIC_PREFIX)) {
      try {
        accept(packet.topic, packet.payload as Uint8Array);
      } catch (e) {
        callback(e as Error);
        return;
      }
    }
    callback(null);
  };
  // nobody subscribes to readings: aedes need not hold them
  broker.authorizeSubscribe = (_client, subscription, callback) => {
    callback(null, subscription.topic.startsWith(READING_TOPIC_PREFIX) ? null : subscription);
  };
  const server: Server = createServer(broker.handle);
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

/**
 * A persistent-session subscriber on an external broker: `clientId` must stay the same across
 * restarts, so the broker keeps the messages it did not acknowledge and delivers them again.
 */
export async function externalBroker(url: string, clientId: string, accept: Accept): Promise<ReadingSource> {
  const client: MqttClient = mqtt.connect(url, {
    clientId,
    clean: false,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    protocolVersion: 4,
  });
  client.handleMessage = (packet, callback) => {
    try {
      accept(packet.topic, packet.payload as Uint8Array);
      callback();
    } catch (e) {
      // no PUBACK: the broker delivers it again after a reconnect
      client.end(true);
      callback(e as Error);
    }
  };
  // a broker that cannot be reached at start is one line, not a service that never gets ready
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.end(true);
      reject(new TransportError(`the MQTT broker at ${url} could not be reached`, { url }));
    }, CONNECT_DEADLINE_MS);
    client.once("connect", () => {
      clearTimeout(timer);
      resolve();
    });
    client.once("error", (e) => {
      clearTimeout(timer);
      client.end(true);
      reject(new TransportError(`the MQTT broker at ${url} refused the connection: ${e.message}`, { url }));
    });
  });
  await client.subscribeAsync(`${READING_TOPIC_PREFIX}+`, { qos: 1 });
  return {
    url,
    connected: () => client.connected,
    close: () => client.endAsync(),
  };
}
