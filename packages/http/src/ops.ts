import type { Metrics } from '@soc/telemetry';
import { sendJson, type Route } from './server.ts';

export type HealthCheck = () => Promise<Record<string, boolean>>;

/** `/healthz` and Prometheus `/metrics`, served by every service; any valid token may read them. */
export function opsRoutes(metrics: Metrics, health: HealthCheck): Route[] {
  return [
    {
      method: 'GET',
      path: '/healthz',
      roles: ['analyst', 'sensor'],
      handler: async ({ res }) => {
        const checks = await health().catch(() => ({ health: false }));
        const ok = Object.values(checks).every(Boolean);
        sendJson(res, ok ? 200 : 503, { status: ok ? 'ok' : 'degraded', checks });
      },
    },
    {
      method: 'GET',
      path: '/metrics',
      roles: ['analyst', 'sensor'],
      handler: async ({ res }) => {
        const body = await metrics.render();
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(body);
      },
    },
  ];
}
