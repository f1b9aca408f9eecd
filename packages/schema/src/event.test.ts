import { describe, expect, it } from 'vitest';
import { ConnState, flowState } from './event.ts';

describe('flowState', () => {
  it("reads Zeek's conn_state, else Suricata's flow state, in Zeek's vocabulary", () => {
    for (const s of ConnState.options) {
      expect(flowState({ zeek: { connection: { state: s } } })).toBe(s);
      expect(flowState({ suricata: { eve: { flow: { conn_state: s } } } })).toBe(s);
    }
    expect(flowState({ zeek: { connection: { state: 'REJ' } }, suricata: { eve: { flow: { conn_state: 'SF' } } } })).toBe('REJ');
  });

  it('is undefined for an event without a state, or with one outside the vocabulary', () => {
    for (const state of [undefined, null, '', 'sf', 'SF ', 'toString', '__proto__', 1, ['SF'], { SF: 1 }]) {
      expect(flowState({ zeek: { connection: { state } } })).toBeUndefined();
      expect(flowState({ suricata: { eve: { flow: { conn_state: state } } } })).toBeUndefined();
    }
    expect(flowState({})).toBeUndefined();
    expect(flowState({ suricata: { eve: { event_type: 'alert' } } })).toBeUndefined();
  });
});
