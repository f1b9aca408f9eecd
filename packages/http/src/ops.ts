import type { Metrics } from '@soc/telemetry';
import { sendJson, type Route } from './server.ts';

export type HealthCheck = () => Promise<Record<string, boolean>>;

/**
 * Served by every service. `/healthz` is liveness: it answers without a token (probes and load
 * balancers cannot send one) and so says nothing but that the process serves requests.
 * `/readyz` (readiness, with each backend check) and Prometheus `/metrics` reveal internals and
 * need a token of either role.
 */
export function opsRoutes(metrics: Metrics, health: HealthCheck): Route[] {
  return [
    {
      method: 'GET',
      path: '/healthz',
      roles: [],
      public: true,
      handler: async ({ res }) => sendJson(res, 200, { status: 'ok' }),
    },
    {
      method: 'GET',
      path: '/readyz',
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
