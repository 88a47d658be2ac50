import { lstat, realpath, stat } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { basename, isAbsolute, join, sep } from 'node:path';
import { CONFIG_BOUNDS, EngineError } from '../config.js';

/** The environment variable that names the folder API-started replay feeds read from. */
export const REPLAY_DIR_ENV = 'REPLAY_DIR';

function refuse(message: string): EngineError {
  return new EngineError('INVALID_CONFIG', `feed.path: ${message}`);
}

function inside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * Resolves a replay path given through the API inside `dir` (REPLAY_DIR) and returns the
 * real path of the file, or throws {@link EngineError} INVALID_CONFIG. The path must be
 * relative, without `..`, and lead — through symlinks too — to a regular file inside
 * the directory.
 *
 * What the refusal says depends only on what lies inside the directory: every path
 * that leads out of it (absolute, `..`, a symlink pointing out, whether or not its
 * target exists) gets an answer that does not look at the outside, so the API cannot be
 * used to learn which files exist on the server. Messages name the path as the caller
 * wrote it, relative to REPLAY_DIR, never the server's absolute paths.
 */
export async function resolveReplayPath(dir: string, requested: string): Promise<string> {
  if (requested.length > CONFIG_BOUNDS.maxPathLength) throw refuse(`must be at most ${CONFIG_BOUNDS.maxPathLength} characters`);
  if (requested.includes('\0')) throw refuse('must not contain a NUL character');
  if (isAbsolute(requested) || requested.startsWith('\\') || /^[A-Za-z]:/.test(requested)) {
    throw refuse(`must be relative to ${REPLAY_DIR_ENV} (an absolute path is refused)`);
  }
  const parts = requested.split(/[\\/]+/).filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw refuse(`must not contain ".." (it names a file inside ${REPLAY_DIR_ENV})`);
  if (parts.length === 0) throw refuse('names no file');
  const shown = JSON.stringify(parts.join('/'));
  let root: string;
  try {
    root = await realpath(dir);
  } catch {
    throw refuse(`${REPLAY_DIR_ENV} cannot be read on this server`);
  }
  // One component at a time, so that a symlink is judged before anything behind it is
  // looked at: resolving the whole path at once would tell whether files exist outside.
  let current = root;
  for (const part of parts) {
    const next = join(current, part);
    let info;
    try {
      info = await lstat(next);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw refuse(`no such file ${shown} in ${REPLAY_DIR_ENV}`);
      throw refuse(`cannot read ${shown} in ${REPLAY_DIR_ENV}`);
    }
    if (!info.isSymbolicLink()) {
      current = next;
      continue;
    }
    let target: string;
    try {
      target = await realpath(next);
    } catch {
      // A dangling link: its target is missing, maybe outside. Say the same as for a link out.
      throw refuse(`${shown} is not a file inside ${REPLAY_DIR_ENV}`);
    }
    if (!inside(root, target)) throw refuse(`${shown} is not a file inside ${REPLAY_DIR_ENV}`);
    current = target;
  }
  let info;
  try {
    info = await stat(current);
  } catch {
    throw refuse(`cannot read ${shown} in ${REPLAY_DIR_ENV}`);
  }
  if (!info.isFile()) throw refuse(`${shown} is not a regular file`);
  return current;
}

/**
 * Checks that a replay feed's file is there and is a regular file, so that a runner is
 * refused at start instead of failing on its first read. Says why not, naming the file
 * by its base name only, or returns null.
 */
export function checkReplayFile(path: string): string | null {
  const name = JSON.stringify(basename(path));
  try {
    const info = statSync(path);
    return info.isFile() ? null : `${name} is not a regular file`;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return `no such file ${name}`;
    return `cannot read ${name}${typeof code === 'string' ? ` (${code})` : ''}`;
  }
}
