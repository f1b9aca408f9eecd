import { describe, expect, it } from 'vitest';
import { CidrSet, normalizeIp, parseCidr } from './index.ts';

describe('IP parsing and CIDR matching', () => {
  it('canonicalises IPv4 and IPv6 (RFC 5952) and refuses ambiguous forms', () => {
    expect(normalizeIp('2001:DB8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(normalizeIp('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1');
    expect(normalizeIp('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(normalizeIp('fe80::1%eth0')).toBe('fe80::1');
    expect(normalizeIp('::')).toBe('::');
    for (const bad of ['010.0.0.1', '256.1.1.1', '1.2.3', '1:2:3:4:5:6:7:8:9', '1::2::3', 'host', '12:30']) expect(normalizeIp(bad)).toBeUndefined();
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
