import { describe, expect, it } from 'vitest';
import { initEngine, tf } from './index.js';
import { measureMemory } from './memory-meter.js';

describe('measureMemory', () => {
  it('reports the peak tensor bytes of a tidy computation, and nothing retained', async () => {
    await initEngine({ backend: 'wasm' });
    const report = await measureMemory(() =>
      tf.tidy(() => {
        const a = tf.ones([256, 256]); // 256 KiB
        const b = tf.ones([256, 256]); // 256 KiB
        return tf.sum(tf.matMul(a, b)).dataSync()[0]; // + 256 KiB product
      }),
    );
    expect(report.result).toBe(256 * 256 * 256);
    expect(report.peakTensorBytes).toBeGreaterThanOrEqual(3 * 256 * 256 * 4);
    expect(report.peakTensorBytes).toBeLessThan(4 * 256 * 256 * 4);
    expect(report.retainedTensorBytes).toBe(0);
    expect(report.wasmHeapBytes).toBeGreaterThan(3 * 256 * 256 * 4);
    expect(report.rssBytes).toBeGreaterThan(report.wasmHeapBytes);
    expect(report.peakRssBytes).toBeGreaterThanOrEqual(report.rssBytes);
  });

  it('sees a leak as retained bytes and a larger allocation as a larger peak', async () => {
    await initEngine({ backend: 'wasm' });
    const small = await measureMemory(() => tf.tidy(() => tf.ones([64, 64]).sum().dataSync()));
    const big = await measureMemory(() => tf.tidy(() => tf.ones([512, 512]).sum().dataSync()));
    expect(big.peakTensorBytes).toBeGreaterThan(small.peakTensorBytes * 32);
    const leaked = await measureMemory(() => tf.ones([100, 100]));
    expect(leaked.retainedTensorBytes).toBe(100 * 100 * 4);
    leaked.result.dispose();
  });

  it('grows the wasm heap figure when a computation needs more than the heap holds', async () => {
    await initEngine({ backend: 'wasm' });
    const before = await measureMemory(() => 0);
    const large = await measureMemory(() => tf.tidy(() => tf.ones([4096, 4096]).sum().dataSync()));
    expect(large.wasmHeapBytes).toBeGreaterThanOrEqual(Math.max(before.wasmHeapBytes, 64 * 1024 * 1024));
  });

  it('measures computations of hundreds of thousands of kernels', async () => {
    await initEngine({ backend: 'wasm' });
    const report = await measureMemory(() =>
      tf.tidy(() => {
        let x = tf.zeros([4]);
        for (let i = 0; i < 150_000; i++) x = tf.add(x, 1);
        return x.dataSync()[0];
      }),
    );
    expect(report.result).toBe(150_000);
    expect(report.peakTensorBytes).toBeGreaterThan(0);
  });

  it('counts buffers, not tensors: a shared buffer once, an old value as long as a second tensor keeps it', async () => {
    await initEngine({ backend: 'wasm' });
    const bytes = 256 * 256 * 4;
    const zeros = tf.zeros([256, 256]);
    const v = tf.variable(zeros);
    zeros.dispose();
    const shared = await measureMemory(() => tf.reshape(v, [256, 256])); // same buffer, a second tensor
    expect(shared.peakTensorBytes).toBe(0);
    expect(shared.retainedTensorBytes).toBe(0);
    const kept = shared.result;
    // the variable takes a new buffer; its old one lives on in `kept` (what undoing a step costs)
    const assigned = await measureMemory(() => tf.tidy(() => v.assign(tf.ones([256, 256]))));
    expect(assigned.peakTensorBytes).toBe(bytes);
    expect(assigned.retainedTensorBytes).toBe(bytes);
    const released = await measureMemory(() => kept.dispose());
    expect(released.retainedTensorBytes).toBe(-bytes);
    // nested meters each see their own span
    const outer = await measureMemory(async () => {
      const inner = await measureMemory(() => tf.tidy(() => tf.ones([256, 256]).sum().dataSync()));
      expect(inner.peakTensorBytes).toBe(bytes + 4);
      return tf.tidy(() => tf.ones([512, 512]).sum().dataSync());
    });
    expect(outer.peakTensorBytes).toBe(4 * bytes + 4);
    v.dispose();
  });
});
