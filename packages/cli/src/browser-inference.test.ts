// An export runs in a browser: `loadPatchGDModel` bundled by esbuild for the browser platform (so
// any Node built-in on its import graph fails the build), served with a freshly trained export
// over HTTP and run in headless Chromium on tfjs's cpu backend, gives the logits of Node's
// `loadPatchGDModel` and of the trained run's own `predict`.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createBackbone, createHead } from '@patchgd/backbones';
import { initEngine, tf } from '@patchgd/engine';
import { exportPatchGDModel, loadPatchGDModel, PatchGDTrainer } from '@patchgd/optimizer';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, hasChromium, launchChromium } from './chromium-test-support.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SIZE = 32;
const PATCH = 16;

// The page's script: only the browser-facing entry of the optimizer, and the engine for its backend.
const ENTRY = `
import { initEngine, tf } from '@patchgd/engine';
import { loadPatchGDModel } from '@patchgd/optimizer/inference';
globalThis.patchgdPredict = async (base, pixels) => {
  // a browser has no node_modules to import backends from by name: the page passes its loader
  await initEngine({ backend: 'cpu' }, () => import('@tensorflow/tfjs-backend-cpu'));
  const model = await loadPatchGDModel(base);
  const logits = await model.predict([{ ...pixels, data: Uint8Array.from(pixels.data) }]);
  const out = { backend: tf.getBackend(), logits: Array.from(await logits.data()), tensors: 0 };
  logits.dispose();
  model.dispose();
  out.tensors = tf.memory().numTensors;
  return out;
};
`;

/** A smooth 8-bit RGB picture (the fixed input of the three predictions). */
function picture(seed: number) {
  const data = new Uint8Array(SIZE * SIZE * 3);
  for (let i = 0; i < data.length; i++) data[i] = Math.round(127.5 + 127 * Math.sin(i * 0.021 * (seed + 1) + seed));
  return { data, width: SIZE, height: SIZE, channels: 3 };
}

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));

/** Serves `routes` (URL path → file) and nothing else. */
async function serve(routes: (pathname: string) => string | undefined): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const file = routes(new URL(req.url ?? '/', 'http://x').pathname);
    const type = file?.endsWith('.js') ? 'text/javascript' : file?.endsWith('.html') ? 'text/html' : undefined;
    (file ? readFile(file) : Promise.reject(new Error('not found'))).then(
      (body) => res.writeHead(200, { 'content-type': type ?? 'application/octet-stream' }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

let dir: string;
beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
  dir = await mkdtemp(path.join(tmpdir(), 'browser-inference-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadPatchGDModel in a browser bundle', () => {
  it('bundles for the browser platform with no Node built-in on its import graph', async () => {
    // a Node built-in anywhere on the graph is a build error (esbuild: "Could not resolve node:…")
    const result = await build({ ...buildOptions(), metafile: true });
    const inputs = Object.keys(result.metafile.inputs);
    expect(result.errors).toEqual([]);
    expect(inputs.some((f) => f.includes('optimizer/src/patchgd-model.ts'))).toBe(true);
    // the trainer's Node-only parts stay out of the browser entry
    expect(inputs.filter((f) => /zblock|export-model|checkpoint|write-atomic/.test(f))).toEqual([]);
  });

  it.skipIf(!hasChromium())(
    'predicts in headless Chromium what the Node loader and the trained run predict',
    async () => {
      const backbone = createBackbone('convnet', { inputSize: PATCH, widths: [4, 8], featureDim: 6, seed: 3 });
      // dropout > 0: the export must still load without @patchgd/backbones' SeededDropout registered
      const head = createHead('convHead', {
        featureDim: 6,
        numClasses: 3,
        gridSize: [2, 2],
        width: 4,
        stride1Blocks: 1,
        stride2Blocks: 0,
        dropout: 0.2,
        seed: 3,
      });
      const normalize = { mean: [0.5, 0.4, 0.3], std: [0.25, 0.2, 0.3] };
      const trainer = new PatchGDTrainer({
        backbone,
        head,
        patchSize: PATCH,
        patchesPerStep: 2,
        optimizer: tf.train.sgd(0.05),
        normalize,
        seed: 1,
      });
      const batch = [picture(1), picture(2)];
      for (let step = 0; step < 2; step++) await trainer.trainBatch(batch, [0, 2]);
      const plan = trainer.plan(SIZE, SIZE);
      const exported = path.join(dir, 'export');
      await exportPatchGDModel(backbone, head, exported, {
        patchSize: PATCH,
        gridSize: [plan.grid.rows, plan.grid.cols],
        imageSize: SIZE,
        channels: 3,
        normalize,
        fill: 0,
        classNames: ['a', 'b', 'c'],
        training: {
          patchesPerStep: plan.patchesPerStep,
          innerIterations: plan.innerIterations,
          accumulationSteps: plan.accumulationSteps,
        },
      });
      const image = picture(7);
      const expectedTensor = await trainer.predict([image]);
      const expected = Array.from(await expectedTensor.data());
      const model = await loadPatchGDModel(exported);
      const nodeTensor = await model.predict([image]);
      const node = Array.from(await nodeTensor.data());
      tf.dispose([expectedTensor, nodeTensor]);
      model.dispose();
      backbone.dispose();
      head.dispose();

      const bundle = path.join(dir, 'page.js');
      await build({ ...buildOptions(), outfile: bundle, write: true });
      const page = path.join(dir, 'index.html');
      await writeFile(page, '<!doctype html><meta charset="utf-8"><script type="module" src="page.js"></script>');
      const { url, server } = await serve((p) =>
        p === '/'
          ? page
          : p === '/page.js'
            ? bundle
            : p.startsWith('/model/')
              ? path.join(exported, p.slice(7))
              : undefined,
      );
      const chromium = await launchChromium();
      try {
        const tab = await chromium.context.newPage();
        const errors: string[] = [];
        tab.on('pageerror', (e) => errors.push(e.message));
        await tab.goto(url);
        await tab.waitForFunction(() => 'patchgdPredict' in globalThis, undefined, { timeout: 20_000 });
        const inPage = await tab.evaluate(
          ([base, pixels]) =>
            (
              globalThis as unknown as {
                patchgdPredict(b: string, p: object): Promise<{ backend: string; logits: number[]; tensors: number }>;
              }
            ).patchgdPredict(base, pixels),
          [`${url}/model`, { ...image, data: Array.from(image.data) }] as const,
        );
        expect(errors).toEqual([]);
        expect(inPage.backend).toBe('cpu');
        expect(inPage.logits).toHaveLength(3);
        expect(maxAbs(inPage.logits, node)).toBeLessThan(1e-4);
        expect(maxAbs(inPage.logits, expected)).toBeLessThan(1e-4);
        expect(maxAbs(node, expected)).toBeLessThan(1e-4);
        // not a constant: the classes get different logits
        expect(Math.max(...expected) - Math.min(...expected)).toBeGreaterThan(1e-3);
        expect(inPage.tensors).toBe(0);
      } finally {
        await chromium.close();
        await new Promise((resolve) => server.close(resolve));
      }
    },
  );
});
if (!hasChromium()) console.log(`browser inference test skipped: ${CHROMIUM} not found (apt-get install -y chromium)`);

function buildOptions() {
  return {
    stdin: { contents: ENTRY, resolveDir: HERE, loader: 'js' as const },
    bundle: true,
    platform: 'browser' as const,
    format: 'esm' as const,
    conditions: ['@patchgd/source'],
    logLevel: 'silent' as const,
    write: false,
  };
}
