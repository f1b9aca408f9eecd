import { FEATURE_COUNT, FlowFeatureExtractor, type ExtractorOptions, type FeatureVector, type Flow } from '@soc/features';
import { SignalTracker, type Reading, type TrackerOptions } from './tracker.ts';

export interface Observation {
  flow: Flow;
  /** NSL-KDD feature vector for the ONNX model. */
  vector: FeatureVector;
  reading: Reading;
}

/**
 * Everything a flow is turned into before scoring: the model's features and the site signals,
 * from one pass in arrival order. Fitting, evaluation and the detector all use this one path,
 * so a model is calibrated on exactly the numbers it will see.
 */
export class FlowObserver {
  readonly extractor: FlowFeatureExtractor;
  readonly tracker: SignalTracker;

  constructor(o: { extractor?: ExtractorOptions; tracker?: TrackerOptions } = {}) {
    this.extractor = new FlowFeatureExtractor(o.extractor);
    this.tracker = new SignalTracker(o.tracker);
  }

  observe(flow: Flow): Observation {
    return { flow, vector: this.extractor.push(flow, new Float32Array(FEATURE_COUNT)), reading: this.tracker.observe(flow) };
  }
}

/** Stable small integers for string keys (pairs, destinations) in first-seen order. */
export class KeyIndex {
  private readonly map = new Map<string, number>();
  of(key: string): number {
    let i = this.map.get(key);
    if (i === undefined) this.map.set(key, (i = this.map.size));
    return i;
  }
  get size(): number {
    return this.map.size;
  }
}
