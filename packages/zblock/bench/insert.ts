// Cost of the differentiable insert (forward + gradient to the features) on wasm and cpu, for the
// 'concat' and 'matmul' formulations, and of ZBlock write / read / toTensor.
//
//   npm run bench -w @patchgd/zblock
import { initEngine, tf } from '@patchgd/engine';
import { ZBlock, insertCells, type InsertMethod } from '@patchgd/zblock';

interface Case {
  B: number;
  m: number;
  n: number;
  s: number;
  k: number;
}
const CASES: Case[] = [
  { B: 4, m: 16, n: 16, s: 256, k: 16 },
  { B: 4, m: 32, n: 32, s: 256, k: 32 },
  { B: 1, m: 128, n: 128, s: 128, k: 64 },
];

function timeIt(fn: () => void, repeats: number): number {
  fn(); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < repeats; i++) fn();
  return (performance.now() - t0) / repeats;
}

await initEngine({ backend: 'wasm' });
console.log(
  `| backend | B×m×n×s, k | method | forward ms | forward + grad ms |   (${new Date().toISOString()}, load ${(await import('node:os')).loadavg()[0]!.toFixed(1)})`,
);
console.log('|---|---|---|---|---|');
for (const backend of ['wasm', 'cpu']) {
  await tf.setBackend(backend);
  for (const c of CASES) {
    const z = tf.randomNormal([c.B, c.m, c.n, c.s]) as tf.Tensor4D;
    const f = tf.randomNormal([c.B, c.k, c.s]) as tf.Tensor3D;
    const w = tf.randomNormal([c.B, c.m, c.n, c.s]);
    const cells = Array.from({ length: c.B }, (_, b) =>
      Array.from({ length: c.k }, (_, j) => (j * 97 + b * 13) % (c.m * c.n)),
    );
    for (const method of ['scatter', 'matmul', 'concat'] as InsertMethod[]) {
      const repeats = method === 'scatter' ? 5 : 2;
      // wasm and cpu run kernels eagerly, so no read-back is needed to time them
      const fwd = timeIt(() => tf.tidy(() => void insertCells(z, cells, f, { method })), repeats);
      const grad = timeIt(
        () =>
          tf.tidy(
            () => void tf.grad((ff) => tf.sum(tf.mul(insertCells(z, cells, ff as tf.Tensor3D, { method }), w)))(f),
          ),
        repeats,
      );
      console.log(
        `| ${backend} | ${c.B}×${c.m}×${c.n}×${c.s}, ${c.k} | ${method} | ${fwd.toFixed(1)} | ${grad.toFixed(1)} |`,
      );
    }
    tf.dispose([z, f, w]);
  }
}

// ZBlock storage: 4 images of 64 × 64 × 256
await tf.setBackend('wasm');
console.log('\n| storage | dtype | write 64 cells ms | read image ms | toTensor(4) ms | bytes |');
console.log('|---|---|---|---|---|---|');
for (const storage of ['memory', 'disk'] as const) {
  for (const dtype of ['float32', 'float16'] as const) {
    const z = new ZBlock({
      images: 4,
      rows: 64,
      cols: 64,
      latentSize: 256,
      dtype,
      storage,
      ...(storage === 'disk' && { budgetBytes: 8 << 20 }),
    });
    const f = new Float32Array(64 * 256).map(() => Math.random());
    let step = 0;
    const write = timeIt(
      () =>
        z.write(
          step % 4,
          Array.from({ length: 64 }, (_, j) => (step++ * 64 + j * 61) % 4096),
          f,
        ),
      20,
    );
    const read = timeIt(() => z.read(1), 5);
    const tensor = timeIt(() => z.toTensor().dispose(), 3);
    console.log(
      `| ${storage} | ${dtype} | ${write.toFixed(2)} | ${read.toFixed(1)} | ${tensor.toFixed(1)} | ${z.bytes} |`,
    );
    z.dispose();
  }
}
