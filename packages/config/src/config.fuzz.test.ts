import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@soc/errors';
import { ENV_MAP, loadConfig } from './load.ts';
import { SocConfig } from './schema.ts';

/**
 * Any config file and any environment: loadConfig returns a valid configuration or throws a
 * ConfigError naming a field; never another error (a TypeError is a crash with a stack trace).
 * A known setting misspelt anywhere is always refused.
 */

const dir = mkdtempSync(join(tmpdir(), 'soc-cfg-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'soc.json');

/** A valid configuration to mutate: every section present, with its defaults. */
const base = JSON.parse(JSON.stringify(SocConfig.parse({}))) as Record<string, unknown>;

type Json = unknown;
function paths(v: Json, prefix: string[] = []): string[][] {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return [prefix];
  return [prefix, ...Object.entries(v).flatMap(([k, x]) => paths(x, [...prefix, k]))];
}
const allPaths = paths(base).filter((p) => p.length > 0);

function setAt(root: Json, path: string[], value: Json): Json {
  if (path.length === 0) return value;
  const obj = typeof root === 'object' && root !== null && !Array.isArray(root) ? { ...(root as Record<string, Json>) } : {};
  obj[path[0]!] = setAt(obj[path[0]!], path.slice(1), value);
  return obj;
}
function renameAt(root: Json, path: string[], to: string): Json {
  const [head, ...rest] = path;
  if (typeof root !== 'object' || root === null || Array.isArray(root) || head === undefined) return root;
  const obj = { ...(root as Record<string, Json>) };
  if (rest.length === 0) {
    const v = obj[head];
    delete obj[head];
    obj[to] = v;
  } else obj[head] = renameAt(obj[head], rest, to);
  return obj;
}

const mutation = fc.oneof(
  fc.tuple(fc.constantFrom(...allPaths), fc.jsonValue({ maxDepth: 2 })).map(([p, v]) => (c: Json) => setAt(c, p, v)),
  fc.tuple(fc.constantFrom(...allPaths), fc.constantFrom(0, -1, 65536, 1.5, '8080', '', 'x', null, true, [], {}, 1e308)).map(([p, v]) => (c: Json) => setAt(c, p, v)),
  fc.tuple(fc.constantFrom(...allPaths), fc.string({ maxLength: 8 })).map(([p, k]) => (c: Json) => setAt(c, [...p.slice(0, -1), k], 1)),
);
const configFile = fc.oneof(
  { weight: 5, arbitrary: fc.array(mutation, { maxLength: 4 }).map((ms) => JSON.stringify(ms.reduce<Json>((c, m) => m(c), base))) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 50 }) },
);
const envName = fc.oneof(fc.constantFrom(...Object.keys(ENV_MAP)), fc.string({ maxLength: 10 }).map((s) => `SOC_${s}`), fc.constantFrom('HOME', 'SOC_CONFIG_X', 'SOC_LOG_LEVEL'));
const env = fc.dictionary(envName, fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('true', '0', '-1', '70000', 'k1:9092', 'http://es:9200', 'soc-x', 'EE')), { maxKeys: 4 });

describe('fuzz: config files and environment', () => {
  it('either a valid configuration or a ConfigError, never a crash', () => {
    let ok = 0;
    let refused = 0;
    fc.assert(
      fc.property(configFile, env, (text, e) => {
        writeFileSync(file, text);
        try {
          const cfg = loadConfig({ file, env: { ...e, SOC_DATA_DIR: dir } });
          expect(SocConfig.safeParse(cfg).success).toBe(true);
          ok++;
        } catch (err) {
          expect(err, String((err as Error).stack)).toBeInstanceOf(ConfigError);
          expect((err as Error).message.length).toBeGreaterThan(0);
          refused++;
        }
      }),
    );
    expect(ok).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  });

  it('refuses any misspelt setting, naming it', () => {
    fc.assert(
      // A misspelt discriminator (`bus.kind`) is reported as the missing discriminator instead.
      fc.property(fc.constantFrom(...allPaths.filter((p) => p.at(-1) !== 'kind')), fc.string({ minLength: 1, maxLength: 6 }), (p, suffix) => {
        const typo = p.at(-1)! + suffix;
        writeFileSync(file, JSON.stringify(renameAt(base, p, typo)));
        expect(() => loadConfig({ file, env: {} })).toThrow(new RegExp(`invalid configuration: ${[...p.slice(0, -1), typo].join('.').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} `));
      }),
    );
  });
});
