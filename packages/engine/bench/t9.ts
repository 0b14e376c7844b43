import { initEngine, tf } from '@patchgd/engine';
await initEngine({ backend: 'wasm' });
const [win, w, ch] = process.argv.slice(2).map(Number) as [number, number, number];
for (let i = 0; i < 30; i++) {
  tf.tidy(() => {
    const a = tf.randomNormal([1, win, w, ch]) as tf.Tensor4D;
    const got = tf.avgPool(a, [win, 1], 1, 'valid').dataSync();
    const data = a.dataSync(); let maxErr = 0;
    for (let c = 0; c < w * ch; c += 97) { let s = 0; for (let r = 0; r < win; r++) s += data[r * w * ch + c]!; maxErr = Math.max(maxErr, Math.abs(s / win - got[c]!)); }
    if (maxErr > 1e-4) throw new Error('wrong ' + maxErr);
    tf.dispose(Array.from({ length: 50 }, (_, j) => tf.ones([j * 100 + 1])));
  });
}
console.log('ok');
