/**
 * A prebuilt workflow bundle for the main worker (FLEET_WORKFLOW_BUNDLE). Without one, every start of
 * the worker bundles the workflow code itself: seconds of CPU before it polls, paid again by each
 * restart. With one (built once by `writeWorkflowBundle`, from the same sources the worker runs), a
 * restarted worker polls within a second or two, so a killed worker's workflows wait less.
 */
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { z } from 'zod';
import { formatIssues } from '../domain/issues';
import type { WorkerWiring } from './create-workers';

/**
 * Modules the workflow bundle evaluates once per workflow thread and shares between workflows
 * (workflows/preload.ts: zod), for every bundle of this release's workflows (bundleWorkflows, the bench, the tests).
 */
export const WORKFLOW_PRELOAD_MODULES: string[] = [require.resolve('../workflows/preload')];

const bundleEnvSchema = z.object({
  /** A file written by `writeWorkflowBundle` (or `bundleWorkflowCode`'s `code`) from this release's workflows. */
  FLEET_WORKFLOW_BUNDLE: z
    .string()
    .min(1)
    .refine((p) => fs.existsSync(p) && fs.statSync(p).isFile(), {
      error: (i) => `${String(i.input)}: no such file (build it with writeWorkflowBundle, or unset the variable)`,
    })
    .optional(),
});

/** The wiring's `workflowBundle` from the environment; none (bundle at start) when the variable is unset. */
export function workflowBundleFromEnv(env: NodeJS.ProcessEnv = process.env): Pick<WorkerWiring, 'workflowBundle'> {
  const parsed = bundleEnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new Error(`invalid environment:\n  ${formatIssues(parsed.error.issues).join('\n  ')}`);
  }
  const codePath = parsed.data.FLEET_WORKFLOW_BUNDLE;
  return codePath ? { workflowBundle: { codePath: path.resolve(codePath) } } : {};
}

/** Bundles this release's workflows into `file`, for FLEET_WORKFLOW_BUNDLE. */
export async function writeWorkflowBundle(file: string): Promise<void> {
  const code = await bundleWorkflows();
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, code);
}

/**
 * The bundle's source map: without the sources' text, half the size, so each worker start parses less;
 * stack traces still name file, line and column. (The text serves only showStackTraceSources, which
 * these workers leave off.)
 */
export const WORKFLOW_BUNDLE_DEVTOOL = 'inline-nosources-source-map';

/** This release's workflows as one bundle's code, as production workers run it. */
export async function bundleWorkflows(): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    // zod evaluated once per workflow thread, as workers that bundle at start do (workflows/preload.ts).
    preloadModules: WORKFLOW_PRELOAD_MODULES,
    // Warnings only: webpack's INFO report would bury the caller's output.
    logger: new DefaultLogger('WARN'),
    webpackConfigHook: (config) => ({ ...config, devtool: WORKFLOW_BUNDLE_DEVTOOL }),
  });
  return code;
}
