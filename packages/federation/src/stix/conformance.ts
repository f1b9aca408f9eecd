import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

/**
 * Test-only: the official references the STIX code is held to. The OASIS JSON schemas
 * (cti-stix2-json-schemas, draft 2020-12) are vendored under fixtures/reference with their licence;
 * patterns are checked by OASIS's own pattern validator (PyPI `stix2-patterns`, built from the
 * same STIXPattern.g4 grammar that is vendored beside the schemas).
 */
export const REFERENCE_DIR = fileURLToPath(new URL('../fixtures/reference/', import.meta.url));
const SCHEMAS = join(REFERENCE_DIR, 'oasis-cti-stix2-json-schemas/schemas');

export interface SchemaIssue {
  id: string;
  type: string;
  errors: string[];
}

export function loadStixSchemas(): (o: Record<string, unknown>) => SchemaIssue | undefined {
  // strict: false: the OASIS schemas carry annotations ajv does not know; unicodeRegExp: false:
  // their patterns are written for ECMA-262 without the u flag (e.g. `\\-`).
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false, unicodeRegExp: false });
  const byType = new Map<string, string>();
  for (const dir of ['common', 'observables', 'sdos', 'sros']) {
    for (const f of readdirSync(join(SCHEMAS, dir))) {
      const schema = JSON.parse(readFileSync(join(SCHEMAS, dir, f), 'utf8')) as { $id: string };
      ajv.addSchema(schema);
      if (dir !== 'common' || f === 'marking-definition.json' || f === 'bundle.json' || f === 'extension-definition.json') byType.set(f.replace(/\.json$/, ''), schema.$id);
    }
  }
  const compiled = new Map<string, ValidateFunction>();
  return (o) => {
    const type = String(o.type);
    const id = byType.get(type);
    if (!id) return { id: String(o.id), type, errors: [`no OASIS schema for type ${type}`] };
    const v = compiled.get(type) ?? (ajv.getSchema(id) as ValidateFunction);
    compiled.set(type, v);
    const valid: boolean = v(o);
    if (valid) return undefined;
    return { id: String(o.id), type, errors: (v.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`) };
  };
}

/** Per pattern: undefined when valid, else the validator's errors; null when stix2-patterns is absent. */
export function validatePatterns(patterns: string[]): (string[] | undefined)[] | null {
  const script = [
    'import json, sys',
    'from stix2patterns.validator import run_validator',
    'out = []',
    'for p in json.load(sys.stdin):',
    '    errs = run_validator(p, stix_version="2.1")',
    '    out.append(errs or None)',
    'print(json.dumps(out))',
  ].join('\n');
  try {
    return JSON.parse(execFileSync('python3', ['-c', script], { input: JSON.stringify(patterns), encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] })) as (string[] | undefined)[];
  } catch (err) {
    if (/No module named|ENOENT/.test(String((err as { stderr?: string }).stderr ?? err))) return null;
    throw err;
  }
}

export function readReferenceJson(rel: string): unknown {
  return JSON.parse(readFileSync(join(REFERENCE_DIR, rel), 'utf8'));
}
