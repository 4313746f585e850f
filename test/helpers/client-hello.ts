import { randomBytes } from 'node:crypto';

// A hand-built TLS 1.2 ClientHello (RFC 5246 §7.4.1.2, RFC 6066 server_name), for handshakes no TLS
// library will send: a 64 KB SNI, or a truncated hello. Split into records of at most 16 KB, as a
// handshake message larger than one record must be.

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function u24(n: number): Buffer {
  return Buffer.from([(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
}

function extension(type: number, data: Buffer): Buffer {
  return Buffer.concat([u16(type), u16(data.length), data]);
}

/** The ClientHello handshake message (type 1), with `serverName` as its SNI. */
export function clientHello(serverName: string): Buffer {
  const name = Buffer.from(serverName, 'latin1');
  const sni = Buffer.concat([u16(name.length + 3), Buffer.from([0]), u16(name.length), name]);
  const groups = Buffer.from([0x00, 0x04, 0x00, 0x1d, 0x00, 0x17]); // x25519, secp256r1
  const sigalgs = Buffer.from([0x00, 0x06, 0x04, 0x01, 0x08, 0x04, 0x04, 0x03]);
  const extensions = Buffer.concat([
    extension(0x0000, sni),
    extension(0x000a, groups),
    extension(0x000b, Buffer.from([0x01, 0x00])),
    extension(0x000d, sigalgs),
  ]);
  const body = Buffer.concat([
    Buffer.from([0x03, 0x03]), // TLS 1.2
    randomBytes(32),
    Buffer.from([0x00]), // no session id
    Buffer.from([0x00, 0x04, 0xc0, 0x2f, 0xc0, 0x2b]), // ECDHE-RSA/ECDSA-AES128-GCM-SHA256
    Buffer.from([0x01, 0x00]), // no compression
    u16(extensions.length),
    extensions,
  ]);
  return Buffer.concat([Buffer.from([0x01]), u24(body.length), body]);
}

/** Handshake bytes as TLS records (content type 22) of at most 16 KB each. */
export function handshakeRecords(message: Buffer): Buffer {
  const records: Buffer[] = [];
  for (let off = 0; off < message.length; off += 16384) {
    const part = message.subarray(off, off + 16384);
    records.push(Buffer.from([0x16, 0x03, 0x01]), u16(part.length), part);
  }
  return Buffer.concat(records);
}
