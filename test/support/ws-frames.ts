/**
 * Reads unmasked server WebSocket text frames back to their payloads (7, 16 and 64-bit
 * lengths); anything else is an error naming where it stood.
 */
export function parseFrames(bytes: Buffer): string[] {
  const out: string[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (bytes[at] !== 0x81) throw new Error(`not a text frame at ${at}`);
    let length = bytes[at + 1]!;
    at += 2;
    if (length === 126) {
      length = bytes.readUInt16BE(at);
      at += 2;
    } else if (length === 127) {
      length = Number(bytes.readBigUInt64BE(at));
      at += 8;
    }
    out.push(bytes.subarray(at, at + length).toString());
    at += length;
  }
  return out;
}
