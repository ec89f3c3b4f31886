/**
 * Static checks that a PowerShell script runs on Windows PowerShell 5.1, over the tree-sitter parse tree
 * (no PowerShell, no PSScriptAnalyzer needed). One small rule per concern, each with an id, a message that
 * says the fix, and a line and column:
 *
 * - PowerShell 7-only syntax. The grammar knows `&&` / `||` (pipeline_chain_tail); it does not know the
 *   ternary, `??`, `??=`, `?.` or `?[`, so each leaves its `?` as an ERROR token, and the rule reads the
 *   characters around that `?`. A `?` in a command name (the Where-Object alias) or a command argument is a
 *   valid token, not an error, and one in a string or comment is skipped (literalMask). `$name?.x` is the
 *   variable `name?` in every PowerShell version (the operator needs `${name}?.x`): reported too, as the bug
 *   it is anywhere. test/powershell-compat.test.ts checks these readings against pwsh 7's own parser.
 * - PowerShell 7-only parameters: `ForEach-Object -Parallel`, and ConvertFrom-Json's `-AsHashtable`,
 *   `-Depth`, `-NoEnumerate` and `-DateKind` (5.1's ConvertFrom-Json has -InputObject only). Abbreviated
 *   parameter names count when PowerShell 7 would bind them.
 * - Characters outside ASCII: 5.1 reads a .ps1 without a byte-order mark in the ANSI code page.
 * - A native command (an .exe/.cmd/.bat/.com or a known Windows tool) whose stderr is redirected (`2>&1`,
 *   `2>`, `*>`) while `$ErrorActionPreference` is 'Stop': 5.1 wraps each stderr line in an error record,
 *   and 'Stop' turns the first one into a terminating error (PowerShell 7.2+ no longer does, so a test in
 *   pwsh cannot show it).
 * - A function that returns an array without the unary comma (`return @(...)`, `return [string[]]...`, the
 *   same as its last statement, or `Write-Output` without -NoEnumerate): PowerShell unrolls it, so an empty
 *   array arrives as nothing and a one-element array as a scalar.
 */
import type { Node } from 'web-tree-sitter';
import { loadParser } from './parse-check';

export type CompatRuleId =
  | 'ternary-operator'
  | 'null-coalescing-operator'
  | 'null-conditional-operator'
  | 'pipeline-chain-operator'
  | 'foreach-object-parallel'
  | 'convertfrom-json-parameter'
  | 'non-ascii-character'
  | 'native-stderr-under-stop'
  | 'array-return-unrolled';

export interface CompatProblem {
  /** The `name` given to the check (a file name). */
  file: string;
  rule: CompatRuleId;
  line: number;
  column: number;
  /**
   * What was found, independent of where it is: the operator, the parameter, the character (`U+2019`), the
   * native command, or the function that returns the array. Stable while the rest of the file changes.
   */
  subject: string;
  /** What goes wrong on Windows PowerShell 5.1 and how to write it instead. */
  message: string;
}

interface Context {
  source: string;
  root: Node;
  /** Every node of the tree, in document order. */
  nodes: Node[];
  report(rule: CompatRuleId, index: number, subject: string, message: string): void;
}

interface Rule {
  id: CompatRuleId;
  summary: string;
  check(ctx: Context): void;
}

// ---------------------------------------------------------------------------------------------------------
// Tree helpers

function kids(node: Node): Node[] {
  return node.children.filter((c): c is Node => c !== null);
}

function namedKids(node: Node): Node[] {
  return kids(node).filter((c) => c.isNamed && c.type !== 'comment');
}

function allNodes(root: Node): Node[] {
  const out: Node[] = [];
  const walk = (node: Node): void => {
    out.push(node);
    for (const child of kids(node)) walk(child);
  };
  walk(root);
  return out;
}

function sameNode(a: Node, b: Node): boolean {
  return a.id === b.id;
}

/** The nearest ancestor (not `node` itself) whose type is one of `types`. */
function ancestor(node: Node, types: readonly string[]): Node | null {
  for (let p = node.parent; p; p = p.parent) if (types.includes(p.type)) return p;
  return null;
}

