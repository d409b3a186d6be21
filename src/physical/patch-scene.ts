/**
 * A patch seen once: its print-and-scan and appearance (applied to the patch itself, as printing
 * and lighting change the sticker), its placement (the warp), and the camera (applied to the whole
 * composed image). `composeBatch` draws one scene per image and builds the batch a model sees;
 * `patchGradient` turns the model's input gradients into the gradient of the patch by running
 * every scene's VJPs backwards (camera, warp adjoint Wᵀ, appearance, print-and-scan), averaged.
 */
import type { Rng } from '../random.js';
import type { Tensor } from '../tensor/tensor.js';
import { applySparse, applySparseAdjoint, chain, type ImageOp } from './image-ops.js';
import type { PatchSet } from './patch-set.js';
import { drawPlacement, drawPlacementAt, warpFor, type Placement, type Warp } from './placement.js';
import { drawAppearance, drawCamera, drawPrintScan, type TransformRanges } from './transforms.js';

export interface PatchScene {
  readonly placement: Placement;
  readonly patchOp: ImageOp;
  readonly warp: Warp;
  readonly camera: ImageOp;
}

export interface Bounds01 {
  readonly lower: number;
  readonly upper: number;
}

export function drawScene(set: PatchSet, ranges: TransformRanges, rng: Rng, bounds: Bounds01, placement?: Placement): PatchScene {
  const where = placement ?? drawPlacement(set, ranges, rng);
  const ops: ImageOp[] = [];
  if (ranges.printScan) ops.push(drawPrintScan(set.patch, rng));
  const look = drawAppearance(set.patch, ranges, rng);
  if (look) ops.push(look);
  return { placement: where, patchOp: chain(ops), warp: warpFor(set, where), camera: drawCamera(set.image, ranges, rng, bounds) };
}

/** The image with the patch pasted as the scene says (before the camera: the camera is applied in composeImage). */
function paste(set: PatchSet, scene: PatchScene, image: Float32Array, patch: Float32Array): Float32Array {
  const seen = scene.patchOp.forward(patch);
  const out = applySparse(scene.warp.map, seen);
  const plane = set.image.height * set.image.width;
  for (let i = 0; i < out.length; i++) out[i] = out[i]! + (1 - scene.warp.coverage[i % plane]!) * image[i]!;
  return out;
}

export function composeImage(set: PatchSet, scene: PatchScene, image: Float32Array, patch: Float32Array): Float32Array {
  return scene.camera.forward(paste(set, scene, image, patch));
}

/** Draws a scene per image of x (N, C, H, W) and returns the composed batch with its scenes; `centre` fixes where the patch of a row goes (rotation, scale and the rest still drawn). */
export function composeBatch(
  set: PatchSet,
  x: Tensor,
  patch: Float32Array,
  ranges: TransformRanges,
  rng: Rng,
  bounds: Bounds01,
  centre?: { readonly x: number; readonly y: number },
): { x: Tensor; scenes: PatchScene[] } {
  const row = set.image.channels * set.image.height * set.image.width;
  const n = x.shape[0]!;
  const out = new Float32Array(n * row);
  const scenes: PatchScene[] = [];
  for (let i = 0; i < n; i++) {
    const scene = drawScene(set, ranges, rng, bounds, centre ? drawPlacementAt(ranges, rng, centre) : undefined);
    scenes.push(scene);
    out.set(composeImage(set, scene, x.data.subarray(i * row, (i + 1) * row), patch), i * row);
  }
  return { x: { data: out, shape: [...x.shape] }, scenes };
}

/** Σ over rows of d loss_i / d patch through scene i, divided by the number of rows (the EOT average). */
export function patchGradient(set: PatchSet, scenes: readonly PatchScene[], grad: Tensor): Float32Array {
  const row = set.image.channels * set.image.height * set.image.width;
  const total = new Float32Array(set.patch.channels * set.patch.height * set.patch.width);
  scenes.forEach((scene, i) => {
    const g = scene.camera.backward(grad.data.subarray(i * row, (i + 1) * row));
    const gp = scene.patchOp.backward(applySparseAdjoint(scene.warp.map, g));
    for (let j = 0; j < total.length; j++) total[j] = total[j]! + gp[j]! / scenes.length;
  });
  return total;
}
