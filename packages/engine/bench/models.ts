// ResNet50 and MobileNetV2 (width 1.0) as plain functions over tfjs variables, NHWC, batch norm in
// training mode — the training workloads the engine benchmark times. Each model also counts the
// multiply-adds of its convolutions and dense layer, from which the benchmark derives FLOPs.
import { batchNormTraining, tf } from '@patchgd/engine';

export interface BenchModel {
  name: string;
  variables: tf.Variable[];
  /** logits for a batch of NHWC images */
  forward: (x: tf.Tensor4D) => tf.Tensor2D;
  /** multiply-adds of one forward pass of one image at the size the model was built for */
  macsPerImage: number;
}

/** Batch norm through the engine's fused op (default) or tf.moments + tf.batchNorm (PATCHGD_BN=autodiff). */
const fusedBatchNorm = process.env['PATCHGD_BN'] !== 'autodiff';

class Builder {
  readonly variables: tf.Variable[] = [];
  macs = 0;
  private seed = 1;

  weight(shape: number[], fanIn: number): tf.Variable {
    const v = tf.variable(tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn), 'float32', this.seed++));
    this.variables.push(v);
    return v;
  }

  constant(shape: number[], value: number): tf.Variable<tf.Rank.R1> {
    const v = tf.variable(tf.fill(shape, value)) as unknown as tf.Variable<tf.Rank.R1>;
    this.variables.push(v);
    return v;
  }

  /** conv → batch norm (batch statistics) → optional activation; returns the layer and its output size. */
  convBn(
    size: number,
    k: number,
    cin: number,
    cout: number,
    stride: number,
    activation: 'relu' | 'relu6' | 'none',
    depthwise = false,
  ): { apply: (x: tf.Tensor4D) => tf.Tensor4D; outSize: number } {
    const w = depthwise ? this.weight([k, k, cin, 1], k * k) : this.weight([k, k, cin, cout], k * k * cin);
    const gamma = this.constant([cout], 1);
    const beta = this.constant([cout], 0);
    const outSize = Math.ceil(size / stride);
    this.macs += outSize * outSize * k * k * (depthwise ? cin : cin * cout);
    const apply = (x: tf.Tensor4D) => {
      const y = depthwise
        ? tf.depthwiseConv2d(x, w as tf.Tensor4D, stride, 'same')
        : tf.conv2d(x, w as tf.Tensor4D, stride, 'same');
      const n = fusedBatchNorm
        ? batchNormTraining(y, gamma, beta, 1e-5).y
        : (() => {
            const { mean, variance } = tf.moments(y, [0, 1, 2]);
            return tf.batchNorm(y, mean, variance, beta, gamma, 1e-5);
          })();
      return (activation === 'relu' ? tf.relu(n) : activation === 'relu6' ? tf.relu6(n) : n) as tf.Tensor4D;
    };
    return { apply, outSize };
  }

  dense(cin: number, cout: number): (x: tf.Tensor2D) => tf.Tensor2D {
    const w = this.weight([cin, cout], cin);
    const b = this.constant([cout], 0);
    this.macs += cin * cout;
    return (x) => tf.add(tf.matMul(x, w as tf.Tensor2D), b);
  }
}

/** ResNet50 (v1.5: stride on the 3×3 conv of each bottleneck), `classes` outputs. */
export function resnet50(imageSize: number, classes = 1000): BenchModel {
  const b = new Builder();
  const stem = b.convBn(imageSize, 7, 3, 64, 2, 'relu');
  let size = Math.ceil(stem.outSize / 2); // 3×3 stride-2 max pool
  let cin = 64;
  const blocks: ((x: tf.Tensor4D) => tf.Tensor4D)[] = [];
  const stages: [number, number][] = [
    [64, 3],
    [128, 4],
    [256, 6],
    [512, 3],
  ];
  stages.forEach(([width, count], stage) => {
    for (let i = 0; i < count; i++) {
      const stride = i === 0 && stage > 0 ? 2 : 1;
      const a = b.convBn(size, 1, cin, width, 1, 'relu');
      const c = b.convBn(size, 3, width, width, stride, 'relu');
      const d = b.convBn(c.outSize, 1, width, width * 4, 1, 'none');
      const shortcut = i === 0 ? b.convBn(size, 1, cin, width * 4, stride, 'none') : undefined;
      blocks.push((x) => {
        const y = d.apply(c.apply(a.apply(x)));
        return tf.relu(tf.add(y, shortcut ? shortcut.apply(x) : x)) as tf.Tensor4D;
      });
      size = c.outSize;
      cin = width * 4;
    }
  });
  const head = b.dense(cin, classes);
  return {
    name: 'ResNet50',
    variables: b.variables,
    macsPerImage: b.macs,
    forward: (x) => {
      let y = tf.maxPool(stem.apply(x), 3, 2, 'same');
      for (const block of blocks) y = block(y);
      return head(tf.mean(y, [1, 2]) as tf.Tensor2D);
    },
  };
}

/** MobileNetV2 with width multiplier 1.0, `classes` outputs. */
export function mobileNetV2(imageSize: number, classes = 1000): BenchModel {
  const b = new Builder();
  const stem = b.convBn(imageSize, 3, 3, 32, 2, 'relu6');
  let size = stem.outSize;
  let cin = 32;
  const blocks: ((x: tf.Tensor4D) => tf.Tensor4D)[] = [];
  const config: [number, number, number, number][] = [
    [1, 16, 1, 1],
    [6, 24, 2, 2],
    [6, 32, 3, 2],
    [6, 64, 4, 2],
    [6, 96, 3, 1],
    [6, 160, 3, 2],
    [6, 320, 1, 1],
  ];
  for (const [t, c, n, s] of config) {
    for (let i = 0; i < n; i++) {
      const stride = i === 0 ? s : 1;
      const hidden = cin * t;
      const expand = t === 1 ? undefined : b.convBn(size, 1, cin, hidden, 1, 'relu6');
      const dw = b.convBn(size, 3, hidden, hidden, stride, 'relu6', true);
      const project = b.convBn(dw.outSize, 1, hidden, c, 1, 'none');
      const residual = stride === 1 && cin === c;
      blocks.push((x) => {
        const y = project.apply(dw.apply(expand ? expand.apply(x) : x));
        return residual ? (tf.add(x, y) as tf.Tensor4D) : y;
      });
      size = dw.outSize;
      cin = c;
    }
  }
  const last = b.convBn(size, 1, cin, 1280, 1, 'relu6');
  const head = b.dense(1280, classes);
  return {
    name: 'MobileNetV2',
    variables: b.variables,
    macsPerImage: b.macs,
    forward: (x) => {
      let y = stem.apply(x);
      for (const block of blocks) y = block(y);
      return head(tf.mean(last.apply(y), [1, 2]) as tf.Tensor2D);
    },
  };
}

/** One SGD training step: forward, softmax cross-entropy, backward, update; resolves to the loss. */
export async function trainStep(
  model: BenchModel,
  optimizer: tf.Optimizer,
  x: tf.Tensor4D,
  labels: tf.Tensor2D,
): Promise<number> {
  const loss = optimizer.minimize(
    () => tf.losses.softmaxCrossEntropy(labels, model.forward(x)) as tf.Scalar,
    true,
    model.variables,
  );
  const value = (await loss!.data())[0]!;
  loss!.dispose();
  return value;
}
