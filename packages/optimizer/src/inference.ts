/**
 * @patchgd/optimizer/inference — predictions from an export folder (`patchgd export`) alone, for
 * Node and browser bundles: nothing here imports a Node module statically.
 */
export { loadPatchGDModel, ExportFormatError } from './patchgd-model.js';
export type { PatchGDManifest, PatchGDModel, LoadPatchGDModelOptions, ExportReader } from './patchgd-model.js';
