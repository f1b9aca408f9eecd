export * from './ingest.ts';
export * from './http.ts';
export { startSyslogServer } from './sources/syslog.ts';
export { kernelUdpDrops } from './sources/syslog-metrics.ts';
export { startTailer } from './sources/tail.ts';
