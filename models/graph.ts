import onnxProto, { type onnx as OnnxTypes } from 'onnx-proto';
import { FEATURE_COUNT, FEATURE_NAMES, featureSignature } from '@soc/features';
import type { Layer, Layout, Standardiser } from './autoencoder.ts';

const { onnx } = onnxProto;

export const OPSET = 13;
export const INPUT_NAME = 'features';
export const SCORE_OUTPUT = 'score';
export const FEATURE_ERRORS_OUTPUT = 'feature_errors';

const f32 = (name: string, dims: number[], values: ArrayLike<number>) =>
  onnx.TensorProto.create({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(Float32Array.from(values).buffer) });
const i64 = (name: string, values: number[]) =>
  onnx.TensorProto.create({ name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, int64Data: values });
const node = (opType: string, input: string[], output: string[], attribute: OnnxTypes.IAttributeProto[] = []) =>
  onnx.NodeProto.create({ opType, input, output, name: output[0], attribute });
const intAttr = (name: string, i: number) => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i });
const intsAttr = (name: string, ints: number[]) => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints });
const valueInfo = (name: string, dims: (number | string)[]) =>
  onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  });

/**
 * The scoring graph: raw FEATURES vector [N, F] → preprocessing (log1p, standardisation, one-hot
 * by Equal against 0..V−1 so an unknown index −1 is all zeros) → autoencoder → `score` [N] (mean
 * squared error) and `feature_errors` [N, F] (squared error summed per raw feature).
 */
export function buildGraph(L: Layout, st: Standardiser, layers: Layer[], docString: string): Uint8Array {
  const init: OnnxTypes.ITensorProto[] = [];
  const nodes: OnnxTypes.INodeProto[] = [];
  init.push(i64('log_cols', L.logCols), i64('id_cols', L.idCols), f32('one', [], [1]));
  nodes.push(
    node('Gather', [INPUT_NAME, 'log_cols'], ['log_raw'], [intAttr('axis', 1)]),
    node('Relu', ['log_raw'], ['log_pos']),
    node('Add', ['log_pos', 'one'], ['log_p1']),
    node('Log', ['log_p1'], ['log_v']),
    node('Gather', [INPUT_NAME, 'id_cols'], ['id_v'], [intAttr('axis', 1)]),
    node('Concat', ['log_v', 'id_v'], ['num'], [intAttr('axis', 1)]),
  );
  init.push(f32('mean', [st.mean.length], st.mean), f32('inv_std', [st.std.length], st.std.map((s) => 1 / s)));
  nodes.push(node('Sub', ['num', 'mean'], ['num_c']), node('Mul', ['num_c', 'inv_std'], ['num_z']));
  const blocks = ['num_z'];
  for (const { col, size } of L.onehot) {
    init.push(i64(`col_${col}`, [col]), f32(`range_${col}`, [size], Array.from({ length: size }, (_, j) => j)));
    nodes.push(
      node('Gather', [INPUT_NAME, `col_${col}`], [`cat_${col}`], [intAttr('axis', 1)]),
      node('Equal', [`cat_${col}`, `range_${col}`], [`eq_${col}`]),
      node('Cast', [`eq_${col}`], [`oh_${col}`], [intAttr('to', onnx.TensorProto.DataType.FLOAT)]),
    );
    blocks.push(`oh_${col}`);
  }
  nodes.push(node('Concat', blocks, ['z'], [intAttr('axis', 1)]));
  let x = 'z';
  layers.forEach((l, i) => {
    init.push(f32(`w${i}`, [l.inp, l.out], l.w), f32(`b${i}`, [l.out], l.b));
    nodes.push(node('MatMul', [x, `w${i}`], [`mm${i}`]), node('Add', [`mm${i}`, `b${i}`], [`h${i}`]));
    x = `h${i}`;
    if (i < layers.length - 1) {
      nodes.push(node('Tanh', [x], [`a${i}`]));
      x = `a${i}`;
    }
  });
  const group = new Float32Array(L.width * FEATURE_COUNT);
  L.owner.forEach((f, j) => (group[j * FEATURE_COUNT + f] = 1));
  init.push(f32('group', [L.width, FEATURE_COUNT], group));
  nodes.push(
    node('Sub', [x, 'z'], ['diff']),
    node('Mul', ['diff', 'diff'], ['sq']),
    node('ReduceMean', ['sq'], [SCORE_OUTPUT], [intsAttr('axes', [1]), intAttr('keepdims', 0)]),
    node('MatMul', ['sq', 'group'], [FEATURE_ERRORS_OUTPUT]),
  );
  const model = onnx.ModelProto.create({
    irVersion: 7,
    producerName: '@soc/models',
    docString,
    opsetImport: [{ domain: '', version: OPSET }],
    graph: {
      name: 'kdd_autoencoder',
      node: nodes,
      initializer: init,
      input: [valueInfo(INPUT_NAME, ['N', FEATURE_COUNT])],
      output: [valueInfo(SCORE_OUTPUT, ['N']), valueInfo(FEATURE_ERRORS_OUTPUT, ['N', FEATURE_COUNT])],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/**
 * The metadata fields that describe this graph's interface (format, feature contract, input and
 * output names). Every model the graph builder writes, shipped or site-fitted, states them alike.
 */
export function graphInterface(version: string) {
  return {
    format: 'soc-anomaly-model/1' as const,
    version,
    features: [...FEATURE_NAMES],
    featureSignature: featureSignature(),
    input: { name: INPUT_NAME, shape: ['N', FEATURE_COUNT] as ['N', number] },
    outputs: { score: SCORE_OUTPUT, featureErrors: FEATURE_ERRORS_OUTPUT },
    opset: OPSET,
  };
}
