/** The services `soc start` runs together and `soc <service>` runs alone. */
export const SERVICES = ['collector', 'detector', 'indexer', 'api', 'federation'] as const;
export type ServiceName = (typeof SERVICES)[number];
