// Inference from an export folder alone (`patchgd export`): patchgd.json, the backbone and head as
// standard tfjs LayersModels. Fill Z with the backbone (eval mode), then the head. No Node module
// is imported statically, here or in what this imports (engine, samplers, core), so the same code
// runs in a browser bundle (files fetched) and in Node (files read from disk through a dynamic
// import); packages/cli/src/browser-inference.test.ts bundles it for the browser and runs it in Chromium.
import { tf } from '@patchgd/engine';
import { PatchGrid, extractPatches, type Normalization, type Pixels, type RegionReader } from '@patchgd/samplers';
import { OptimizerError } from './errors.js';

/** `patchgd.json`: everything needed to turn an image into the run's prediction. */
export interface PatchGDManifest {
  format: 'patchgd-model';
  version: 1;
  /** p: the backbone's input side in pixels */
  patchSize: number;
  /** [rows, cols] of Z (the head was built for this grid) */
  gridSize: [number, number];
  /** the image side the run trained on (pixels at the level it read) */
  imageSize: number;
  /**
   * microns per pixel of the images the run trained on (one number, or per axis when they differ);
   * absent when the training files record no physical scale
   */
  mpp?: number | { x: number; y: number };
  channels: number;
  /** pixels are divided by `scale` (255 for 8-bit when absent), then normalised */
  normalize?: Normalization;
  scale?: number;
  /** value of the padding beyond the image's edge (after scaling) */
  fill: number;
  classNames: string[];
  featureDim: number;
  backbone: { name: string; options: Record<string, unknown> };
  head: { name: string; options: Record<string, unknown> };
  /** how it was trained: k, ζ and ε */
  training: {
    patchesPerStep: number;
    innerIterations: number;
    accumulationSteps: number;
  };
  /** paths relative to the folder */
  files: { backbone: string; head: string; torchvision?: string };
  versions: Record<string, string>;
}

/** The export folder is incomplete or not an export. */
export class ExportFormatError extends OptimizerError {
  override name = 'ExportFormatError';
  constructor(
    readonly location: string,
    what: string,
  ) {
    super(`Cannot load PatchGD model ${location}: ${what}`);
  }
}

/** Reads a file of the export, by its path relative to the folder. */
export type ExportReader = (relativePath: string) => Promise<Uint8Array>;

export interface LoadPatchGDModelOptions {
  /** how files are read; default: `fetch` for http(s) and blob URLs, the file system in Node */
  read?: ExportReader;
}

/** A loaded export: the two models and the prediction the run would make. */
export interface PatchGDModel {
  readonly manifest: PatchGDManifest;
  readonly backbone: tf.LayersModel;
  readonly head: tf.LayersModel;
  /** logits `[B, classes]` of images of the run's size (pixels, or region readers such as an ImageSource) */
  predict(images: readonly (Pixels | RegionReader)[]): Promise<tf.Tensor2D>;
  /** Z `[B, rows, cols, featureDim]` as the run fills it at inference */
  fillZ(images: readonly (Pixels | RegionReader)[]): Promise<tf.Tensor4D>;
  dispose(): void;
}

function defaultReader(location: string): ExportReader {
  const base = location.replace(/\/+$/, '');
  if (/^(https?|blob|data):/.test(base) || typeof process === 'undefined' || !process.versions?.node) {
    return async (file) => {
      const response = await fetch(`${base}/${file}`);
      if (!response.ok) throw new ExportFormatError(location, `${file}: HTTP ${response.status}`);
      return new Uint8Array(await response.arrayBuffer());
    };
  }
  // A computed specifier, so browser bundlers do not try to resolve the Node module.
  const fsModule = 'node:fs/promises';
  return async (file) => {
    const fs = (await import(/* @vite-ignore */ fsModule)) as typeof import('node:fs/promises');
    return new Uint8Array(await fs.readFile(base.startsWith('file:') ? new URL(`${base}/${file}`) : `${base}/${file}`));
  };
}

/**
 * `topology` with the layers only PatchGD defines replaced by the tfjs layers they are at
 * inference, so that plain `tf.loadLayersModel` (no `@patchgd/backbones` registered, as in a
 * browser bundle) reads it: `SeededDropout` (the trainer's seeded dropout) is tfjs's `Dropout`.
 */
export function standardLayers<T>(topology: T): T {
  if (Array.isArray(topology)) return topology.map((item) => standardLayers(item)) as T;
  if (topology === null || typeof topology !== 'object') return topology;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(topology)) out[key] = standardLayers(value);
  if (out['class_name'] === 'SeededDropout') {
    const config = out['config'] as Record<string, unknown>;
    out['class_name'] = 'Dropout';
    out['config'] = { ...config, seed: null };
  }
  return out as T;
}

