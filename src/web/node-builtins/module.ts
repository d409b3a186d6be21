/**
 * Browser stand-in for node:module (the web build maps node:module here): `createRequire` for the
 * two packages the bundled library requires by name, ECharts (report/chart.ts) and onnxruntime's
 * package.json (the runner records the version in the report).
 */
import * as echarts from 'echarts';
import { GibbonError } from '../../errors.js';
import { webRuntimeVersion } from '../onnxruntime.js';

export function createRequire(_from: string): (name: string) => unknown {
  return (name: string) => {
    if (name === 'echarts') return echarts;
    if (name === 'onnxruntime-node/package.json') return { version: `web ${webRuntimeVersion()}` };
    throw new GibbonError('internal', `require('${name}') is not available in the browser build`);
  };
}
