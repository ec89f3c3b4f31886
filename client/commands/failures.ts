/** `fleet failures`: the failure table (Markdown), generated from domain/failures.ts for the README. */
import { FAILURE_KINDS, type FailureKind } from '../../domain/failures';

const RETRY_TEXT = {
  transient: 'transient: retried with backoff',
  auth: 'auth: retried once, then permanent',
  permanent: 'permanent: non-retryable, waits for an operator',
} as const;

/** The en-US texts a kind is recognised by when an error record reaches the worker without a code. */
function windowsTexts(kind: FailureKind): string {
  const texts = kind.windowsText ?? [];
  return texts.length > 0 ? texts.map((t) => `"${t.replace(/\|/g, '\\|')}"`).join('<br>') : '';
}

export function failureTable(): string {
  return [
    '| failure type | handling | codes | Windows says (en-US) | meaning | fix |',
    '|---|---|---|---|---|---|',
    ...FAILURE_KINDS.map(
      (k) =>
        `| \`${k.type}\` | ${RETRY_TEXT[k.retry]} | ${k.codes.map((c) => `\`${c}\``).join(', ')} | ${windowsTexts(k)} | ${k.meaning} | ${k.fix} |`
    ),
  ].join('\n');
}
