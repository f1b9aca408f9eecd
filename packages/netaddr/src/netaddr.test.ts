import { describe, expect, it } from 'vitest';
import { CidrSet, isIp, normalizeIp, parseCidr, parseIp, parseV4Number } from './index.ts';

describe('IP parsing and CIDR matching', () => {
  it('canonicalises IPv4 and IPv6 (RFC 5952) and refuses ambiguous forms', () => {
    expect(normalizeIp('2001:DB8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(normalizeIp('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1');
    expect(normalizeIp('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(normalizeIp('fe80::1%eth0')).toBe('fe80::1');
    expect(normalizeIp('::')).toBe('::');
    for (const bad of ['010.0.0.1', '256.1.1.1', '1.2.3', '1:2:3:4:5:6:7:8:9', '1::2::3', 'host', '12:30']) expect(normalizeIp(bad)).toBeUndefined();
  });

  it('reads a dotted quad exactly as the strict octet grammar does (the fast scanner against the regex)', () => {
    // The grammar the scanner replaces: four octets 0-255 without leading zeros, ASCII digits only.
    const octet = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
    const reference = (s: string): number | undefined => {
      const parts = s.split('.');
      return parts.length === 4 && parts.every((p) => octet.test(p)) ? parts.reduce((v, p) => v * 256 + Number(p), 0) : undefined;
    };
    const pieces = ['0', '1', '9', '10', '99', '100', '199', '200', '249', '250', '255', '256', '300', '00', '01', '1000', '', 'a', ' 1', '\u0663', '-1', '1e2'];
    let cases = 0;
    for (const a of pieces) for (const b of pieces.slice(0, 12)) for (const c of [a, b, '7']) {
      for (const s of [`${a}.${b}.${c}.${b}`, `${c}.${a}.${b}`, `${a}.${b}.${c}.${b}.1`, `${b}.${c}.${a}.${b}.`]) {
        expect(parseV4Number(s), s).toBe(reference(s));
        cases++;
      }
    }
    expect(cases).toBeGreaterThan(3000);
    expect(parseV4Number('255.255.255.255')).toBe(0xffffffff);
  });

  it('isIp answers what parseIp accepts, without building the address', () => {
    const samples = ['10.0.0.1', '::', '::1', '::ffff:192.0.2.1', '::ffff:300.0.2.1', 'fe80::1%eth0', '2001:db8::1:0:0:1', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:9', '1::2::3',
      '010.0.0.1', '256.1.1.1', '1.2.3', '1.2.3.4.', 'host', '12:30', '', ':', '::g', '1.2.3.4:80', '0.0.0.0', '255.255.255.255', '\u0661.2.3.4'];
    for (const s of samples) expect(isIp(s), s).toBe(parseIp(s) !== undefined);
  });

  it('matches IPv4, IPv6 and IPv4-mapped addresses against ranges', () => {
    const internal = new CidrSet(['10.0.0.0/8', '192.168.1.0/24', 'fd00::/8', '2001:db8:42::/48', '172.16.5.4']);
    expect(internal.contains('10.255.0.1')).toBe(true);
    expect(internal.contains('11.0.0.1')).toBe(false);
    expect(internal.contains('192.168.2.1')).toBe(false);
    expect(internal.contains('::ffff:10.1.1.1')).toBe(true);
    expect(internal.contains('fd12:3456::1')).toBe(true);
    expect(internal.contains('2001:db8:42:ffff::9')).toBe(true);
    expect(internal.contains('2001:db8:43::9')).toBe(false);
    expect(internal.contains('172.16.5.4')).toBe(true);
    expect(internal.contains('172.16.5.5')).toBe(false);
    expect(internal.contains('not-an-ip')).toBe(false);
    expect(parseCidr('10.0.0.0/33')).toBeUndefined();
    expect(parseCidr('::/0')?.prefix).toBe(0);
    expect(() => new CidrSet(['10.0.0.0/8', 'nope'])).toThrow(/nope/);
  });
});
