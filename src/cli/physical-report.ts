/** Writes a physical attack's report.json and report.html into the output folder, atomically. */
import { join } from 'node:path';
import { renderPhysicalHtml, type PhysicalReport } from '../report/patch-html.js';
import { writeFileAtomically } from '../storage/atomic-write.js';

export function writePhysicalReport(dir: string, report: PhysicalReport): void {
  writeFileAtomically(join(dir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileAtomically(join(dir, 'report.html'), renderPhysicalHtml(report));
}
