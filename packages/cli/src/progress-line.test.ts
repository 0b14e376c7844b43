import { describe, expect, it } from 'vitest';
import { progressLines } from './progress-line.js';

describe('progressLines', () => {
  it('prints every N batches, or when the interval has passed, with loss, speed, lr and ETA', () => {
    const lines: string[] = [];
    let clock = 0;
    const tick = progressLines({
      batches: 3,
      seconds: 30,
      epochs: 2,
      batchesPerEpoch: 5,
      log: (l) => lines.push(l),
      now: () => clock,
    });
    for (let batch = 0; batch < 5; batch++) {
      clock += 1;
      tick({ epoch: 0, batch, loss: 0.5 / (batch + 1), imagesPerSecond: 8, learningRate: 3e-4 });
    }
    expect(lines).toEqual(['epoch 1/2 · batch 3/5 · loss 0.1667 · 8 images/s · lr 0.0003 · ETA 7 s']);
    clock += 40; // a slow batch: the time limit triggers a line before the count does
    tick({ epoch: 1, batch: 0, loss: 0.1, imagesPerSecond: 0.25 });
    expect(lines[1]).toBe('epoch 2/2 · batch 1/5 · loss 0.1 · 0.25 images/s · ETA 30 s');
  });
});
