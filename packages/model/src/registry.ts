import { existsSync } from 'node:fs';
import { readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ModelError } from './errors.ts';

/**
 * The model registry of a SOC: versioned `<version>.onnx` + `<version>.json` files in one
 * directory (DATA_DIR/models) and `active.json` naming the version the detector runs. Switching
 * is one atomic rename of active.json; the detector watches it. History makes rollback one step.
 */
export const ActivePointer = z.object({
  version: z.string().min(1),
  /** Previously active versions, most recent last. */
  history: z.array(z.string()).default([]),
  updatedAt: z.iso.datetime(),
});
export type ActivePointer = z.infer<typeof ActivePointer>;

export const ACTIVE_FILE = 'active.json';
export const modelsDir = (dataDir: string): string => join(dataDir, 'models');
const VERSION_RE = /^[A-Za-z0-9._-]{1,128}$/;

export interface ModelVersion {
  version: string;
  path: string;
  active: boolean;
  createdAt?: string;
  /** Whatever metrics the metadata records (validation; site baseline for site models). */
  metrics: Record<string, unknown>;
}

export async function readActive(dir: string): Promise<ActivePointer | null> {
  const p = join(dir, ACTIVE_FILE);
  if (!existsSync(p)) return null;
  const parsed = ActivePointer.safeParse(JSON.parse(await readFile(p, 'utf8')));
  if (!parsed.success) throw new ModelError(`${p} is invalid: ${parsed.error.message}`);
  return parsed.data;
}

/** The active model's path, or null when none is active (the shipped model then runs). */
export async function activeModelPath(dir: string): Promise<string | null> {
  const a = await readActive(dir);
  return a ? join(dir, `${a.version}.onnx`) : null;
}

export async function listModelVersions(dir: string): Promise<ModelVersion[]> {
  if (!existsSync(dir)) return [];
  const active = (await readActive(dir))?.version;
  const names = (await readdir(dir)).filter((f) => f.endsWith('.onnx')).sort();
  const out: ModelVersion[] = [];
  for (const f of names) {
    const version = f.slice(0, -'.onnx'.length);
    let meta: Record<string, unknown> = {};
    try {
      meta = JSON.parse(await readFile(join(dir, `${version}.json`), 'utf8')) as Record<string, unknown>;
    } catch {
      // A version without readable metadata is listed (so it can be inspected) but cannot load.
    }
    const site = meta.site as { baseline?: unknown; threshold?: unknown; budget?: unknown } | undefined;
    out.push({
      version,
      path: join(dir, f),
      active: version === active,
      ...(typeof meta.createdAt === 'string' ? { createdAt: meta.createdAt } : {}),
      metrics: { ...(meta.validation ? { validation: meta.validation } : {}), ...(site ? { baseline: site.baseline, threshold: site.threshold, budget: site.budget } : {}) },
    });
  }
  return out;
}

async function writeActive(dir: string, a: ActivePointer): Promise<void> {
  const tmp = join(dir, `.${ACTIVE_FILE}.${process.pid}.tmp`);
  await writeFile(tmp, `${JSON.stringify(a, null, 2)}\n`);
  await rename(tmp, join(dir, ACTIVE_FILE)); // atomic: a watcher never reads half a pointer
}

/** Makes `version` active, remembering the previous one for rollback. */
export async function activateModel(dir: string, version: string): Promise<ActivePointer> {
  if (!VERSION_RE.test(version) || !existsSync(join(dir, `${version}.onnx`))) throw new ModelError(`model version ${version} not found in ${dir}`);
  const cur = await readActive(dir);
  const history = cur ? [...cur.history, cur.version].filter((v) => v !== version).slice(-50) : [];
  const next = { version, history, updatedAt: new Date().toISOString() };
  await writeActive(dir, next);
  return next;
}

/** Back to the previous active version, or to the named one. */
export async function rollbackModel(dir: string, version?: string): Promise<ActivePointer> {
  const cur = await readActive(dir);
  if (!cur) throw new ModelError('no site model is active: nothing to roll back');
  const target = version ?? cur.history.at(-1);
  if (!target) throw new ModelError(`model ${cur.version} has no previous version to roll back to`);
  if (!existsSync(join(dir, `${target}.onnx`))) throw new ModelError(`model version ${target} not found in ${dir}`);
  const history = cur.history.filter((v) => v !== target);
  const next = { version: target, history, updatedAt: new Date().toISOString() };
  await writeActive(dir, next);
  return next;
}
