/** Reads a fleet file (YAML) and validates it; every problem is reported as `path: message`. */
import fs from 'node:fs';
import YAML from 'yaml';
import { validateFleet, type FleetSpec } from '../domain/fleet';

export class FleetFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[]
  ) {
    super(`${file} is not a valid fleet file:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export function readFleetFile(file: string): FleetSpec {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new FleetFileError(file, [`cannot read the file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`]);
  }
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new FleetFileError(
      file,
      doc.errors.map((e) => `line ${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`)
    );
  }
  const result = validateFleet(doc.toJS());
  if (!result.ok) throw new FleetFileError(file, result.problems);
  return result.spec;
}
