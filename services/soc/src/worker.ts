import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type ResourceLimits } from 'node:worker_threads';

/**
 * A worker thread running `entry`. A worker does not inherit this process's module hooks (tsx,
 * for TypeScript sources), so its boot code registers them first; built JavaScript would need
 * no loader and loads the same way. SOC_STAGE_EXEC_ARGV passes node flags to every such thread
 * (profiling: `--cpu-prof --cpu-prof-dir=DIR`); `resourceLimits` sizes the thread's own heap.
 */
export function moduleWorker(entry: URL, workerData: unknown, resourceLimits?: ResourceLimits): Worker {
  const tsx = pathToFileURL(join(dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist/esm/api/index.mjs')).href;
  const boot = `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(boot, { eval: true, workerData, execArgv: process.env.SOC_STAGE_EXEC_ARGV?.split(' ').filter(Boolean) ?? [], ...(resourceLimits ? { resourceLimits } : {}) });
}