/** Where code runs as its own unit: a function body or a script block (its own scope, run when called). */
const SCOPES = ['function_statement', 'script_block_expression', 'class_method_definition'];

/** Expression levels with one child that only pass their operand through. */
const PASS_THROUGH = new Set([
  'pipeline',
  'pipeline_chain',
  'logical_expression',
  'bitwise_expression',
  'comparison_expression',
  'additive_expression',
  'multiplicative_expression',
  'format_expression',
  'range_expression',
  'array_literal_expression',
  'unary_expression',
  'expression_with_unary_operator',
]);

/** The expression a pipeline or expression boils down to: wrappers and parentheses removed. */
function innermost(node: Node): Node {
  let n = node;
  for (;;) {
    const all = kids(n).filter((c) => c.type !== 'comment');
    const named = namedKids(n);
    if (PASS_THROUGH.has(n.type) && all.length === 1 && named.length === 1) n = named[0];
    else if (n.type === 'parenthesized_expression' && named.length === 1) n = named[0];
    else return n;
  }
}

function commandName(command: Node): string | undefined {
  const nameNode = kids(command).find((c) => c.type === 'command_name' || c.type === 'command_name_expr');
  if (!nameNode) return undefined;
  const inner = nameNode.type === 'command_name_expr' ? namedKids(nameNode)[0] : nameNode;
  if (!inner) return undefined;
  if (inner.type === 'command_name') return inner.text;
  if (inner.type === 'string_literal') return inner.text.replace(/^['"]|['"]$/g, '');
  return undefined; // `& $variable`, `& (expression)`: not known statically
}

/** The command's elements: parameters (`-Name`, `-Name:value`), arguments and redirections. */
function commandElements(command: Node): Node[] {
  const elements = kids(command).find((c) => c.type === 'command_elements');
  return elements ? namedKids(elements).filter((c) => c.type !== 'command_argument_sep') : [];
}

/** Parameter names as written, without the dash and any `:value`. */
function parameterNames(command: Node): { name: string; node: Node }[] {
  return commandElements(command).flatMap((e) => {
    if (e.type !== 'command_parameter') return [];
    const m = /^[-\u2013\u2014\u2015]([A-Za-z_]\w*)/.exec(e.text);
    return m ? [{ name: m[1], node: e }] : [];
  });
}

/**
 * Whether `written` binds to the parameter `full` in PowerShell 7: a case-insensitive prefix at least
 * `minimum` long (a shorter prefix is shared with another parameter and is ambiguous there).
 */
function binds(written: string, full: string, minimum: number): boolean {
  return written.length >= minimum && full.toLowerCase().startsWith(written.toLowerCase());
}

// ---------------------------------------------------------------------------------------------------------
// PowerShell 7-only operators

/** A `?` the grammar could not place: the start of a PowerShell 7 operator (or of a `$name?` variable). */
interface StrayQuestionMark {
  index: number;
  /** The characters from the `?` on: `??=`, `??`, `?.`, `?[`, or `?` alone (the ternary). */
  operator: '??=' | '??' | '?.' | '?[' | '?';
  /** `$name?.x` / `$name?[0]`: a variable named `name?`, not the operator. */
  variableName?: string;
}

const SINGLE_QUOTES = "'\u2018\u2019\u201A\u201B";
const DOUBLE_QUOTES = '"\u201C\u201D\u201E';

/**
 * Marks the characters inside string literals and comments, the way PowerShell's tokenizer reads them
 * (every quote character it accepts, doubled quotes, backtick escapes, here-strings, and `$( )` inside a
 * double-quoted string as code again). Inside an ERROR node the grammar no longer reads strings as
 * strings, so the `?` of `$a ? 'why?' : 'no'` would otherwise be taken for a second operator.
 */
function literalMask(source: string): Uint8Array {
  const mask = new Uint8Array(source.length);
  const n = source.length;
  let i = 0;
  const scanDoubleQuoted = (): void => {
    let start = i++;
    while (i < n) {
      const c = source[i];
      if (c === '`') i += 2;
      else if (DOUBLE_QUOTES.includes(c)) {
        if (DOUBLE_QUOTES.includes(source[i + 1] ?? '')) i += 2;
        else {
          i++;
          break;
        }
      } else if (c === '$' && source[i + 1] === '(') {
        mask.fill(1, start, i);
        i += 2;
        scanCode(true);
        start = i;
      } else i++;
    }
    mask.fill(1, start, Math.min(i, n));
  };
  const scanCode = (untilParen: boolean): void => {
    let depth = 0;
    while (i < n) {
      const c = source[i];
      const prev = i === 0 ? ' ' : source[i - 1];
      if (c === '`') i += 2;
      else if (c === '<' && source[i + 1] === '#') {
        const end = source.indexOf('#>', i + 2);
        const to = end < 0 ? n : end + 2;
        mask.fill(1, i, to);
        i = to;
      } else if (c === '#' && /[\s;(){}|&,=]/.test(prev)) {
        const end = source.indexOf('\n', i);
        const to = end < 0 ? n : end;
        mask.fill(1, i, to);
        i = to;
      } else if (
        c === '@' &&
        (SINGLE_QUOTES + DOUBLE_QUOTES).includes(source[i + 1] ?? '') &&
        /^[ \t]*\r?\n/.test(source.slice(i + 2, i + 200))
      ) {
        const close = source.slice(i + 2).search(/\n[ \t]*['"\u2018\u2019\u201A\u201B\u201C\u201D\u201E]@/);
        const to = close < 0 ? n : i + 2 + close + source.slice(i + 2 + close).indexOf('@') + 1;
        mask.fill(1, i, to);
        i = to;
      } else if (SINGLE_QUOTES.includes(c)) {
        let j = i + 1;
        while (j < n && !(SINGLE_QUOTES.includes(source[j]) && !SINGLE_QUOTES.includes(source[j + 1] ?? ''))) {
          j += SINGLE_QUOTES.includes(source[j]) ? 2 : 1;
        }
        mask.fill(1, i, Math.min(j + 1, n));
        i = j + 1;
      } else if (DOUBLE_QUOTES.includes(c)) {
        scanDoubleQuoted();
      } else if (untilParen && c === '(') {
        depth++;
        i++;
      } else if (untilParen && c === ')') {
        i++;
        if (depth-- === 0) return;
      } else i++;
    }
  };
  scanCode(false);
  return mask;
}

const strayCache = new WeakMap<Context, StrayQuestionMark[]>();

function strayQuestionMarks(ctx: Context): StrayQuestionMark[] {
  const cached = strayCache.get(ctx);
  if (cached) return cached;
  const { source } = ctx;
  const found: StrayQuestionMark[] = [];
  const seen = new Set<number>();
  let literal: Uint8Array | undefined;
  for (const error of ctx.nodes) {
    if (!error.isError) continue;
    for (let i = error.startIndex; i < error.endIndex; i++) {
      if (source[i] !== '?' || seen.has(i)) continue;
      literal ??= literalMask(source);
      if (literal[i]) continue;
      seen.add(i);
      // The `?` itself is the token the grammar could not place (not part of a string or a name inside
      // the error's span).
      const at = ctx.root.descendantForIndex(i, i + 1);
      if (!at?.isError) continue;
      // Every one of these operators has a left operand on its line; a `?` after `|`, `;`, `{`, `(`, `=`,
      // `,` or first on its line is the Where-Object alias in a region the grammar failed on for another
      // reason (it does not know every valid construct, e.g. the long suffix of `0xFFL`).
      const left = source.slice(source.lastIndexOf('\n', i - 1) + 1, i).trimEnd();
      if (left === '' || '|;{(=,'.includes(left[left.length - 1])) continue;
      const next = source[i + 1] ?? '';
      // `?` right after `$name` continues the variable's name (`$a?`, `$x??`) in every PowerShell version.
      const bareVariable = /\$(?:[A-Za-z]+:)?[A-Za-z0-9_]+$/.exec(source.slice(Math.max(0, i - 200), i));
      if (next === '?') {
        seen.add(i + 1);
        if (!bareVariable) found.push({ index: i, operator: source[i + 2] === '=' ? '??=' : '??' });
      } else if (next === '.' || next === '[') {
        found.push({ index: i, operator: next === '.' ? '?.' : '?[', variableName: bareVariable?.[0] });
      } else if (!bareVariable) {
        // `$a ? b : c`, `($a)?1:2`; but `$a? ...` is the variable `a?`.
        found.push({ index: i, operator: '?' });
      }
    }
  }
  strayCache.set(ctx, found);
  return found;
}

const PARSE_FAILS = 'is PowerShell 7 syntax: Windows PowerShell 5.1 cannot parse the script at all';

const ternaryOperator: Rule = {
  id: 'ternary-operator',
  summary: 'the ternary operator `a ? b : c` (PowerShell 7.0+)',
  check(ctx) {
    for (const q of strayQuestionMarks(ctx)) {
      if (q.operator !== '?') continue;
      ctx.report(
        this.id,
        q.index,
        '?:',
        `the ternary operator \`a ? b : c\` ${PARSE_FAILS}; write \`if (a) { b } else { c }\` (it is an expression too: \`$x = if (a) { b } else { c }\`)`
      );
    }
  },
};

const nullCoalescingOperator: Rule = {
  id: 'null-coalescing-operator',
  summary: 'the null-coalescing operators `??` and `??=` (PowerShell 7.0+)',
  check(ctx) {
    for (const q of strayQuestionMarks(ctx)) {
      if (q.operator === '??') {
        ctx.report(this.id, q.index, '??', `\`a ?? b\` ${PARSE_FAILS}; write \`if ($null -ne $a) { $a } else { b }\``);
      } else if (q.operator === '??=') {
        ctx.report(this.id, q.index, '??=', `\`$a ??= b\` ${PARSE_FAILS}; write \`if ($null -eq $a) { $a = b }\``);
      }
    }
  },
};

const nullConditionalOperator: Rule = {
  id: 'null-conditional-operator',
  summary: 'the null-conditional operators `?.` and `?[` (PowerShell 7.1+), and `$name?.` (a variable named `name?`)',
  check(ctx) {
    for (const q of strayQuestionMarks(ctx)) {
      if (q.operator !== '?.' && q.operator !== '?[') continue;
      const access = q.operator === '?.' ? '.Member' : '[0]';
      if (q.variableName) {
        const name = q.variableName;
        ctx.report(
          this.id,
          q.index,
          `${name}${q.operator}`,
          `\`${name}?${access}\` reads a variable named '${name.slice(1)}?' (\`?\` belongs to a variable name in every PowerShell version; the PowerShell 7 operator would need \`\${${name.slice(1)}}${q.operator}\`, which 5.1 cannot parse); write \`if ($null -ne ${name}) { ${name}${access} }\``
        );
      } else {
        ctx.report(
          this.id,
          q.index,
          q.operator,
          `the null-conditional operator \`${q.operator}\` ${PARSE_FAILS}; write \`if ($null -ne $a) { $a${access} }\``
        );
      }
    }
  },
};

const pipelineChainOperator: Rule = {
  id: 'pipeline-chain-operator',
  summary: 'the pipeline chain operators `&&` and `||` (PowerShell 7.0+)',
  check(ctx) {
    for (const node of ctx.nodes) {
      if (node.type !== 'pipeline_chain_tail') continue;
      const op = node.text.trim();
      const instead =
        op === '&&'
          ? '`a; if ($?) { b }` (for a native command: `if ($LASTEXITCODE -eq 0) { b }`)'
          : '`a; if (-not $?) { b }` (for a native command: `if ($LASTEXITCODE -ne 0) { b }`)';
      ctx.report(
        this.id,
        node.startIndex,
        op,
        `the pipeline chain operator \`${op}\` ${PARSE_FAILS}; write ${instead}`
      );
    }
  },
};

// ---------------------------------------------------------------------------------------------------------
// PowerShell 7-only parameters

const forEachObjectParallel: Rule = {
  id: 'foreach-object-parallel',
  summary: '`ForEach-Object -Parallel` (PowerShell 7.0+)',
  check(ctx) {
    for (const node of ctx.nodes) {
      if (node.type !== 'command') continue;
      const name = commandName(node)?.toLowerCase();
      if (name !== 'foreach-object' && name !== '%' && name !== 'foreach') continue;
      // -Pa: -P is shared with -PipelineVariable, -Pr with -Process and -ProgressAction.
      for (const p of parameterNames(node)) {
        if (!binds(p.name, 'Parallel', 2)) continue;
        ctx.report(
          this.id,
          p.node.startIndex,
          'ForEach-Object -Parallel',
          'ForEach-Object has no -Parallel in Windows PowerShell 5.1 (parameter binding fails); run the block sequentially (`ForEach-Object { ... }` or `foreach ($x in $items) { ... }`), or use Start-Job / a runspace pool when it must run in parallel'
        );
      }
    }
  },
};

/** PowerShell 7 parameters of ConvertFrom-Json, with the shortest prefix that binds them there. */
const CONVERTFROM_JSON_PS7: readonly { name: string; minimum: number; fix: string }[] = [
  {
    name: 'AsHashtable',
    minimum: 1,
    fix: 'it returns PSCustomObjects there: read them as objects ($o.name, $o.PSObject.Properties), or build the hashtable from PSObject.Properties',
  },
  { name: 'Depth', minimum: 3, fix: 'drop -Depth (5.1 has a fixed limit)' },
  {
    name: 'NoEnumerate',
    minimum: 1,
    fix: 'drop it: 5.1 already writes a JSON array as one object (wrap the result in @(...) where one element must stay an array)',
  },
  { name: 'DateKind', minimum: 2, fix: 'drop it and convert the date strings yourself' },
];

const convertFromJsonParameter: Rule = {
  id: 'convertfrom-json-parameter',
  summary: 'ConvertFrom-Json -AsHashtable, -Depth, -NoEnumerate or -DateKind (PowerShell 6+/7+)',
  check(ctx) {
    for (const node of ctx.nodes) {
      if (node.type !== 'command' || commandName(node)?.toLowerCase() !== 'convertfrom-json') continue;
      for (const p of parameterNames(node)) {
        const known = CONVERTFROM_JSON_PS7.find((k) => binds(p.name, k.name, k.minimum));
        if (!known) continue;
        ctx.report(
          this.id,
          p.node.startIndex,
          `ConvertFrom-Json -${known.name}`,
          `ConvertFrom-Json has no -${known.name} in Windows PowerShell 5.1 (it takes -InputObject only, so parameter binding fails); ${known.fix}`
        );
      }
    }
  },
};

// ---------------------------------------------------------------------------------------------------------
// Encoding

const nonAsciiCharacter: Rule = {
  id: 'non-ascii-character',
  summary: 'characters outside ASCII (5.1 reads a .ps1 without a BOM in the ANSI code page)',
  check(ctx) {
    const { source } = ctx;
    let lineStart = 0;
    let reportedLine = -1;
    for (let i = 0; i < source.length; i++) {
      const code = source.charCodeAt(i);
      if (code === 10) lineStart = i + 1;
      if (code < 0x80 || (i === 0 && code === 0xfeff) || reportedLine === lineStart) continue;
      reportedLine = lineStart;
      const point = source.codePointAt(i) ?? code;
      const hex = point.toString(16).toUpperCase().padStart(4, '0');
      ctx.report(
        this.id,
        i,
        `U+${hex}`,
        `${JSON.stringify(String.fromCodePoint(point))} (U+${hex}) is not ASCII: Windows PowerShell 5.1 reads a .ps1 without a byte-order mark in the ANSI code page, so it arrives garbled (a typographic quote or dash is even syntax to PowerShell); write the ASCII character, or build it at run time with [char]0x${hex}`
      );
    }
  },
};

// ---------------------------------------------------------------------------------------------------------
// Native commands with a redirected stderr under $ErrorActionPreference = 'Stop'

/** Windows tools that are only ever native commands (not `sc`: a bare `sc` is the Set-Content alias). */
const KNOWN_NATIVE = new Set([
  'auditpol',
  'bcdedit',
  'certreq',
  'certutil',
  'cmd',
  'dcdiag',
  'dism',
  'dsquery',
  'gpresult',
  'gpupdate',
  'icacls',
  'ipconfig',
  'klist',
  'net',
  'netdom',
  'netsh',
  'nltest',
  'nslookup',
  'ntdsutil',
  'ping',
  'reg',
  'repadmin',
  'robocopy',
  'schtasks',
  'secedit',
  'setspn',
  'takeown',
  'w32tm',
  'wevtutil',
  'whoami',
  'winrm',
  'wmic',
]);

function isNativeCommand(name: string, functions: ReadonlySet<string>): boolean {
  const lower = name.toLowerCase();
  if (functions.has(lower)) return false;
  const file = lower.split(/[\\/]/).pop() ?? lower;
  return /\.(?:exe|com|cmd|bat)$/.test(file) || KNOWN_NATIVE.has(file);
}

/** `2>&1`, `2>file`, `2>>file`, `*>&1`, `*>file`: the command's stderr is redirected. */
function stderrRedirection(command: Node): Node | undefined {
  for (const e of commandElements(command)) {
    // The grammar reads `2>$null` and `2>>file` (no space) as a bare argument; PowerShell does not.
    if (e.type === 'redirection' || e.type === 'generic_token') {
      if (/^[2*]>/.test(e.text)) return e;
    }
  }
  return undefined;
}

interface PreferenceAssignment {
  index: number;
  stop: boolean;
  scope: Node | null;
}

function errorActionAssignments(ctx: Context): PreferenceAssignment[] {
  return ctx.nodes.flatMap((node) => {
    if (node.type !== 'assignment_expression') return [];
    const [left, operator, value] = kids(node);
    if (!left || !value || operator?.text !== '=') return [];
    if (!/^\$(?:(?:global|script|local):)?ErrorActionPreference$|^\$\{ErrorActionPreference\}$/i.test(left.text)) {
      return [];
    }
    const stop = /^(['"])stop\1$|::\s*stop$|^stop$/i.test(value.text.trim());
    return [{ index: node.startIndex, stop, scope: ancestor(node, SCOPES) }];
  });
}

/** The assignment of $ErrorActionPreference in effect at `node`, as far as the text shows. */
function preferenceAt(node: Node, assignments: PreferenceAssignment[]): PreferenceAssignment | undefined {
  const inScope = (scope: Node | null) =>
    assignments.filter((a) => (a.scope && scope ? sameNode(a.scope, scope) : a.scope === scope));
  let scope = ancestor(node, SCOPES);
  const nested = scope !== null;
  // Innermost scope first: the last assignment before the command in that scope.
  for (; scope; scope = ancestor(scope, SCOPES)) {
    const before = inScope(scope).filter((a) => a.index < node.startIndex);
    if (before.length > 0) return before[before.length - 1];
  }
  const topLevel = inScope(null);
  const before = topLevel.filter((a) => a.index < node.startIndex);
  if (before.length > 0) return before[before.length - 1];
  // A function or script block runs when called, normally after the script's preamble has set it.
  return nested ? topLevel.find((a) => a.stop) : undefined;
}

const nativeStderrUnderStop: Rule = {
  id: 'native-stderr-under-stop',
  summary: "a native command with stderr redirected (2>&1) while $ErrorActionPreference is 'Stop'",
  check(ctx) {
    const assignments = errorActionAssignments(ctx);
    if (!assignments.some((a) => a.stop)) return;
    const functions = new Set(
      ctx.nodes.flatMap((n) => {
        if (n.type !== 'function_statement') return [];
        const name = kids(n).find((c) => c.type === 'function_name');
        return name ? [name.text.toLowerCase()] : [];
      })
    );
    for (const node of ctx.nodes) {
      if (node.type !== 'command') continue;
      const name = commandName(node);
      if (!name || !isNativeCommand(name, functions)) continue;
      const redirection = stderrRedirection(node);
      if (!redirection) continue;
      const preference = preferenceAt(node, assignments);
      if (!preference?.stop) continue;
      const op = /^[2*]>(?:&1|>)?/.exec(redirection.text)?.[0] ?? '2>';
      const file = (name.split(/[\\/]/).pop() ?? name).toLowerCase();
      ctx.report(
        this.id,
        redirection.startIndex,
        file,
        `${name} is a native command and its stderr is redirected (${op}) while $ErrorActionPreference is 'Stop': Windows PowerShell 5.1 turns each stderr line into an error record and 'Stop' makes the first one terminating, so the command's output and $LASTEXITCODE are never looked at (PowerShell 7.2+ does not do this, so a pwsh test passes); run it where the preference is 'Continue', e.g. \`$output = & { $ErrorActionPreference = 'Continue'; ${name} ... ${op} }\`, then check $LASTEXITCODE and turn the ErrorRecords into text with \`$output | ForEach-Object { [string]$_ }\``
      );
    }
  },
};

// ---------------------------------------------------------------------------------------------------------
// Arrays returned without the comma operator

const COLLECTION_TYPE =
  /^(?:System\.)?(?:Collections\.)?(?:ArrayList|Generic\.(?:List|HashSet|SortedSet|Queue|Stack|LinkedList)\s*\[)/i;

/** `@(...)`, or a cast to an array or list type (shown shortened): a value PowerShell unrolls when output. */
function arrayValue(expression: Node): string | undefined {
  const n = innermost(expression);
  if (n.type === 'array_expression') return '@(...)';
  if (n.type !== 'cast_expression') return undefined;
  const [type, operand] = namedKids(n);
  const name = type?.type === 'type_literal' ? type.text.replace(/^\[\s*|\s*\]$/g, '') : '';
  if (!/\[\s*,*\s*\]$/.test(name) && !COLLECTION_TYPE.test(name)) return undefined;
  const value = operand ? innermost(operand) : undefined;
  const shown = !value
    ? ''
    : value.type === 'array_expression'
      ? '@(...)'
      : value.text.length <= 30
        ? value.text
        : '(...)';
  return `[${name}]${shown}`;
}

function functionName(fn: Node): string {
  return kids(fn).find((c) => c.type === 'function_name')?.text ?? '(function)';
}

/** The statements a function's output ends with: its last statement, through if/else and try/catch. */
function lastStatements(fn: Node): Node[] {
  const block = kids(fn).find((c) => c.type === 'script_block');
  const body = block && kids(block).find((c) => c.type === 'script_block_body');
  if (!body) return [];
  let list = kids(body).find((c) => c.type === 'statement_list');
  const named = kids(body).find((c) => c.type === 'named_block_list');
  if (named) {
    const end = namedKids(named).find((b) => /^end$/i.test(kids(b).find((c) => c.type === 'block_name')?.text ?? ''));
    const statementBlock = end && kids(end).find((c) => c.type === 'statement_block');
    list = statementBlock && kids(statementBlock).find((c) => c.type === 'statement_list');
  }
  const out: Node[] = [];
  const lastOf = (statementList: Node | undefined): void => {
    const last = statementList ? namedKids(statementList).pop() : undefined;
    if (!last) return;
    if (last.type === 'if_statement' || last.type === 'try_statement') {
      for (const b of last.descendantsOfType('statement_block')) {
        if (!b || b.parent?.type === 'finally_clause') continue;
        // Only the blocks of this if/try, not blocks nested deeper.
        const owner = ancestor(b, ['if_statement', 'try_statement', ...SCOPES]);
        if (owner && sameNode(owner, last)) lastOf(kids(b).find((c) => c.type === 'statement_list'));
      }
    } else {
      out.push(last);
    }
  };
  lastOf(list);
  return out;
}

const arrayReturnUnrolled: Rule = {
  id: 'array-return-unrolled',
  summary: 'a function returning an array without the unary comma (PowerShell unrolls it)',
  check(ctx) {
    for (const fn of ctx.nodes) {
      if (fn.type !== 'function_statement') continue;
      const name = functionName(fn);
      const ownedBy = (node: Node) => {
        const scope = ancestor(node, SCOPES);
        return scope !== null && sameNode(scope, fn);
      };
      const flag = (at: Node, what: string, how: string) =>
        ctx.report(
          this.id,
          at.startIndex,
          name,
          `${name} ${how} ${what} without the unary comma: PowerShell unrolls it, so the caller gets nothing for an empty array and a scalar for a one-element array (a one-element string[] is then serialised as a string); write \`return , ${what}\` and have every caller take the result as it is (\`$x = ${name} ...\`: piped, the array arrives as one object, and @(${name} ...) would hold the array as its one element), or return the items and have every caller wrap the call in @(...)`
        );
      for (const node of fn.descendantsOfType(['flow_control_statement', 'command'])) {
        if (!node || !ownedBy(node)) continue;
        if (node.type === 'flow_control_statement' && kids(node)[0]?.type === 'return') {
          const value = namedKids(node).find((c) => c.type === 'pipeline');
          const what = value && arrayValue(value);
          if (what) flag(node, what, 'returns');
        } else if (node.type === 'command' && /^(?:write-output|write|echo)$/i.test(commandName(node) ?? '')) {
          if (parameterNames(node).some((p) => binds(p.name, 'NoEnumerate', 1))) continue;
          const args = commandElements(node).filter((e) => e.type !== 'command_parameter' && e.type !== 'redirection');
          const what = args.length === 1 ? arrayValue(args[0]) : undefined;
          if (what) flag(node, what, 'writes');
        }
      }
      for (const last of lastStatements(fn)) {
        if (last.type !== 'pipeline') continue;
        const what = arrayValue(last);
        if (what) flag(last, what, 'outputs');
      }
    }
  },
};

// ---------------------------------------------------------------------------------------------------------

const RULES: readonly Rule[] = [
  ternaryOperator,
  nullCoalescingOperator,
  nullConditionalOperator,
  pipelineChainOperator,
  forEachObjectParallel,
  convertFromJsonParameter,
  nonAsciiCharacter,
  nativeStderrUnderStop,
  arrayReturnUnrolled,
];

/** Every rule the check applies, by id. */
export const COMPAT_RULES: readonly { id: CompatRuleId; summary: string }[] = RULES.map(({ id, summary }) => ({
  id,
  summary,
}));

/**
 * Problems that keep `source` from running as intended on Windows PowerShell 5.1, in document order. `name`
 * is the file name the problems carry. A script the grammar cannot parse still gets every rule: the
 * PowerShell 7 operators are found exactly through the errors they cause (see parse-check.ts for the rest).
 */
export async function checkWindowsPowerShell51(source: string, name: string): Promise<CompatProblem[]> {
  const parser = await loadParser();
  const tree = parser.parse(source);
  if (!tree) throw new Error(`${name}: tree-sitter returned no tree`);
  try {
    const problems: CompatProblem[] = [];
    const lineStarts = [0];
    for (let i = 0; i < source.length; i++) if (source.charCodeAt(i) === 10) lineStarts.push(i + 1);
    const lineOf = (index: number): number => {
      let lo = 0;
      let hi = lineStarts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (lineStarts[mid] <= index) lo = mid;
        else hi = mid - 1;
      }
      return lo + 1;
    };
    const ctx: Context = {
      source,
      root: tree.rootNode,
      nodes: allNodes(tree.rootNode),
      report(rule, index, subject, message) {
        const line = lineOf(index);
        problems.push({ file: name, rule, line, column: index - lineStarts[line - 1] + 1, subject, message });
      },
    };
    for (const rule of RULES) rule.check(ctx);
    return problems.sort((a, b) => a.line - b.line || a.column - b.column || a.rule.localeCompare(b.rule));
  } finally {
    tree.delete();
  }
}

export function formatCompatProblems(problems: readonly CompatProblem[]): string {
  return problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.rule} [${p.subject}] ${p.message}`).join('\n');
}
