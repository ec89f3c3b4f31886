/** Regenerates the failure table in README.md from domain/failures.ts (`npx tsx scripts/readme-failures.ts`). */
import fs from 'node:fs';
import path from 'node:path';
import { failureTable } from '../client/commands/failures';

const file = path.join(__dirname, '..', 'README.md');
const text = fs.readFileSync(file, 'utf8');
const next = text.replace(
  /<!-- failures:start -->[\s\S]*<!-- failures:end -->/,
  `<!-- failures:start -->\n${failureTable()}\n<!-- failures:end -->`
);
fs.writeFileSync(file, next);
