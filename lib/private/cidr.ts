import * as net from 'net';
import { Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { fail } from './validate';

/** A parsed CIDR block. */
export interface Cidr {
  readonly version: 4 | 6;
  readonly text: string;
}

/**
 * Checks an IPv4 or IPv6 CIDR block the way EC2 security group rules take it: an address, a prefix length (0–32 or
 * 0–128) and no host bits set (`10.1.2.0/24`, not `10.1.2.3/24`). The whole address space (`/0`) is refused: an
 * endpoint reachable from anywhere is never what a private fleet means. Tokens are not inspected (returned as IPv4).
 */
export function checkCidr(scope: IConstruct, prop: string, value: string): Cidr {
  if (Token.isUnresolved(value)) return { version: 4, text: value };
  const match = /^([^/]+)\/(\d{1,3})$/.exec(value);
  const address = match?.[1] ?? '';
  const version = net.isIPv4(address) ? 4 : net.isIPv6(address) ? 6 : undefined;
  const prefix = Number(match?.[2]);
  const bits = version === 4 ? 32 : 128;
  if (!match || version === undefined || prefix > bits) {
    fail(scope, `\`${prop}\` must hold IPv4 or IPv6 CIDR blocks such as '10.20.0.0/16' or '2001:db8::/56', got: '${value}'`);
  }
  if (prefix === 0) {
    fail(scope, `\`${prop}\` must not admit the whole address space (/0); list the on-premises or VPC ranges, got: '${value}'`);
  }
  const addressBits = version === 4 ? ipv4Bits(address) : ipv6Bits(address);
  if (addressBits.slice(prefix).includes('1')) {
    const network = version === 4 ? ipv4Text(addressBits.slice(0, prefix).padEnd(32, '0')) : undefined;
    const hint = network ? ` (the network is '${network}/${prefix}')` : '';
    fail(scope, `\`${prop}\` CIDR blocks must not have host bits set${hint}, got: '${value}'`);
  }
  return { version, text: value };
}

function ipv4Bits(address: string): string {
  return address.split('.').map((octet) => Number(octet).toString(2).padStart(8, '0')).join('');
}

function ipv4Text(bits: string): string {
  return [0, 8, 16, 24].map((start) => parseInt(bits.slice(start, start + 8), 2)).join('.');
}

/** The 128 bits of an IPv6 address (`::` expanded; an embedded IPv4 tail converted). */
function ipv6Bits(address: string): string {
  let text = address;
  const v4Tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4Tail) {
    const bits = ipv4Bits(v4Tail[1]);
    const groups = [bits.slice(0, 16), bits.slice(16)].map((b) => parseInt(b, 2).toString(16));
    text = `${text.slice(0, v4Tail.index)}${groups.join(':')}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array(missing).fill('0'), ...tailGroups];
  return groups.map((group) => parseInt(group, 16).toString(2).padStart(16, '0')).join('');
}
