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
/**
 * The pointer name of the model shipped in `models/` — the evidence reference, or the NSL-KDD
 * autoencoder when `detector.modelPath` names it — which runs while no site model is active. It
 * is listed and can be rolled back to like any version.
 */
export const SHIPPED_VERSION = 'shipped';
export const modelsDir = (dataDir: string): string => join(dataDir, 'models');
const VERSION_RE = /^[A-Za-z0-9._-]{1,128}$/;

export interface ModelVersion {
  version: string;
  path: string;
  active: boolean;
  /** The model shipped with the product rather than fitted here. */
  shipped?: boolean;
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

/** The active site model's path, or null when none is active (the shipped model then runs). */
export async function activeModelPath(dir: string): Promise<string | null> {
  const a = await readActive(dir);
  return a && a.version !== SHIPPED_VERSION ? join(dir, `${a.version}.onnx`) : null;
}

async function describeVersion(version: string, path: string, active: boolean): Promise<ModelVersion> {
  let meta: Record<string, unknown> = {};
  try {
    meta = JSON.parse(await readFile(path.replace(/\.onnx$/, '.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    // A version without readable metadata is listed (so it can be inspected) but cannot load.
  }
  const site = meta.site as { baseline?: unknown; threshold?: unknown; budget?: unknown } | undefined;
  return {
    version,
    path,
    active,
    ...(typeof meta.createdAt === 'string' ? { createdAt: meta.createdAt } : {}),
    metrics: { ...(meta.validation ? { validation: meta.validation } : {}), ...(site ? { baseline: site.baseline, threshold: site.threshold, budget: site.budget } : {}) },
  };
}

/** A shipped model that is not an ONNX file with metadata beside it (the evidence reference): described by the caller. */
export interface ShippedDescription {
  path: string;
  createdAt?: string;
  metrics: Record<string, unknown>;
}

/**
 * Every version in `dir`; with `shipped`, the shipped model first (active when no site model is):
 * an ONNX path (described by its metadata file) or a description of what the detector runs.
 */
export async function listModelVersions(dir: string, shipped?: string | ShippedDescription): Promise<ModelVersion[]> {
  const active = existsSync(dir) ? ((await readActive(dir))?.version ?? SHIPPED_VERSION) : SHIPPED_VERSION;
  const first = typeof shipped === 'string' ? await describeVersion(SHIPPED_VERSION, shipped, active === SHIPPED_VERSION)
    : shipped ? { version: SHIPPED_VERSION, active: active === SHIPPED_VERSION, ...shipped } : undefined;
  const out: ModelVersion[] = first ? [{ ...first, shipped: true }] : [];
  if (!existsSync(dir)) return out;
  const names = (await readdir(dir)).filter((f) => f.endsWith('.onnx')).sort();
  for (const f of names) {
    const version = f.slice(0, -'.onnx'.length);
    out.push(await describeVersion(version, join(dir, f), version === active));
  }
  return out;
}

/**
 * A `--model` argument: a model file, or a version name as `soc model list` prints it (looked up
 * in `dir`; `shipped` is the shipped model when its path is given).
 */
export function modelFile(dir: string, ref: string, shippedPath?: string): string {
  if (ref === SHIPPED_VERSION && shippedPath) return shippedPath;
  if (existsSync(ref)) return ref;
  if (VERSION_RE.test(ref) && existsSync(join(dir, `${ref}.onnx`))) return join(dir, `${ref}.onnx`);
  throw new ModelError(`no model "${ref}": neither a file nor a version in ${dir} (soc model list shows the versions; --data-dir picks the data directory)`);
}

const exists = (dir: string, version: string): boolean => version === SHIPPED_VERSION || existsSync(join(dir, `${version}.onnx`));

async function writeActive(dir: string, a: ActivePointer): Promise<void> {
  const tmp = join(dir, `.${ACTIVE_FILE}.${process.pid}.tmp`);
  await writeFile(tmp, `${JSON.stringify(a, null, 2)}\n`);
  await rename(tmp, join(dir, ACTIVE_FILE)); // atomic: a watcher never reads half a pointer
}

/** Makes `version` active, remembering the previous one for rollback. */
export async function activateModel(dir: string, version: string): Promise<ActivePointer> {
  if (!VERSION_RE.test(version) || !exists(dir, version)) throw new ModelError(`model version ${version} not found in ${dir}`);
  const cur = await readActive(dir);
  // With no pointer the shipped model was running: that is what a first rollback returns to.
  const history = [...(cur ? [...cur.history, cur.version] : [SHIPPED_VERSION])].filter((v) => v !== version).slice(-50);
  const next = { version, history, updatedAt: new Date().toISOString() };
  await writeActive(dir, next);
  return next;
}

/** Back to the previous active version, or to the named one. */
export async function rollbackModel(dir: string, version?: string): Promise<ActivePointer> {
  const cur = await readActive(dir);
  if (!cur) throw new ModelError('no site model is active (the shipped model runs): nothing to roll back');
  const target = version ?? cur.history.at(-1);
  if (!target) throw new ModelError(`model ${cur.version} has no previous version to roll back to`);
  if (!VERSION_RE.test(target) || !exists(dir, target)) throw new ModelError(`model version ${target} not found in ${dir} (see soc model list)`);
  const history = cur.history.filter((v) => v !== target);
  const next = { version: target, history, updatedAt: new Date().toISOString() };
  await writeActive(dir, next);
  return next;
}
