// Writes what a trained PatchGD model needs to run anywhere: the backbone and the head as standard
// tfjs LayersModels (model.json + weights.bin, `tf.loadLayersModel` reads them), patchgd.json, and
// for torchvision-layout backbones the trunk under torchvision's names in safetensors.
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { TORCHVISION_ARCHS, exportStateDict, type Backbone, type Head, type TorchvisionArch } from '@patchgd/backbones';
import { saveModelWeights } from '@patchgd/backbones/layers';
import { encodeSafetensors } from '@patchgd/core';
import { writeAtomic } from '@patchgd/core/node';
import { tf } from '@patchgd/engine';
import { TrainerOptionError } from './errors.js';
import { standardLayers, type PatchGDManifest } from './patchgd-model.js';

/** What {@link exportPatchGDModel} writes, besides the models: the run's input and training facts. */
export type ExportInfo = Omit<
  PatchGDManifest,
  'format' | 'version' | 'files' | 'versions' | 'featureDim' | 'backbone' | 'head'
>;

const require = createRequire(import.meta.url);

function versions(): Record<string, string> {
  const out: Record<string, string> = { '@tensorflow/tfjs': tf.version.tfjs };
  for (const name of [
    '@patchgd/optimizer',
    '@patchgd/backbones',
    '@patchgd/core',
    '@patchgd/engine',
    '@patchgd/samplers',
  ]) {
    try {
      out[name] = (require(`${name}/package.json`) as { version: string }).version;
    } catch {
      // a package without a package.json export is left out rather than guessed
    }
  }
  return out;
}

/** The tfjs-layers model behind a built-in backbone or head (every built-in has one). */
function layersModelOf(x: object, what: string): tf.LayersModel {
  const model = (x as { model?: unknown }).model;
  if (!(model instanceof tf.LayersModel)) {
    throw new TrainerOptionError(what, 'a backbone or head built with tfjs-layers (with a LayersModel)', x);
  }
  return model;
}

const patchSizeOf = (b: object) => (b as { inputSize?: number }).inputSize;
const headFacts = (h: object) => {
  const { featureDim, numClasses, gridSize } = h as { featureDim?: number; numClasses?: number; gridSize?: unknown };
  return { featureDim, numClasses, gridSize };
};

/**
 * Exports a trained backbone and head to `dir`: `backbone/model.json`, `head/model.json` (tfjs
 * LayersModels with their weights), `patchgd.json` (the manifest `loadPatchGDModel` reads) and,
 * for ResNet / MobileNetV2 in the torchvision layout, `backbone.safetensors` with torchvision's
 * names (the trunk; a `featureDim` projection has no torchvision counterpart and stays out).
 *
 * @example
 * ```ts
 * await exportPatchGDModel(trainer.backbone, trainer.head, 'exports/run', {
 *   patchSize: 128, gridSize: [4, 4], imageSize: 512, channels: 3, fill: 0, classNames: ['a', 'b'],
 *   training: { patchesPerStep: 2, innerIterations: 8, accumulationSteps: 8, },
 * });
 * ```
 */
export async function exportPatchGDModel(
  backbone: Backbone,
  head: Head,
  dir: string,
  info: ExportInfo,
): Promise<PatchGDManifest> {
  await mkdir(dir, { recursive: true });
  for (const [what, model] of [
    ['backbone', layersModelOf(backbone, 'backbone')],
    ['head', layersModelOf(head, 'head')],
  ] as const) {
    const { modelJson } = await saveModelWeights(model, path.join(dir, what));
    // plain tf.loadLayersModel knows only tfjs's own layer classes
    const json = JSON.parse(await readFile(modelJson, 'utf8')) as tf.io.ModelJSON;
    await writeAtomic(modelJson, JSON.stringify({ ...json, modelTopology: standardLayers(json.modelTopology) }));
  }
  const built = (backbone as { options?: Record<string, unknown> }).options;
  const torchvision = (TORCHVISION_ARCHS as readonly string[]).includes(backbone.name) && built?.['layout'] !== 'keras';
  if (torchvision) {
    const tensors = exportStateDict(backbone, backbone.name as TorchvisionArch, { backboneOnly: true });
    await writeAtomic(
      path.join(dir, 'backbone.safetensors'),
      encodeSafetensors(tensors, { format: 'pt', arch: backbone.name }),
    );
  }
  const manifest: PatchGDManifest = {
    format: 'patchgd-model',
    version: 1,
    ...info,
    featureDim: backbone.featureDim,
    backbone: { name: backbone.name, options: { ...(built ?? { inputSize: patchSizeOf(backbone) }) } },
    head: {
      name: head.name,
      options: { ...((head as { options?: Record<string, unknown> }).options ?? headFacts(head)) },
    },
    files: {
      backbone: 'backbone/model.json',
      head: 'head/model.json',
      ...(torchvision ? { torchvision: 'backbone.safetensors' } : {}),
    },
    versions: versions(),
  };
  await writeAtomic(path.join(dir, 'patchgd.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
