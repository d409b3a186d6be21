/**
 * Browser stand-in for node:fs (the web build maps node:fs here). The page has no file system: files
 * come in as bytes (file input, drag and drop) and go out as downloads, so every call fails loudly
 * naming the function. Modules that import node:fs for their file paths (storage/, report writers)
 * stay importable; the playground never takes those paths.
 */
import { unavailable } from './unavailable.js';

export const constants = Object.freeze({ O_RDONLY: 0, O_NOFOLLOW: 0, O_WRONLY: 1, O_CREAT: 64, O_EXCL: 128 });
export const closeSync = unavailable('fs.closeSync');
export const existsSync = unavailable('fs.existsSync');
export const fstatSync = unavailable('fs.fstatSync');
export const fsyncSync = unavailable('fs.fsyncSync');
export const linkSync = unavailable('fs.linkSync');
export const mkdirSync = unavailable('fs.mkdirSync');
export const openSync = unavailable('fs.openSync');
export const readdirSync = unavailable('fs.readdirSync');
export const readFileSync = unavailable('fs.readFileSync');
export const readSync = unavailable('fs.readSync');
export const realpathSync = unavailable('fs.realpathSync');
export const renameSync = unavailable('fs.renameSync');
export const rmSync = unavailable('fs.rmSync');
export const statSync = unavailable('fs.statSync');
export const unlinkSync = unavailable('fs.unlinkSync');
export const writeFileSync = unavailable('fs.writeFileSync');
export const writeSync = unavailable('fs.writeSync');
