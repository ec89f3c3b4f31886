/** Command-line parsing for the project's scripts (`npm start`, `npm run bench`). */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * node:util's parseArgs, except that a bad argument (unknown option, missing value) prints one line
 * naming it and how to pass it, and exits 2, instead of a stack trace.
 */
export function parseArgsOrExit<T extends ParseArgsConfig>(
  command: string,
  config: T
): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    console.error(`${command}: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  }
}
