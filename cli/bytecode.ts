/**
 * Whether the code at an address is a contract's: its runtime code against the runtime that the
 * artifact's creation bytecode carries. Pure. Two things may differ and are ignored: solc's CBOR
 * metadata at the end (its hash covers the whole compile job, so a rebuild can change it while the
 * code stays the same), and immutables (`PUSH32` of 32 zero bytes in the artifact, filled in by the
 * constructor, e.g. `DataAnchor.registry`).
 */

const PUSH1 = 0x60;
const PUSH32 = 0x7f;

function bytesOf(hex: string): Uint8Array {
  const h = hex.startsWith("0x") ? hex.slice(2) : hex;
  if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) return new Uint8Array();
  return Uint8Array.from({ length: h.length / 2 }, (_v, i) => parseInt(h.slice(i * 2, i * 2 + 2), 16));
}

/**
 * The code without its trailing CBOR metadata: solc ends it with the metadata's length in two
 * bytes, the metadata a CBOR map (first byte 0xa0–0xbf). Code without metadata is left as it is.
 */
export function withoutMetadata(code: Uint8Array): Uint8Array {
  if (code.length < 2) return code;
  const length = (code[code.length - 2]! << 8) | code[code.length - 1]!;
  const start = code.length - 2 - length;
  if (length === 0 || start < 0 || (code[start]! & 0xe0) !== 0xa0) return code;
  return code.subarray(0, start);
}

/** `runtime` equals `template` opcode by opcode, a `PUSH32 0` in the template matching any 32 bytes. */
function sameWithImmutables(runtime: Uint8Array, template: Uint8Array): boolean {
  if (runtime.length !== template.length) return false;
  let i = 0;
  while (i < template.length) {
    const op = template[i]!;
    if (runtime[i] !== op) return false;
    const data = op >= PUSH1 && op <= PUSH32 ? op - PUSH1 + 1 : 0;
    const end = Math.min(i + 1 + data, template.length);
    const placeholder = op === PUSH32 && template.subarray(i + 1, end).every((b) => b === 0);
    if (!placeholder) {
      for (let j = i + 1; j < end; j++) if (runtime[j] !== template[j]) return false;
    }
    i = end;
  }
  return true;
}

/** Whether a CBOR metadata block of `length` bytes (its 2-byte length included) starts at `start`. */
function isMetadataAt(bytes: Uint8Array, start: number, length: number): boolean {
  const end = start + length;
  if (length < 3 || end > bytes.length) return false;
  return ((bytes[end - 2]! << 8) | bytes[end - 1]!) === length - 2 && (bytes[start]! & 0xe0) === 0xa0;
}

/**
 * Whether `runtime` (the code at an address, `eth_getCode`) is the contract whose creation
 * bytecode is `creation`: the creation code carries the runtime template after the constructor,
 * followed by the template's own metadata (or at its very end when there is none), and the two
 * are the same but for the metadata's content and the immutables.
 */
export function isRuntimeOf(runtime: string, creation: string): boolean {
  const full = bytesOf(runtime);
  const code = withoutMetadata(full);
  const metadataLength = full.length - code.length;
  const init = bytesOf(creation);
  if (code.length === 0) return false;
  for (let at = 0; at + full.length <= init.length; at++) {
    if (init[at] !== code[0]) continue;
    const after = at + code.length;
    const placed = metadataLength === 0 ? after === init.length : isMetadataAt(init, after, metadataLength);
    if (placed && sameWithImmutables(code, init.subarray(at, after))) return true;
  }
  return false;
}
