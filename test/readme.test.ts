import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { failureTable } from '../client/commands/failures';

const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');

describe('README', () => {
  it('carries the failure table exactly as domain/failures.ts defines it', () => {
    const section = /<!-- failures:start -->\n([\s\S]*?)\n<!-- failures:end -->/.exec(readme)?.[1];
    assert.equal(section, failureTable(), 'run `npx tsx scripts/readme-failures.ts` to regenerate it');
  });

  it('says CI runs npm test, and .ci/run does exactly that (after fetching the prebuilt Temporal CLI)', () => {
    const ci = fs.readFileSync(path.join(__dirname, '..', '.ci', 'run'), 'utf8');
    const commands = ci.split('\n').filter((l) => l.trim() && !l.startsWith('#') && !/^(set|cd) /.test(l.trim()));
    assert.deepEqual(commands, [
      'if [ -f ../shared/tools/temporal-cli/install.sh ]; then bash ../shared/tools/temporal-cli/install.sh; fi',
      'npm test',
    ]);
    assert.match(readme, /`\.ci\/run`\) runs `npm test`/);
  });
});
