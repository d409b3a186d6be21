/**
 * Every single detector gibbon ships, as a plain list (detector.ts looks kinds up in it; the
 * combined detector is built there from these). Adding a detector: a file that exports a
 * `DetectorScore` (score-context.ts) and one entry here; nothing registers itself on import.
 */
import { energyDetector } from './energy.js';
import { squeezeDetector } from './feature-squeezing.js';
import { mahalanobisDetector } from './mahalanobis.js';
import { mspDetector } from './msp.js';
import type { DetectorScore } from './score-context.js';

export const SINGLE_DETECTORS: readonly DetectorScore[] = Object.freeze([mspDetector, energyDetector, mahalanobisDetector, squeezeDetector]);
