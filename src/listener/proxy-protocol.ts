import { isIPv4, isIPv6 } from 'node:net';
import ipaddr from 'ipaddr.js';

// PROXY protocol v1 (text) and v2 (binary) header parser, after haproxy's proxy-protocol.txt.
// It reads from the start of a connection's bytes, which may arrive in pieces: `incomplete` asks for
// more, `invalid` closes the connection, `ok` says how many bytes the header took (the rest belongs to
// the TLS handshake). Written here because proxy-protocol-js needs the whole header as one string or
// array and, for v2, ignores the declared length (TLVs and the payload after them run together).
//
// What is accepted:
//   v1  `PROXY TCP4|TCP6 <src> <dst> <sport> <dport>\r\n` (strict addresses and ports) and
//       `PROXY UNKNOWN …\r\n`; at most 107 bytes, as the spec bounds it.
//   v2  version 2; command LOCAL (the LB's own health checks: no address, the socket's peer stands) or
//       PROXY with AF_INET / AF_INET6 (source taken) or AF_UNSPEC / AF_UNIX (accepted, socket's peer
//       stands); the declared length is honoured whole, so TLVs after the addresses are skipped unread.

export const V1_MAX_BYTES = 107;
/** 16 bytes of fixed header + a 16-bit length. */
export const V2_MAX_BYTES = 16 + 0xffff;

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');

export interface ProxyAddress {
  readonly address: string;
  readonly port: number;
}

export type ProxyHeader =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'invalid'; readonly reason: string }
  | {
      readonly kind: 'ok';
      readonly version: 1 | 2;
      /** `local`: a connection the proxy made itself (health check); `proxy`: a relayed client. */
      readonly command: 'local' | 'proxy';
      /** Bytes the header occupies at the start of the stream. */
      readonly length: number;
      /** The original client, or null when the header carries none (LOCAL, UNKNOWN, AF_UNSPEC, AF_UNIX). */
      readonly source: ProxyAddress | null;
      readonly destination: ProxyAddress | null;
    };

const INCOMPLETE: ProxyHeader = { kind: 'incomplete' };
const invalid = (reason: string): ProxyHeader => ({ kind: 'invalid', reason });

/** True while `buf` could still be the beginning of `prefix` (or starts with all of it). */
function startsLike(buf: Buffer, prefix: Buffer): boolean {
  const n = Math.min(buf.length, prefix.length);
  return buf.subarray(0, n).equals(prefix.subarray(0, n));
}

export function parseProxyHeader(buf: Buffer): ProxyHeader {
  if (buf.length === 0) return INCOMPLETE;
  if (startsLike(buf, V2_SIGNATURE)) return buf.length < 16 ? INCOMPLETE : parseV2(buf);
  if (startsLike(buf, V1_PREFIX)) return parseV1(buf);
  return invalid('no PROXY protocol header');
}

function parseV1(buf: Buffer): ProxyHeader {
  const end = buf.indexOf('\r\n', 0, 'latin1');
  if (end === -1) return buf.length >= V1_MAX_BYTES ? invalid('v1 header longer than 107 bytes') : INCOMPLETE;
  const length = end + 2;
  if (length > V1_MAX_BYTES) return invalid('v1 header longer than 107 bytes');
  const line = buf.toString('latin1', 0, end);
  const parts = line.split(' ');
  if (parts[1] === 'UNKNOWN') return { kind: 'ok', version: 1, command: 'proxy', length, source: null, destination: null };
  if (parts.length !== 6) return invalid('v1 header: expected PROXY <proto> <src> <dst> <sport> <dport>');
  const [, proto, src, dst, sport, dport] = parts;
  const valid = proto === 'TCP4' ? isIPv4 : proto === 'TCP6' ? isIPv6 : null;
  if (valid === null) return invalid(`v1 header: unknown protocol ${JSON.stringify(proto.slice(0, 16))}`);
  if (!valid(src) || !valid(dst)) return invalid(`v1 header: addresses are not ${proto}`);
  const sp = v1Port(sport);
  const dp = v1Port(dport);
  if (sp === null || dp === null) return invalid('v1 header: ports must be decimal 0-65535');
  return {
    kind: 'ok',
    version: 1,
    command: 'proxy',
    length,
    source: { address: canonical(src), port: sp },
    destination: { address: canonical(dst), port: dp },
  };
}

function v1Port(s: string): number | null {
  if (!/^(?:0|[1-9][0-9]{0,4})$/.test(s)) return null;
  const n = Number(s);
  return n <= 0xffff ? n : null;
}

function parseV2(buf: Buffer): ProxyHeader {
  const verCmd = buf[12];
  if (verCmd >> 4 !== 2) return invalid(`v2 header: version ${verCmd >> 4}`);
  const cmd = verCmd & 0x0f;
  if (cmd > 1) return invalid(`v2 header: command ${cmd}`);
  const family = buf[13] >> 4;
  const length = 16 + buf.readUInt16BE(14);
  if (buf.length < length) return INCOMPLETE;
  if (cmd === 0) return { kind: 'ok', version: 2, command: 'local', length, source: null, destination: null };
  const body = buf.subarray(16, length);
  switch (family) {
    case 0x1: {
      if (body.length < 12) return invalid('v2 header: AF_INET needs 12 address bytes');
      return {
        kind: 'ok',
        version: 2,
        command: 'proxy',
        length,
        source: { address: ipv4(body, 0), port: body.readUInt16BE(8) },
        destination: { address: ipv4(body, 4), port: body.readUInt16BE(10) },
      };
    }
    case 0x2: {
      if (body.length < 36) return invalid('v2 header: AF_INET6 needs 36 address bytes');
      return {
        kind: 'ok',
        version: 2,
        command: 'proxy',
        length,
        source: { address: ipv6(body, 0), port: body.readUInt16BE(32) },
        destination: { address: ipv6(body, 16), port: body.readUInt16BE(34) },
      };
    }
    case 0x0: // AF_UNSPEC: "the receiver is free to accept the connection anyway and use the real endpoint addresses"
    case 0x3: // AF_UNIX: no IP to take
      return { kind: 'ok', version: 2, command: 'proxy', length, source: null, destination: null };
    default:
      return invalid(`v2 header: address family ${family}`);
  }
}

function ipv4(b: Buffer, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

function ipv6(b: Buffer, at: number): string {
  const addr = ipaddr.fromByteArray([...b.subarray(at, at + 16)]) as ipaddr.IPv6;
  // An IPv4-mapped source reads (and matches IPv4 CIDRs) as plain IPv4, as node's peers do after plainAddress().
  return addr.isIPv4MappedAddress() ? addr.toIPv4Address().toString() : addr.toString();
}

/** One spelling per address (`0:0::1` → `::1`, `::ffff:1.2.3.4` → `1.2.3.4`), for CIDR checks, keys and logs. */
function canonical(address: string): string {
  if (isIPv4(address)) return address;
  const addr = ipaddr.parse(address) as ipaddr.IPv6;
  return addr.isIPv4MappedAddress() ? addr.toIPv4Address().toString() : addr.toString();
}
