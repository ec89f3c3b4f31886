/** `fleet failures`: the failure table (Markdown), generated from domain/failures.ts for the README. */
import { FAILURE_KINDS } from '../../domain/failures';

const RETRY_TEXT = {
  transient: 'transient: retried with backoff',
  auth: 'auth: retried once, then permanent',
  permanent: 'permanent: non-retryable, waits for an operator',
} as const;

export function failureTable(): string {
  return [
    '| failure type | handling | codes | meaning | fix |',
    '|---|---|---|---|---|',
    ...FAILURE_KINDS.map(
      (k) =>
        `| \`${k.type}\` | ${RETRY_TEXT[k.retry]} | ${k.codes.map((c) => `\`${c}\``).join(', ')} | ${k.meaning} | ${k.fix} |`
    ),
  ].join('\n');
}
