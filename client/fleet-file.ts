/**
 * Reads a fleet file (YAML) and validates it; every problem is reported as `path: message`.
 *
 * The file comes from a person and may be anything: a device (`/dev/zero`), a pipe, a system file,
 * gigabytes, an alias bomb. It is read with a size limit, from regular files only, its aliases are
 * bounded, and no problem quotes more of it than one short field value.
 */
import fs from 'node:fs';
import YAML from 'yaml';
import { validateFleet, type FleetSpec } from '../domain/fleet';
import { cleanText } from '../domain/validators';

/** The spec travels in the fleet workflow's input, which Temporal limits to 2 MB; no valid file is larger. */
export const MAX_FLEET_FILE_BYTES = 2 * 1024 * 1024;
/** Aliases a fleet file may expand: a few for shared settings; thousands only in an alias bomb. */
export const MAX_FLEET_FILE_ALIASES = 100;
/** The longest problem line printed, so no error carries a file's contents back to the terminal. */
const MAX_PROBLEM_CHARS = 200;
/** A value a problem quotes (`"exch 01" is not a DNS name`) is shown whole up to this length, else cut. */
const MAX_QUOTED_CHARS = 40;

/** One problem as printed: one clean line, long quoted values cut to their start and length. */
function shownProblem(problem: string): string {
  const line = cleanText(problem).replace(/"((?:[^"\\]|\\.)*)"/g, (quoted, inner: string) =>
    inner.length > MAX_QUOTED_CHARS ? `"${inner.slice(0, 12)}..." (${inner.length} characters)` : quoted
  );
  return line.length > MAX_PROBLEM_CHARS ? `${line.slice(0, MAX_PROBLEM_CHARS - 3)}...` : line;
}

export class FleetFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[]
  ) {
    super(`${file} is not a valid fleet file:\n${problems.map((p) => `  - ${shownProblem(p)}`).join('\n')}`);
  }
}

/** The file's text, from a regular file of at most MAX_FLEET_FILE_BYTES; anything else is refused unread. */
function readLimited(file: string): string {
  let fd: number;
  try {
    // Non-blocking: opening a named pipe must not wait for a writer (it is refused below).
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (err) {
    throw new FleetFileError(file, [`cannot read the file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`]);
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) {
      throw new FleetFileError(file, [
        'not a regular file (a directory, device or pipe): give the path of a YAML file',
      ]);
    }
    const tooLarge = () =>
      new FleetFileError(file, [
        `larger than ${MAX_FLEET_FILE_BYTES / (1024 * 1024)} MB, more than any fleet the workflow can carry: split the fleet`,
      ]);
    if (stat.size > MAX_FLEET_FILE_BYTES) throw tooLarge();
    // The size can change while reading (a growing file): read one byte past the limit to notice.
    const buffer = Buffer.alloc(MAX_FLEET_FILE_BYTES + 1);
    let length = 0;
    for (;;) {
      const n = fs.readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > MAX_FLEET_FILE_BYTES) throw tooLarge();
    }
    return buffer.toString('utf8', 0, length);
  } finally {
    fs.closeSync(fd);
  }
}

export function readFleetFile(file: string): FleetSpec {
  const text = readLimited(file);
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // The first line only: the lines after it quote the file.
    throw new FleetFileError(
      file,
      doc.errors.map((e) => `line ${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`)
    );
  }
  let document: unknown;
  try {
    document = doc.toJS({ maxAliasCount: MAX_FLEET_FILE_ALIASES });
  } catch (err) {
    throw new FleetFileError(file, [
      `too many YAML aliases (more than ${MAX_FLEET_FILE_ALIASES} expansions): write the values out (${(err as Error).message})`,
    ]);
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    // Say what it is, not what it holds: a system file given by mistake is not printed back.
    throw new FleetFileError(file, [
      `the file is ${document === null ? 'empty' : `a YAML ${Array.isArray(document) ? 'list' : typeof document}`}, not a mapping of fleet fields (fleet:, servers:, approvers:, ...)`,
    ]);
  }
  const result = validateFleet(document);
  if (!result.ok) throw new FleetFileError(file, result.problems);
  return result.spec;
}
