// @ts-check
const { builtinModules } = require('node:module');
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');

/** Workflow code runs in Temporal's deterministic sandbox: no Node builtins, no I/O, no Nest, no pg, no activity code. */
const forbiddenInWorkflows = [
  ...builtinModules
    .filter((name) => !['assert', 'url', 'util'].includes(name))
    .flatMap((name) => [name, `node:${name}`]),
];

const TOOLS_IMPORT = {
  group: ['**/tools/**'],
  message: 'production code must not import tooling (tools/ is left out of the build and the image)',
};

/** The files of libs/ that workflow code imports: they are bundled into the sandbox, so the sandbox's rules hold for them. */
const SANDBOX_SAFE_LIBS = [
  'libs/contracts/delivery-policy.ts',
  'libs/contracts/delivery-status.ts',
  'libs/contracts/delivery-workflow.ts',
];

/** What the sandbox refuses (see forbiddenInWorkflows), with the patterns of the files' own layer. */
function sandboxImports(...layerPatterns) {
  return [
    'error',
    {
      paths: forbiddenInWorkflows.map((name) => ({
        name,
        message: 'workflow code must stay deterministic: no Node builtins',
      })),
      patterns: [
        {
          group: ['@nestjs/*', 'pg', 'undici', 'reflect-metadata'],
          message: 'workflow code must not do I/O or use Nest',
        },
        {
          group: ['**/libs/db/**', '**/libs/temporal/**'],
          message: 'workflow code must not reach the database or clients',
        },
        TOOLS_IMPORT,
        ...layerPatterns,
      ],
    },
  ];
}

/** Layers point one way (libs <- activities <- workflows <- apps <- tools): a layer never imports one above it. */
function layersAbove(...layers) {
  return {
    group: layers.map((layer) => `**/${layer}/**`),
    message: 'layers point one way: libs <- activities <- workflows <- apps <- tools',
  };
}

module.exports = tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      '.data/**',
      'packages/*/dist/**',
      'packages/client/src/schema.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: __dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      // A shutdown handler may read a variable that is assigned once, later.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // Production code (what the image holds) never reaches into the tooling: tools/ is not built into it.
    files: ['apps/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [TOOLS_IMPORT] }] },
  },
  {
    // The api's common/ is the floor its features stand on: it imports none of them (nor the app's assembly).
    files: ['apps/api/src/common/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            TOOLS_IMPORT,
            {
              regex: '^\\.\\./(?!\\.\\./)',
              message:
                'common/ must not import a feature folder or the app assembly: move the shared part into common/',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['activities/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [TOOLS_IMPORT, layersAbove('workflows', 'apps')] }] },
  },
  {
    files: ['libs/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [TOOLS_IMPORT, layersAbove('activities', 'workflows', 'apps')] }],
    },
  },
  {
    files: ['workflows/**/*.ts', ...SANDBOX_SAFE_LIBS],
    rules: {
      'no-restricted-imports': sandboxImports(layersAbove('apps'), {
        group: ['**/activities/**'],
        allowTypeImports: true,
        message: 'import activity types only (import type)',
      }),
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'use sleep() or condition() from @temporalio/workflow' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'use uuid4() from @temporalio/workflow' },
      ],
    },
  },
  {
    // The workflow sandbox's files in libs/ are libs too: they import nothing above libs.
    files: SANDBOX_SAFE_LIBS,
    rules: { 'no-restricted-imports': sandboxImports(layersAbove('activities', 'workflows', 'apps')) },
  },
  {
    // Production code reads in one sitting: a file that outgrows 250 lines holds more than one responsibility, and
    // a line past 160 columns is a string to break. The generated OpenAPI types are left out.
    files: ['apps/**/*.{ts,tsx}', 'libs/**/*.ts', 'activities/**/*.ts', 'workflows/**/*.ts', 'packages/*/src/**/*.ts'],
    ignores: ['packages/client/src/schema.ts'],
    rules: {
      'max-lines': ['error', { max: 250 }],
      'max-len': ['error', { code: 160, ignoreUrls: true, ignoreRegExpLiterals: true }],
    },
  },
  {
    // The receiver package's own tests run on Node's test runner, with Node's globals.
    files: ['packages/*/test/**/*.js'],
    languageOptions: { globals: { Buffer: 'readonly', TextEncoder: 'readonly', Headers: 'readonly' } },
  },
  {
    // The command-line tool is plain JavaScript, so a clone runs it with no build; it uses Node's globals.
    files: ['packages/cli/**/*.js'],
    languageOptions: {
      globals: {
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        Buffer: 'readonly',
        fetch: 'readonly',
        NodeJS: 'readonly',
        performance: 'readonly',
        setTimeout: 'readonly',
        URL: 'readonly',
      },
    },
  },
  {
    files: ['**/*.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: {
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
        process: 'readonly',
        console: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
