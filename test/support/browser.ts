/**
 * The browser tests' tools: where screenshots go, a screenshot of the page when a check fails (to see
 * what the UI showed), and waiting until the workflow list of the Web UI lists a workflow.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Page } from 'playwright-core';
import { PROJECT_ROOT } from '../../devserver/temporal-cli';
import { waitFor } from './wait';

export const SCREENSHOTS = path.join(PROJECT_ROOT, '.test-output');

/** Saves a full-page screenshot as `.test-output/browser-<name>.png` and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `browser-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Runs `fn`; when it throws, saves what the page showed as `browser-<name>-failed.png` first. */
export async function screenshotOnFailure<T>(page: Page, name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const file = await screenshot(page, `${name}-failed`).catch(() => undefined);
    if (file) console.log(`# the page when this failed: ${file}`);
    throw err;
  }
}

/** Waits until the Web UI answers (it serves a page before the server behind it does). */
export async function waitForUi(uiUrl: string): Promise<void> {
  await waitFor(async () => (await fetch(uiUrl).catch(() => undefined))?.ok, `the Web UI answers at ${uiUrl}`);
}

/**
 * Waits until visibility (which lags the workflows a moment) lists every id under `query`: the Web UI's
 * list asks the same visibility store, so a page opened after this shows them without reloads.
 */
export async function waitForVisibility(client: Client, query: string, ids: string[]): Promise<void> {
  await waitFor(
    async () => {
      const listed = new Set<string>();
      for await (const wf of client.workflow.list({ query })) listed.add(wf.workflowId);
      return ids.every((id) => listed.has(id)) || undefined;
    },
    `visibility lists ${ids.join(', ')} under ${query}`
  );
}

/** The Web UI's workflow list filtered by a visibility query. */
export function workflowListUrl(uiUrl: string, namespace: string, query: string): string {
  return `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows?query=${encodeURIComponent(query)}`;
}

/** The Web UI's page of one workflow (its latest run). */
export function workflowUrl(uiUrl: string, namespace: string, workflowId: string): string {
  return `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
