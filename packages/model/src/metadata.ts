import { z } from 'zod';

/** What evaluateKdd returns and the metadata records for the validation split. */
export const EvalMetrics = z.object({
  records: z.number().int().nonnegative(),
  auroc: z.number().min(0).max(1),
  accuracy: z.number().min(0).max(1),
  precision: z.number().min(0).max(1),
  recall: z.number().min(0).max(1),
  f1: z.number().min(0).max(1),
  fpr: z.number().min(0).max(1),
  threshold: z.number().positive(),
});
export type EvalMetrics = z.infer<typeof EvalMetrics>;

/** The metadata json written beside every model artifact; loadModel refuses a model without it. */
export const ModelMetadata = z.object({
  format: z.literal('soc-anomaly-model/1'),
  version: z.string().min(1),
  /** FEATURES names in input order, and their full signature (encodings, vocabularies). */
  features: z.array(z.string()).min(1),
  featureSignature: z.string().min(1),
  input: z.object({ name: z.string().min(1), shape: z.tuple([z.literal('N'), z.number().int().positive()]) }),
  outputs: z.object({ score: z.string().min(1), featureErrors: z.string().min(1) }),
  /** Scores at or above this are anomalous. */
  threshold: z.number().positive(),
  thresholdRule: z.string().min(1),
  opset: z.number().int().positive(),
  seed: z.number().int(),
  architecture: z.string().min(1),
  training: z.object({
    file: z.string().min(1),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    trainRows: z.number().int().positive(),
    calibrationRows: z.number().int().positive(),
    validationNormal: z.number().int().nonnegative(),
    validationAttack: z.number().int().nonnegative(),
    epochs: z.number().int().positive(),
  }),
  /** Labelled validation metrics; absent for site models, whose baseline carries no labels. */
  validation: EvalMetrics.optional(),
  onnxSha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type ModelMetadata = z.infer<typeof ModelMetadata>;
