// PyTorch weights in, our weight folders out: `patchgd convert <file.safetensors> --backbone resnet50
// --out dir`, and `model.weights: x.safetensors` in a config (converted once, cached by the file's
// content hash). Safetensors only: a `.pth` is a pickle, and unpickling runs code; convert it with
// Python's `safetensors` package first (docs/weights.md).
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import {
  TORCHVISION_ARCHS,
  createBackbone,
  loadTorchvisionWeights,
  type TorchvisionArch,
  type StateDictNaming,
} from '@patchgd/backbones';
import { decodeSafetensors } from '@patchgd/core';
import { CliError } from './errors.js';

export interface ConvertOptions {
  /** a torchvision / timm state dict in safetensors */
  file: string;
  /** `resnet18`, `resnet34`, `resnet50` or `mobilenetv2` */
  backbone: string;
  /** the folder to write (model.json + weights.bin, the backbone's trunk) */
  out: string;
  /** options of the backbone that change its weights (e.g. `widthMultiplier`); inputSize and channels do not */
  backboneOptions?: Record<string, unknown>;
  /** default: detected from the keys */
  naming?: StateDictNaming;
}

/** The backbone options that must be the same for converting and for training (the others change no weight). */
function weightOptions(options: Record<string, unknown> = {}): Record<string, unknown> {
  const { widthMultiplier, layout } = options;
  return { ...(widthMultiplier !== undefined ? { widthMultiplier } : {}), ...(layout !== undefined ? { layout } : {}) };
}

/**
 * Converts a torchvision or timm state dict (safetensors) into the backbone's weight folder,
 * trunk only (the classifier of the file is dropped), written to a temporary folder and renamed,
 * so `out` is either whole or absent. Loads later with `model.weights: <out>`.
 *
 * @example
 * ```ts
 * await convertWeights({ file: 'resnet50.safetensors', backbone: 'resnet50', out: 'weights/resnet50' });
 * ```
 */
export async function convertWeights(options: ConvertOptions): Promise<{ out: string; tensors: number }> {
  if (!(TORCHVISION_ARCHS as readonly string[]).includes(options.backbone)) {
    throw new CliError(
      `--backbone: expected one of ${TORCHVISION_ARCHS.join(', ')} (torchvision layouts), received '${
        options.backbone
      }'`,
    );
  }
  if (!options.file.endsWith('.safetensors')) {
    throw new CliError(
      `${options.file}: expected a .safetensors file. A .pth is a Python pickle, which is never unpickled here; convert it with ` +
        "python -c \"import torch; from safetensors.torch import save_file; save_file(torch.load('x.pth', map_location='cpu', weights_only=True), 'x.safetensors')\"",
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(options.file));
  } catch (error) {
    throw new CliError(
      `${options.file}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
  const source = path.basename(options.file);
  const file = decodeSafetensors(bytes, { source });
  // The smallest input every torchvision backbone accepts: weights do not depend on it.
  const backbone = createBackbone(options.backbone, {
    ...weightOptions(options.backboneOptions),
    inputSize: 32,
    inputChannels: 3,
  });
  const temporary = `${options.out}.${process.pid}.tmp`;
  try {
    loadTorchvisionWeights(backbone, file, {
      arch: options.backbone as TorchvisionArch,
      backboneOnly: true,
      source,
      naming: options.naming,
    });
    await rm(temporary, { recursive: true, force: true });
    // every torchvision-layout backbone is a tfjs-layers one, which writes its weight folder
    const saved = await (backbone as unknown as { saveWeights(dir: string): Promise<{ weights: number }> }).saveWeights(
      temporary,
    );
    await rm(options.out, { recursive: true, force: true });
    await mkdir(path.dirname(path.resolve(options.out)), { recursive: true });
    await rename(temporary, options.out);
    return { out: options.out, tensors: saved.weights };
  } finally {
    backbone.dispose();
    await rm(temporary, { recursive: true, force: true });
  }
}

/** SHA-256 of a file's bytes, streamed. */
async function contentHash(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * The weight folder for `model.weights`: a folder as it is; a `.safetensors` file converted for
 * the backbone into `<cacheDir>/<sha256[:16]>-<backbone>[-options]` the first time and reused
 * after (a changed file has another hash, so a stale cache is never read).
 *
 * @example
 * ```ts
 * const dir = await resolveWeights('resnet50.safetensors', { backbone: 'resnet50', cacheDir: 'runs/.cache/weights' });
 * await backbone.loadWeights(dir, { backboneOnly: true });
 * ```
 */
export async function resolveWeights(
  weights: string,
  options: { backbone: string; backboneOptions?: Record<string, unknown>; cacheDir: string },
): Promise<{ dir: string; converted: boolean; cached: boolean }> {
  if (!weights.endsWith('.safetensors')) return { dir: weights, converted: false, cached: false };
  if (!existsSync(weights)) throw new CliError(`model.weights: ${weights} does not exist`);
  const extra = Object.entries(weightOptions(options.backboneOptions)).map(([k, v]) => `-${k}${String(v)}`);
  const dir = path.join(
    options.cacheDir,
    `${(await contentHash(weights)).slice(0, 16)}-${options.backbone}${extra.join('')}`,
  );
  if (existsSync(path.join(dir, 'model.json'))) return { dir, converted: true, cached: true };
  await convertWeights({
    file: weights,
    backbone: options.backbone,
    out: dir,
    backboneOptions: options.backboneOptions,
  });
  return { dir, converted: true, cached: false };
}
