// The engine's `tf` without the @tensorflow/tfjs union package: what the union's import did
// (cpu backend, gradients, chained ops) and every `tf.<name>` the monorepo's packages and apps use.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CHAINED_OPS } from './chained-ops.js';
import { tf } from './index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function sources(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry === 'dist' || entry.startsWith('.')) continue;
    const file = path.join(dir, entry);
    if (statSync(file).isDirectory()) sources(file, out);
    else if (/\.ts$/.test(entry) && !entry.endsWith('.d.ts')) out.push(file);
  }
  return out;
}

describe('tf (tfjs-core + tfjs-layers)', () => {
  it('computes gradients and chained ops before any backend is chosen', () => {
    const [dx] = tf.grads((x: tf.Tensor) => tf.sin(x))([tf.scalar(0)]);
    expect(dx!.dataSync()[0]).toBeCloseTo(1, 6);
    expect(tf.scalar(3).square().dataSync()[0]).toBe(9);
    expect(
      tf
        .tensor1d([1, 2])
        .concat(tf.tensor1d([3]))
        .arraySync(),
    ).toEqual([1, 2, 3]);
    expect(tf.tensor1d([1, 2]).stack(tf.tensor1d([3, 4])).shape).toEqual([2, 2]);
    expect(
      tf
        .tensor2d([[1, 2]])
        .as1D()
        .toInt().dtype,
    ).toBe('int32');
    expect(tf.scalar(1).where(tf.scalar(false, 'bool'), tf.scalar(5)).dataSync()[0]).toBe(5);
    expect(tf.version.tfjs).toBe(tf.version_core);
  });

  it('has every chained op tfjs-core declares', () => {
    const proto = tf.Tensor.prototype as unknown as Record<string, unknown>;
    for (const name of [...CHAINED_OPS, 'resizeBilinear', 'flatten', 'asType'])
      expect(typeof proto[name], name).toBe('function');
    expect(CHAINED_OPS.length).toBeGreaterThan(100);
  });

  it('has every tf.<name> the packages and apps use', () => {
    const used = new Set<string>();
    for (const dir of ['packages', 'apps']) {
      for (const file of sources(path.join(root, dir))) {
        if (file === fileURLToPath(import.meta.url)) continue;
        // Code only: comments mention "tf.js" and the like.
        const text = readFileSync(file, 'utf8')
          .replace(/\/\*[\s\S]*?\*\//g, '')
          .replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
        // Values only (types are tsc's business): lower-case names (ops, namespaces), and classes after new / instanceof.
        for (const m of text.matchAll(/(?<![\w./])tf\.([a-z_]\w*)/g)) used.add(m[1]!);
        for (const m of text.matchAll(/(?:new|instanceof)\s+tf\.([A-Z]\w*)/g)) used.add(m[1]!);
      }
    }
    expect(used.size).toBeGreaterThan(50);
    const namespace = tf as unknown as Record<string, unknown>;
    const missing = [...used].filter((name) => namespace[name] === undefined);
    expect(missing).toEqual([]);
  });
});
