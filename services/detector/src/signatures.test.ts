import { describe, expect, it } from 'vitest';
import { Alert, EcsEvent } from '@soc/schema';
import { alertFromSignatureEvent, suricataSeverity } from './signatures.ts';

const ctx = { origin: { soc: 'soc-ee', country: 'EE' }, tlp: 'AMBER' as const };

function suricataAlert(over: Partial<EcsEvent> = {}): EcsEvent {
  return EcsEvent.parse({
    '@timestamp': '2026-11-01T12:00:00.000Z',
    event: { id: 'ev1', kind: 'alert', category: ['intrusion_detection'], type: ['info'], dataset: 'suricata.eve', severity: 1 },
    source: { ip: '203.0.113.9', port: 4444 },
    destination: { ip: '10.0.0.5', port: 22 },
    rule: { id: '2001219', name: 'ET SCAN Potential SSH Scan', category: 'Attempted Information Leak' },
    suricata: { eve: { alert: { metadata: { signature_severity: ['Major'] } } } },
    ...over,
  });
}

describe('signature alerts', () => {
  it('maps a Suricata alert with its rule and metadata severity', () => {
    const a = alertFromSignatureEvent(suricataAlert(), ctx)!;
    expect(Alert.parse(a)).toEqual(a);
    expect(a).toMatchObject({ detector: 'suricata', rule: { id: '2001219', name: 'ET SCAN Potential SSH Scan', category: 'Attempted Information Leak' }, severity: 'high', source: { ip: '203.0.113.9', port: 4444 }, related_events: ['ev1'], origin: ctx.origin, tlp: 'AMBER', status: 'new', count: 1 });
    expect(a.message).toContain('203.0.113.9:4444 -> 10.0.0.5:22');
  });

  it('derives the id from the event: same event, same alert; other event, other alert', () => {
    const a = alertFromSignatureEvent(suricataAlert(), ctx)!;
    expect(alertFromSignatureEvent(suricataAlert(), ctx)!.id).toBe(a.id);
    const other = suricataAlert({ event: { ...suricataAlert().event, id: 'ev2' } });
    expect(alertFromSignatureEvent(other, ctx)!.id).not.toBe(a.id);
  });

  it('maps priorities and signature_severity', () => {
    expect(suricataSeverity(1, undefined)).toBe('high');
    expect(suricataSeverity(2, undefined)).toBe('medium');
    expect(suricataSeverity(3, undefined)).toBe('low');
    expect(suricataSeverity(4, undefined)).toBe('low');
    expect(suricataSeverity(3, 'Critical')).toBe('critical');
    expect(suricataSeverity(1, 'Informational')).toBe('low');
    expect(suricataSeverity(2, 'unknown-word')).toBe('medium');
  });

  it('ignores events that are not sensor alerts and handles Zeek notices', () => {
    const flow = suricataAlert({ event: { ...suricataAlert().event, kind: 'event', dataset: 'zeek.conn' } });
    expect(alertFromSignatureEvent(flow, ctx)).toBeNull();
    const notice = suricataAlert({ event: { ...suricataAlert().event, dataset: 'zeek.notice' }, rule: { name: 'Scan::Port_Scan' } });
    expect(alertFromSignatureEvent(notice, ctx)).toMatchObject({ detector: 'zeek-notice', rule: { id: 'Scan::Port_Scan' }, severity: 'medium' });
  });
});
