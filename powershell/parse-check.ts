/**
 * Static checks of the PowerShell scripts with the tree-sitter grammar, so a syntax error is caught
 * on a machine without PowerShell, before a script ever reaches a server.
 */
import * as path from 'node:path';
import { Language, Parser, type Node } from 'web-tree-sitter';

export interface ParseProblem {
  kind: 'ERROR' | 'MISSING';
  line: number;
  column: number;
  text: string;
}

export interface ScriptReport {
  problems: ParseProblem[];
  /** Parameter names of the script's top-level `param()` block, without `$`. */
  parameters: string[];
  /** Every command name the script invokes (cmdlets, functions, executables). */
  commands: string[];
}

const GRAMMAR = path.join(
  path.dirname(require.resolve('tree-sitter-powershell/package.json')),
  'tree-sitter-powershell.wasm'
);

let parserPromise: Promise<Parser> | undefined;

/** The tree-sitter parser with the PowerShell grammar, loaded once per process (shared with compat-check.ts). */
export function loadParser(): Promise<Parser> {
  parserPromise ??= (async () => {
    await Parser.init();
    const parser = new Parser();
    parser.setLanguage(await Language.load(GRAMMAR));
    return parser;
  })();
  return parserPromise;
}

function collectProblems(node: Node, problems: ParseProblem[]): void {
  if (node.isError || node.isMissing) {
    problems.push({
      kind: node.isMissing ? 'MISSING' : 'ERROR',
      line: node.startPosition.row + 1,
      column: node.startPosition.column + 1,
      text: node.text.slice(0, 80),
    });
  }
  if (!node.hasError && !node.isMissing) return;
  for (const child of node.children) if (child) collectProblems(child, problems);
}

export async function checkPowerShell(source: string): Promise<ScriptReport> {
  const parser = await loadParser();
  const tree = parser.parse(source);
  if (!tree) throw new Error('tree-sitter returned no tree');
  try {
    const root = tree.rootNode;
    const problems: ParseProblem[] = [];
    collectProblems(root, problems);
    if (root.hasError && problems.length === 0) {
      problems.push({ kind: 'ERROR', line: 1, column: 1, text: 'the tree reports an error' });
    }
    const paramBlock = root.children.find((c) => c?.type === 'param_block');
    const parameters = (paramBlock?.descendantsOfType('script_parameter') ?? []).flatMap((p) => {
      const variable = p?.children.find((c) => c?.type === 'variable');
      return variable ? [variable.text.replace(/^\$/, '')] : [];
    });
    const commands = root.descendantsOfType('command_name').flatMap((n) => (n ? [n.text] : []));
    return { problems, parameters, commands };
  } finally {
    tree.delete();
  }
}

export function formatProblems(file: string, problems: readonly ParseProblem[]): string {
  return problems.map((p) => `${file}:${p.line}:${p.column} ${p.kind} ${JSON.stringify(p.text)}`).join('\n');
}