async function loadLayers(location: string, read: ExportReader, modelJson: string): Promise<tf.LayersModel> {
  const json = JSON.parse(new TextDecoder().decode(await read(modelJson))) as tf.io.ModelJSON;
  if (!json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new ExportFormatError(
      location,
      `${modelJson} is not a tfjs LayersModel (model.json with modelTopology and weightsManifest)`,
    );
  }
  const dir = modelJson.includes('/') ? modelJson.slice(0, modelJson.lastIndexOf('/') + 1) : '';
  const shards: Uint8Array[] = [];
  const specs: tf.io.WeightsManifestEntry[] = [];
  for (const group of json.weightsManifest) {
    for (const shard of group.paths) shards.push(await read(dir + shard));
    specs.push(...group.weights);
  }
  const data = new Uint8Array(shards.reduce((n, s) => n + s.byteLength, 0));
  let offset = 0;
  for (const shard of shards) {
    data.set(shard, offset);
    offset += shard.byteLength;
  }
  // exports written before `standardLayers` existed name `SeededDropout`
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: standardLayers(json.modelTopology),
      weightSpecs: specs,
      weightData: data.buffer,
    }),
  );
}

/**
 * Loads an export written by `patchgd export` (or `exportPatchGDModel`) and returns a model that
 * predicts from images alone: Z filled patch by patch with the backbone, then the head.
 *
 * @example
 * ```ts
 * const model = await loadPatchGDModel('exports/my-run');            // Node: a folder; browser: a URL
 * const logits = await model.predict([{ data, width: 512, height: 512, channels: 3 }]);
 * const probabilities = tf.softmax(logits);
 * ```
 */
export async function loadPatchGDModel(location: string, options: LoadPatchGDModelOptions = {}): Promise<PatchGDModel> {
  const read = options.read ?? defaultReader(location);
  let manifest: PatchGDManifest;
  try {
    manifest = JSON.parse(new TextDecoder().decode(await read('patchgd.json'))) as PatchGDManifest;
  } catch (error) {
    if (error instanceof ExportFormatError) throw error;
    throw new ExportFormatError(location, `no readable patchgd.json (${(error as Error).message})`);
  }
  if (manifest.format !== 'patchgd-model' || manifest.version !== 1) {
    throw new ExportFormatError(
      location,
      `patchgd.json is not a version 1 PatchGD model manifest (format ${String(manifest.format)})`,
    );
  }
  const backbone = await loadLayers(location, read, manifest.files.backbone);
  const head = await loadLayers(location, read, manifest.files.head);
  const [rows, cols] = manifest.gridSize;
  const s = manifest.featureDim;
  const chunk = 64;

  const fillZ = async (images: readonly (Pixels | RegionReader)[]): Promise<tf.Tensor4D> => {
    const z = new Float32Array(images.length * rows * cols * s);
    for (const [b, image] of images.entries()) {
      const { width, height } = sizeOf(image, location);
      const grid = new PatchGrid({ width, height, patchSize: manifest.patchSize, policy: 'pad', fill: manifest.fill });
      if (grid.rows !== rows || grid.cols !== cols) {
        throw new ExportFormatError(
          location,
          `images[${b}] is ${width}×${height}; the model reads a ${rows}×${cols} grid of ${manifest.patchSize}² patches`,
        );
      }
      for (let start = 0; start < grid.size; start += chunk) {
        const cells = Int32Array.from({ length: Math.min(chunk, grid.size - start) }, (_, i) => start + i);
        const patches = await extractPatches(image, cells, {
          grid,
          ...(manifest.normalize ? { normalize: manifest.normalize } : {}),
          ...(manifest.scale !== undefined ? { scale: manifest.scale } : {}),
        });
        const features = tf.tidy(() => backbone.predict(tf.tensor4d(patches.data, patches.shape)) as tf.Tensor2D);
        // cells are row-major, as Z's rows × cols
        z.set(await features.data(), (b * rows * cols + start) * s);
        features.dispose();
      }
    }
    return tf.tensor4d(z, [images.length, rows, cols, s]);
  };

  return {
    manifest,
    backbone,
    head,
    fillZ,
    async predict(images) {
      const z = await fillZ(images);
      try {
        return tf.tidy(() => head.predict(z) as tf.Tensor2D);
      } finally {
        z.dispose();
      }
    },
    dispose() {
      backbone.dispose();
      head.dispose();
    },
  };
}

function sizeOf(image: Pixels | RegionReader, location: string): { width: number; height: number } {
  const s = image as { width?: number; height?: number; levels?: { width: number; height: number }[] };
  if (typeof s.width === 'number' && typeof s.height === 'number') return { width: s.width, height: s.height };
  if (Array.isArray(s.levels) && s.levels[0]) return s.levels[0];
  throw new ExportFormatError(location, 'images must be pixels { data, width, height, channels } or region readers');
}
