export * from './features.ts';
export * from './flow.ts';
export * from './extractor.ts';
export {
  PROTOCOLS, SERVICES, FLAGS, CONN_STATE_TO_FLAG, SERROR_FLAGS, RERROR_FLAGS, kddService,
  type KddProtocol, type KddService, type KddFlag,
} from './vocab.ts';
