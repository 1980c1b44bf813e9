/**
 * The byte layout of the protocol messages (NB-IoT, fog): fixed-width big-endian integers,
 * fixed-length fields and u32-length-prefixed variable fields, written and read
 * in one order. A reader that finds a short, long or mis-tagged buffer throws
 * `ProtocolError("malformed")` naming the field, so no half-parsed message is
 * ever acted on.
 */
import { ProtocolError } from "../errors.ts";

/**
 * Big-endian u64 in and out of a byte array by arithmetic, for the hot paths:
 * touching `.buffer` of a small (on-heap) typed array makes V8 move it off-heap
 * first, which costs more than the rest of a frame's parsing.
 */
export function putU64(out: Uint8Array, at: number, value: number): void {
  const hi = Math.floor(value / 0x1_0000_0000);
  const lo = value >>> 0;
  out[at] = hi >>> 24;
  out[at + 1] = (hi >>> 16) & 0xff;
  out[at + 2] = (hi >>> 8) & 0xff;
  out[at + 3] = hi & 0xff;
  out[at + 4] = lo >>> 24;
  out[at + 5] = (lo >>> 16) & 0xff;
  out[at + 6] = (lo >>> 8) & 0xff;
  out[at + 7] = lo & 0xff;
}

/** The u64 at `at`, or `undefined` when it exceeds `Number.MAX_SAFE_INTEGER`. */
export function getU64(bytes: Uint8Array, at: number): number | undefined {
  const hi = ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
  const lo = ((bytes[at + 4]! << 24) | (bytes[at + 5]! << 16) | (bytes[at + 6]! << 8) | bytes[at + 7]!) >>> 0;
  if (hi > 0x1f_ffff) return undefined;
  return hi * 0x1_0000_0000 + lo;
}

export class Writer {
  #buf: Uint8Array;
  #view: DataView;
  #at = 0;

  constructor(capacity = 256) {
    this.#buf = new Uint8Array(capacity);
    this.#view = new DataView(this.#buf.buffer);
  }

  #room(n: number): void {
    if (this.#at + n <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#at + n));
    next.set(this.#buf.subarray(0, this.#at));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  u8(value: number): this {
    this.#room(1);
    this.#view.setUint8(this.#at, value);
    this.#at += 1;
    return this;
  }

  u32(value: number): this {
    this.#room(4);
    this.#view.setUint32(this.#at, value);
    this.#at += 4;
    return this;
  }

  /** A non-negative safe integer as 8 bytes (timestamps in ms, sequence numbers, counters). */
  u64(value: number): this {
    this.#room(8);
    this.#view.setBigUint64(this.#at, BigInt(value));
    this.#at += 8;
    return this;
  }

  /** Exactly `length` bytes (a fixed-width field). */
  fixed(bytes: Uint8Array, length: number): this {
    if (bytes.length !== length) throw new ProtocolError("malformed", `a field must be ${length} bytes`);
    this.#room(length);
    this.#buf.set(bytes, this.#at);
    this.#at += length;
    return this;
  }

  /** A u32 length followed by the bytes. */
  bytes(bytes: Uint8Array): this {
    this.#room(4 + bytes.length);
    this.#view.setUint32(this.#at, bytes.length);
    this.#buf.set(bytes, this.#at + 4);
    this.#at += 4 + bytes.length;
    return this;
  }

  finish(): Uint8Array {
    return this.#buf.slice(0, this.#at);
  }
}

export class Reader {
  readonly #buf: Uint8Array;
  readonly #view: DataView;
  readonly #what: string;
  #at = 0;

  constructor(buf: Uint8Array, what: string) {
    if (!(buf instanceof Uint8Array)) throw new ProtocolError("malformed", `${what} must be bytes`);
    this.#buf = buf;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.#what = what;
  }

  #need(n: number, field: string): void {
    if (this.#at + n > this.#buf.length) {
      throw new ProtocolError("malformed", `${this.#what}: truncated at ${field}`, { field, length: this.#buf.length });
    }
  }

  u8(field: string): number {
    this.#need(1, field);
    return this.#view.getUint8(this.#at++);
  }

  u32(field: string): number {
    this.#need(4, field);
    const value = this.#view.getUint32(this.#at);
    this.#at += 4;
    return value;
  }

  u64(field: string): number {
    this.#need(8, field);
    const value = this.#view.getBigUint64(this.#at);
    this.#at += 8;
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new ProtocolError("malformed", `${this.#what}: ${field} out of range`, { field });
    }
    return Number(value);
  }

  fixed(length: number, field: string): Uint8Array {
    this.#need(length, field);
    const out = this.#buf.subarray(this.#at, this.#at + length);
    this.#at += length;
    return out;
  }

  bytes(field: string, max = 1 << 20): Uint8Array {
    this.#need(4, field);
    const length = this.#view.getUint32(this.#at);
    if (length > max) throw new ProtocolError("malformed", `${this.#what}: ${field} too long`, { field, length, max });
    this.#at += 4;
    return this.fixed(length, field);
  }

  /** The bytes read so far (what a signature over the body covers). */
  consumed(): Uint8Array {
    return this.#buf.subarray(0, this.#at);
  }

  rest(): Uint8Array {
    return this.#buf.subarray(this.#at);
  }

  end(): void {
    if (this.#at !== this.#buf.length) {
      throw new ProtocolError("malformed", `${this.#what}: ${this.#buf.length - this.#at} trailing bytes`);
    }
  }
}

/** Reads the tag byte and refuses any other. */
export function expectTag(reader: Reader, tag: number, what: string): void {
  const got = reader.u8("tag");
  if (got !== tag) throw new ProtocolError("malformed", `not a ${what} (tag ${got}, expected ${tag})`);
}
