import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { communityId } from './community-id.ts';

/** The official test vectors (corelight/community-id-spec baseline, vendored with its licence). */
const DIR = new URL('./fixtures/reference/community-id-spec/', import.meta.url);
const BASELINE = JSON.parse(readFileSync(new URL('baseline_deflt.json', DIR), 'utf8')) as { proto: number; saddr: string; daddr: string; sport: number | null; dport: number | null; communityid: string }[];

/** The README's default-settings table: proto number, addresses, ports, id. */
function readmeTable(): [number, string, string, number, number, string][] {
  const text = readFileSync(new URL('README.md', DIR), 'utf8');
  const section = text.split('### Default settings')[1]!.split('###')[0]!;
  return section.split('\n').filter((l) => /^\s+\| \S+\s+\|\s+\d+ \|/.test(l)).map((l) => {
    const c = l.split('|').map((x) => x.trim());
    return [Number(c[2]), c[3]!, c[4]!, Number(c[5]), Number(c[6]), c[7]!];
  });
}

describe('Community ID v1 against the official vectors', () => {
  it(`reproduces all ${BASELINE.length} baseline_deflt.json vectors (pcaps: ICMP, ICMPv6, TCP, UDP, SCTP, no-port protocols)`, () => {
    const got = BASELINE.map((v) => communityId({ srcIp: v.saddr, dstIp: v.daddr, proto: v.proto, srcPort: v.sport ?? undefined, dstPort: v.dport ?? undefined }));
    expect(got).toEqual(BASELINE.map((v) => v.communityid));
  });

  it('reproduces the README default-settings table, both directions of each flow', () => {
    const rows = readmeTable();
    expect(rows.length).toBeGreaterThanOrEqual(10);
    for (const [proto, s, d, sp, dp, id] of rows) expect(communityId({ srcIp: s, dstIp: d, proto, srcPort: sp, dstPort: dp }), `${proto} ${s} ${d}`).toBe(id);
  });

  it('refuses what it cannot hash', () => {
    expect(communityId({ srcIp: '1.2.3.4', dstIp: '::1', proto: 6, srcPort: 1, dstPort: 2 })).toBeUndefined();
    expect(communityId({ srcIp: '1.2.3.4', dstIp: '5.6.7.8', proto: 6 })).toBeUndefined();
  });
});
