/**
 * Browser stand-in for node:path (the web build maps node:path here): POSIX paths under a root
 * working directory. In the page, "paths" are only names (a dropped file's name, report fields).
 */
export const sep = '/';

function normalizeParts(parts: readonly string[], absolute: boolean): string {
  const out: string[] = [];
  for (const p of parts.join('/').split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..' && out.length > 0 && out[out.length - 1] !== '..') out.pop();
    else if (p !== '..' || !absolute) out.push(p);
  }
  const body = out.join('/');
  return absolute ? `/${body}` : body || '.';
}

export function isAbsolute(path: string): boolean {
  return path.startsWith('/');
}

export function join(...parts: string[]): string {
  return normalizeParts(parts, parts[0]?.startsWith('/') ?? false);
}

export function resolve(...parts: string[]): string {
  let start = 0;
  for (let i = 0; i < parts.length; i++) if (isAbsolute(parts[i]!)) start = i;
  return normalizeParts(['/', ...parts.slice(start)], true);
}

export function dirname(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  if (trimmed === '' && path.startsWith('/')) return '/';
  const i = trimmed.lastIndexOf('/');
  return i < 0 ? '.' : i === 0 ? '/' : trimmed.slice(0, i);
}

export function basename(path: string): string {
  return path.replace(/\/+$/, '').split('/').pop() ?? '';
}

export function extname(path: string): string {
  const base = basename(path);
  const i = base.lastIndexOf('.');
  return i <= 0 ? '' : base.slice(i);
}

export function relative(from: string, to: string): string {
  const a = resolve(from).split('/').filter(Boolean);
  const b = resolve(to).split('/').filter(Boolean);
  let k = 0;
  while (k < a.length && k < b.length && a[k] === b[k]) k++;
  return [...a.slice(k).map(() => '..'), ...b.slice(k)].join('/');
}

export const posix = { sep, isAbsolute, join, resolve, dirname, basename, extname, relative };
export const win32 = posix;
