import { describe, expect, it } from 'vitest';
import { canonicalize } from './jcs.ts';

describe('RFC 8785 JSON Canonicalization Scheme', () => {
  it('matches the RFC 8785 §3.2.2 example byte for byte', () => {
    const input = '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],\n "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",\n "literals": [null, true, false]}';
    const expected = '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}';
    expect(canonicalize(JSON.parse(input))).toBe(expected);
  });

  it('sorts keys by UTF-16 code units (RFC 8785 §3.2.3 example)', () => {
    const input = { '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh', '1': 'One', '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis' };
    // Read the order from the text: JSON.parse would put the integer-like key "1" first again.
    const order = [...canonicalize(input).matchAll(/"([^"]*)":"([^"]*)"/g)].map((m) => m[2]);
    expect(order).toEqual(['Carriage Return', 'One', 'Control', 'Latin Small Letter O With Diaeresis', 'Euro Sign', 'Emoji: Grinning Face', 'Hebrew Letter Dalet With Dagesh']);
  });

  it('serialises numbers as ECMAScript does (RFC 8785 Appendix B samples)', () => {
    const samples: [number, string][] = [
      [0, '0'], [-0, '0'], [1e21, '1e+21'], [1e-7, '1e-7'], [5e-324, '5e-324'],
      [1.7976931348623157e308, '1.7976931348623157e+308'], [9007199254740992, '9007199254740992'],
      [0.000001, '0.000001'], [123456789012345680000, '123456789012345680000'], [-1.5e-7, '-1.5e-7'],
      [295147905179352830000, '295147905179352830000'], [4.5, '4.5'],
    ];
    for (const [n, s] of samples) expect(canonicalize(n)).toBe(s);
  });

  it('nests, drops undefined members, and refuses what JSON cannot carry', () => {
    expect(canonicalize({ b: [1, { d: 1, c: undefined, a: 'x' }], a: null })).toBe('{"a":null,"b":[1,{"a":"x","d":1}]}');
    expect(() => canonicalize(NaN)).toThrow(/not representable/);
    expect(() => canonicalize({ x: Infinity })).toThrow();
    expect(() => canonicalize('\ud800x')).toThrow(/surrogate/);
  });
});
