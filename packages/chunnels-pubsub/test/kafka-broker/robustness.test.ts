// Bad input never crashes the Kafka test broker: a connection that sends something
// undecodable is closed, every other connection goes on, and a bad record batch is
// refused with the error code a real broker gives.
import { randomUUID } from 'node:crypto';
import { createConnection, type Socket } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey, ErrorCode } from '../support/kafka-broker/api.js';
import { startKafkaBroker, type KafkaBroker } from '../support/kafka-broker/index.js';
import { Reader, Writer } from '../support/kafka-broker/wire.js';

let broker: KafkaBroker;
const connectionErrors: string[] = [];

beforeAll(async () => {
  broker = await startKafkaBroker({ maxMessageBytes: 10_000, onConnectionError: (e) => connectionErrors.push(e.message) });
});
afterAll(() => broker.stop());

/** A raw connection: sends bytes, reads size-prefixed responses, tells when the broker closed it. */
async function raw(): Promise<{ socket: Socket; send(b: Buffer): void; response(): Promise<Reader>; closed: Promise<void> }> {
  const socket = createConnection({ host: broker.host, port: broker.port });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let pending = Buffer.alloc(0);
  const waiters: Array<(r: Reader) => void> = [];
  socket.on('data', (d: Buffer) => {
    pending = Buffer.concat([pending, d]);
    while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
      const frame = pending.subarray(4, 4 + pending.readInt32BE(0));
      pending = pending.subarray(4 + frame.length);
      waiters.shift()?.(new Reader(frame));
    }
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  return {
    socket,
    send: (b) => socket.write(b),
    response: () => new Promise((resolve) => waiters.push(resolve)),
    closed,
  };
}

/** A request frame: header v1 (key, version, correlation id, client id) and body. */
function request(apiKey: number, version: number, body: (w: Writer) => void, correlationId = 7): Buffer {
  const w = new Writer().int16(apiKey).int16(version).int32(correlationId).string('raw');
  body(w);
  const payload = Buffer.concat(w.toBuffers());
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length);
  return Buffer.concat([size, payload]);
}

async function stillServes(): Promise<void> {
  const c = await raw();
  c.send(request(ApiKey.ApiVersions, 0, () => undefined));
  const r = await c.response();
  expect(r.int32()).toBe(7);
  expect(r.int16()).toBe(ErrorCode.NONE);
  c.socket.destroy();
}

describe('Kafka test broker: bad input', () => {
  it('closes a connection whose frame size is negative or beyond the limit, and serves others', async () => {
    for (const size of [-5, 200 * 1024 * 1024]) {
      const c = await raw();
      const b = Buffer.alloc(8);
      b.writeInt32BE(size);
      c.send(b);
      await c.closed;
    }
    await stillServes();
  });

  it('closes a connection that sends a truncated request, an unknown API or an unoffered version', async () => {
    const bad = [
      request(ApiKey.Metadata, 4, (w) => w.int32(1_000_000)), // claims a million topic names
      request(ApiKey.Produce, 7, (w) => w.string(null).int16(1)), // stops mid-request
      request(99, 0, () => undefined),
      request(ApiKey.Fetch, 12, () => undefined),
      request(ApiKey.Produce, 0, () => undefined), // magic 0 message sets are not offered
    ];
    for (const b of bad) {
      const c = await raw();
      c.send(b);
      await c.closed;
    }
    expect(connectionErrors.length).toBeGreaterThanOrEqual(bad.length);
    await stillServes();
  });

  it('answers 1,000 pipelined requests in order (reading ahead a bounded number)', async () => {
    const c = await raw();
    const answers: number[] = [];
    const all = Promise.all(Array.from({ length: 1000 }, () => c.response().then((r) => void answers.push(r.int32()))));
    c.send(Buffer.concat(Array.from({ length: 1000 }, (_, i) => request(ApiKey.ApiVersions, 2, () => undefined, i))));
    await all;
    expect(answers).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    c.socket.destroy();
  });

  it('answers an ApiVersions newer than it speaks with UNSUPPORTED_VERSION and its list (KIP-511)', async () => {
    const c = await raw();
    c.send(request(ApiKey.ApiVersions, 9, () => undefined));
    const r = await c.response();
    r.int32();
    expect(r.int16()).toBe(ErrorCode.UNSUPPORTED_VERSION);
    const keys = r.array((r) => ({ apiKey: r.int16(), min: r.int16(), max: r.int16() }));
    expect(keys).toContainEqual({ apiKey: ApiKey.Fetch, min: 4, max: 11 });
    c.socket.destroy();
  });

  it('survives random request bodies for every API it offers', async () => {
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    const keys = Object.values(ApiKey);
    for (let i = 0; i < 300; i++) {
      const c = await raw();
      const body = Buffer.from(Array.from({ length: random() % 64 }, () => random() & 0xff));
      c.send(request(keys[i % keys.length]!, random() % 8, (w) => void w.bytesList([body])));
      // Either an answer (an error, or an empty result) or a closed connection: never a hang or a crash.
      await Promise.race([c.response(), c.closed, new Promise((r) => setTimeout(r, 200))]);
      c.socket.destroy();
    }
    await stillServes();
  });

  it('refuses a record batch whose CRC does not match with CORRUPT_MESSAGE and stores nothing', async () => {
    const topic = `bad-${randomUUID()}`;
    broker.createTopic(topic, 1);
    // A minimal magic-2 batch header with one (absent) record and a wrong CRC.
    const batch = Buffer.alloc(61);
    batch.writeInt32BE(61 - 12, 8);
    batch.writeInt8(2, 16);
    batch.writeUInt32BE(0xdeadbeef, 17);
    batch.writeInt32BE(1, 57);
    const c = await raw();
    c.send(
      request(ApiKey.Produce, 7, (w) =>
        w.string(null).int16(1).int32(1000).array([topic], (w, t) => w.string(t).array([0], (w, p) => w.int32(p).bytes(batch))),
      ),
    );
    const r = await c.response();
    r.int32();
    const [result] = r.array((r) => ({ name: r.string(), partitions: r.array((r) => ({ partition: r.int32(), errorCode: r.int16() })) }));
    expect(result!.partitions[0]!.errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(broker.highWatermarks(topic)).toEqual([0]);
    c.socket.destroy();
  });

  it('refuses a batch over message.max.bytes with MESSAGE_TOO_LARGE (kafkajs reports it)', async () => {
    const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const producer = kafka.producer();
    await producer.connect();
    const topic = `big-${randomUUID()}`;
    await expect(producer.send({ topic, messages: [{ value: Buffer.alloc(20_000, 1) }] })).rejects.toThrow(/message larger/);
    await producer.send({ topic, messages: [{ value: 'small' }] });
    expect(broker.highWatermarks(topic)).toEqual([1]);
    await producer.disconnect();
  });
});
