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

/** Where one Markdown frame of the page ends (the UI 2.42 renders Summary, Details and Current Details in frames). */
export interface MarkdownFrameLayout {
  /** The panel's heading: `Summary`, `Details` or `Current Details`. */
  panel: string;
  /** The frame's top in the window, and its height, in px. */
  top: number;
  height: number;
  /** The bottom of the frame's last visible text, in the frame, in px (empty paragraphs do not count). */
  textBottom: number;
}

/**
 * Run in the page (a string: this project is compiled without the DOM's types). For each panel heading,
 * the frame after it: where it sits, and the bottom of its last text that is not blank.
 */
const READ_MARKDOWN_FRAMES = `(() => {
  const out = [];
  for (const heading of document.querySelectorAll('h3')) {
    const panel = (heading.textContent || '').trim();
    if (!['Summary', 'Details', 'Current Details'].includes(panel)) continue;
    const bar = heading.closest('.surface-information');
    const frame = bar && bar.nextElementSibling && bar.nextElementSibling.querySelector('iframe');
    const doc = frame && frame.contentDocument;
    if (!doc || !doc.body) continue;
    let textBottom = 0;
    const walker = doc.createTreeWalker(doc.body, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      if (!(walker.currentNode.textContent || '').trim()) continue;
      const range = doc.createRange();
      range.selectNodeContents(walker.currentNode);
      for (const rect of range.getClientRects()) textBottom = Math.max(textBottom, rect.bottom);
    }
    const box = frame.getBoundingClientRect();
    out.push({ panel, top: box.top, height: box.height, textBottom });
  }
  return out;
})()`;

/**
 * The Markdown frames of a workflow's User Metadata tab: each panel's heading, where its frame sits and
 * where its text ends, read from the frames' own documents (same origin as the UI).
 */
export async function markdownFrames(page: Page): Promise<MarkdownFrameLayout[]> {
  const frames: unknown = await page.evaluate(READ_MARKDOWN_FRAMES);
  if (!Array.isArray(frames)) throw new Error(`the page's frames read as ${JSON.stringify(frames)}`);
  return frames as MarkdownFrameLayout[];
}

/**
 * What is wrong with how the page shows its Markdown: a frame whose text runs past the frame's bottom
 * (the UI cuts it off there), or Current Details that end below the window (so they do not fit).
 */
export async function markdownFitProblems(page: Page): Promise<string[]> {
  const frames = await markdownFrames(page);
  const windowHeight = page.viewportSize()?.height ?? 0;
  const problems = frames.flatMap((f) => [
    ...(f.textBottom > f.height ? [`${f.panel}: text ends at ${f.textBottom} px, the frame at ${f.height} px`] : []),
    ...(f.panel === 'Current Details' && f.top + f.textBottom > windowHeight
      ? [`${f.panel}: text ends at ${f.top + f.textBottom} px, below the ${windowHeight} px window`]
      : []),
  ]);
  if (!frames.some((f) => f.panel === 'Current Details')) problems.push('no Current Details frame on the page');
  return problems;
}
