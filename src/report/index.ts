/** report/: an evaluation's results as report.json (a versioned schema) and a self-contained report.html. */
export { writeReportJson, readReportJson, formatReportJson, REPORT_JSON_FILE } from './json.js';
export { renderReportHtml, writeReportHtml, REPORT_HTML_FILE } from './html.js';
export { parseReport } from './parse.js';
export {
  REPORT_SCHEMA_VERSION,
  type Report,
  type ReportModel,
  type RobustAccuracyPoint,
  type AttackRecord,
  type MaskingCheck,
  type GalleryItem,
} from './schema.js';
