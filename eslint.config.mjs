import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import { builtinModules } from 'node:module';

const NODE_BUILTINS = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)].filter(
  (m) => !['assert', 'node:assert', 'url', 'util'].includes(m)
);
// Patterns are gitignore-style: `**/lab` also matches a step's lab model (`./lab`, `../Set-HttpsListener/lab`).
const LAB = {
  group: ['**/lab', '**/lab/*', '**/lab-*'],
  message: "the lab (and every step's lab model) is an adapter",
};
const RUNNERS = { group: ['**/powershell/*', '**/runner/*'], message: 'the runners are adapters' };
/** A project folder at any relative depth (not a package such as `@temporalio/client`). */
const folder = (name) => ['..', '../..', '../../..'].flatMap((up) => [`${up}/${name}`, `${up}/${name}/*`]);
const ENTRY_POINTS = {
  group: ['client', 'workers', 'scripts', 'devserver', 'config'].flatMap(folder),
  message: 'entry points and configuration stay out',
};
const UPPER_LAYERS = {
  group: ['**/workflows', '**/workflows/*', '**/activities', '**/activities/*'],
  message: 'workflows and activities are built on this, not the reverse',
};

function layer(files, why, { builtins = false, patterns = [] }) {
  return {
    files,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: builtins ? NODE_BUILTINS.map((name) => ({ name, message: `${why}: no Node built-ins here` })) : [],
          patterns: patterns.map((p) => ({ ...p, message: `${why}: ${p.message}` })),
        },
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ['node_modules/', '.temporal/', 'dist/', '.test-output/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test runs describe/it itself; their returned promises are not ours to await.
        {
          allowForKnownSafeCalls: [
            { from: 'package', name: ['describe', 'it', 'test', 'suite'], package: 'node:test' },
          ],
        },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'object-shorthand': ['error', 'always'],
      eqeqeq: ['error', 'smart'],
    },
  },
  // Layering: each rule names what a layer may never import. The deterministic core (domain/, lib/,
  // each step's step.ts) is what workflows are built from; the lab and the runners are adapters.
  layer(['lib/**/*.ts'], 'lib/ holds pure helpers', {
    builtins: true,
    patterns: [
      LAB,
      RUNNERS,
      ENTRY_POINTS,
      UPPER_LAYERS,
      { group: ['**/domain/*', '**/steps/*'], message: 'no project imports' },
    ],
  }),
  layer(['domain/**/*.ts', 'steps/step-module.ts', 'steps/*/step.ts'], 'the deterministic core (domain/, step.ts)', {
    builtins: true,
    patterns: [LAB, RUNNERS, ENTRY_POINTS, UPPER_LAYERS],
  }),
  layer(['workflows/**/*.ts'], "workflow code runs in Temporal's deterministic sandbox", {
    builtins: true,
    patterns: [
      LAB,
      RUNNERS,
      ENTRY_POINTS,
      // Activities are called through proxyActivities: their type only.
      {
        group: ['**/activities', '**/activities/*'],
        allowTypeImports: true,
        message: 'import activities as types only',
      },
    ],
  }),
  layer(['activities/**/*.ts'], 'activities run against the runner port', { patterns: [LAB, ENTRY_POINTS] }),
  {
    files: ['**/*.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', process: 'readonly', console: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  }
);
