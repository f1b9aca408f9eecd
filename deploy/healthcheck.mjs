// Container health check for every soc service (plain JavaScript: it must start fast and
// without tsx). Exit 0 = healthy, 1 = unhealthy; one line on stderr says why.
//
//   node deploy/healthcheck.mjs   GET SOC_HEALTHCHECK_URL (default: 127.0.0.1:$SOC_API_PORT/readyz,
//                                 which every service serves; workers serve only the ops endpoints)
//
// Readiness (/readyz: the process and its backends) needs a bearer token. The lowest-privileged one
// available is used: SOC_HEALTHCHECK_TOKEN, else the first of SOC_SENSOR_TOKENS, else the sensor
// token in $SOC_DATA_DIR/credentials.json. Liveness (/healthz) needs no token and no script: probe it
// directly (Kubernetes httpGet, a load balancer).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const TIMEOUT_MS = 4000;

/** The token to present, or undefined when none is configured. */
function healthToken(env, readFile = (p) => readFileSync(p, 'utf8')) {
  if (env.SOC_HEALTHCHECK_TOKEN) return env.SOC_HEALTHCHECK_TOKEN;
  const fromEnv = (env.SOC_SENSOR_TOKENS ?? '').split(',').map((t) => t.trim()).find(Boolean);
  if (fromEnv) return fromEnv;
  try {
    const file = JSON.parse(readFile(join(env.SOC_DATA_DIR ?? '/data', 'credentials.json')));
    return file.credentials?.find((c) => c.role === 'sensor')?.token;
  } catch {
    return undefined;
  }
}

function healthUrl(env) {
  return env.SOC_HEALTHCHECK_URL ?? `http://127.0.0.1:${env.SOC_API_PORT ?? 8080}/readyz`;
}

async function checkHttp(env) {
  const token = healthToken(env);
  if (!token) return 'no token: set SOC_HEALTHCHECK_TOKEN or SOC_SENSOR_TOKENS';
  const url = healthUrl(env);
  try {
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(TIMEOUT_MS) });
    if (res.status === 200) return undefined;
    return `${url} answered ${res.status} ${(await res.text()).slice(0, 200)}`;
  } catch (err) {
    return `${url}: ${err.cause?.code ?? err.message}`;
  }
}

const problem = await checkHttp(process.env);
if (problem) {
  process.stderr.write(`unhealthy: ${problem}\n`);
  process.exit(1);
}
