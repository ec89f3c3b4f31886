/** Zod issues as `path: message` lines, for every kind of input: fleet files, messages, environment, scripts. */
import type { z } from 'zod';

export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.flatMap((issue) => {
    if (issue.code === 'invalid_union' && 'errors' in issue && issue.errors.length > 0) {
      // Report the branch that got furthest instead of "invalid input".
      const best = [...issue.errors].sort((a, b) => depth(b) - depth(a))[0];
      return formatIssues(best.map((i) => ({ ...i, path: [...issue.path, ...i.path] })));
    }
    return [`${formatPath(issue.path)}: ${issue.message}`];
  });
}

function depth(issues: readonly z.core.$ZodIssue[]): number {
  return Math.max(0, ...issues.map((i) => i.path.length + (i.code === 'invalid_type' ? 0 : 1)));
}

/** `servers[2].fqdn`; the root of the input is named "(fleet file)" for now, whatever the input is. */
function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(fleet file)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}
