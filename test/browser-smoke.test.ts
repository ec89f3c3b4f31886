/**
 * The Web UI in a real browser, the way an operator follows a fleet: Debian's Chromium driven by
 * playwright-core against the suite's dev server and its UI (`npm test` starts it with one; a file run
 * on its own starts its own), in a 1600x1200 window. A fleet is found in the workflow list by its
 * MonosyncFleet search attribute; the fleet's page lists the servers waiting for approval with their
 * changes and links; a server waiting for approval shows the change and the named wait, the signal list
 * says which signals are internal, a forged signal shows as refused, and after the approval the history
 * shows the wait, the check and the apply under their own summaries and the result the final phase (no
 * worker running); a certificate rotation started by its schedule is found by the fleet filter, with its
 * summary and each server's activities. Every Markdown panel shown is checked to fit, not cut off.
 * Screenshots go to `.test-output/browser-*.png`, and a failing check saves the page as `browser-*-failed.png`.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { freePort, startDevServer, type DevServer } from '../devserver/dev-server';
import { TEMPORAL_DIR } from '../devserver/temporal-cli';
import type { DecisionInput } from '../domain/approvals';
import { fleetWorkflowId, serverWorkflowId } from '../domain/ids';
import { changeId } from '../domain/risk';
import { FleetKey } from '../domain/search-attributes';
import { LabRunner } from '../lab/lab-runner';
import { CHROMIUM_ARGS, ensureChromium } from '../scripts/browser-tools';
import { decideChangeUpdate, fleetStatusQuery } from '../workflows/messages';
import {
  markdownFitProblems,
  screenshot,
  screenshotOnFailure,
  waitForUi,
  waitForVisibility,
  workflowListUrl,
  workflowUrl,
} from './support/browser';
import { runCli } from './support/cli';
import { estateFor, ONE_APPROVAL_POLICY, SAFE_POLICY, writeFleetFile } from './support/fleet-files';
import { waitForFinal, waitForPending, waitForStatus } from './support/server-status';
import { startFleet, testEnv, testFleet, withWorkers, type TestEnv } from './support/temporal';
import { waitFor } from './support/wait';

/** `npm test` says which browser it set up ('' when none); a file run on its own sets it up here. */
function browserPath(): string | null {
  const given = process.env.FLEET_TEST_BROWSER;
  if (given !== undefined) return given || null;
  return ensureChromium({ required: process.env.CI === 'true' });
}

/** How long the page may take to show what visibility or the workflow already holds (a loaded machine). */
const PAGE_TIMEOUT = 30_000;

/** Waits until the page shows `text` somewhere (the first match is enough). */
async function expectText(page: Page, text: string | RegExp): Promise<void> {
  await page.getByText(text).first().waitFor({ state: 'visible', timeout: PAGE_TIMEOUT });
}

/**
 * Waits until the Current Details show `text`. UI 2.42 renders Markdown in a sandboxed frame of its own,
 * so this looks in the page's frames and not in the page itself (where event summaries say similar things).
 */
async function expectDetailsText(page: Page, text: string | RegExp): Promise<void> {
  await waitFor(
    async () => {
      for (const frame of page.frames()) {
        if (frame === page.mainFrame()) continue;
        if (
          await frame
            .getByText(text)
            .first()
            .isVisible()
            .catch(() => false)
        )
          return true;
      }
      return undefined;
    },
    `the Current Details show ${String(text)}`,
    PAGE_TIMEOUT
  );
}

/** The target of the link named `name` in the Current Details (or other Markdown frames of the page). */
async function detailsLinkHref(page: Page, name: string): Promise<string | null> {
  const found = await waitFor(
    async () => {
      for (const frame of page.frames()) {
        if (frame === page.mainFrame()) continue;
        const link = frame.getByRole('link', { name, exact: true });
        if ((await link.count().catch(() => 0)) > 0) return { href: await link.first().getAttribute('href') };
      }
      return undefined;
    },
    `the Current Details link ${name}`,
    PAGE_TIMEOUT
  );
  return found.href;
}

/** Fails, naming what, when a Markdown panel of the page is cut off or the Current Details do not fit the window. */
async function assertPanelsFit(page: Page): Promise<void> {
  assert.deepEqual(await markdownFitProblems(page), []);
}

/**
 * Sends a signal or an update the way an operator does in UI 2.42: More Actions, "Send a Signal" or "Send
 * an Update", the message picked from the list the workflow declares, its input typed as JSON, Submit.
 * `whileListed` runs while the list of messages is open.
 */
async function sendThroughDialog(
  page: Page,
  kind: 'Signal' | 'Update',
  name: string,
  input: unknown,
  whileListed?: (options: Locator) => Promise<void>
): Promise<void> {
  const title = kind === 'Signal' ? 'Send a Signal' : 'Send an Update';
  await page.getByRole('button', { name: /More Actions/ }).click();
  await page.getByRole('menuitem', { name: title }).click();
  const dialog = page.getByRole('dialog').filter({ has: page.getByRole('heading', { name: title }) });
  await dialog.getByTestId(`${kind.toLowerCase()}-select-button`).click();
  await whileListed?.(dialog.getByRole('option'));
  await dialog.getByRole('option').filter({ hasText: name }).first().click();
  const editor = dialog.locator('.cm-content').first();
  await editor.click();
  await page.keyboard.insertText(JSON.stringify(input));
  // The editor hands its text to the form when it loses focus.
  await editor.blur();
  await dialog.getByRole('button', { name: 'Submit' }).click();
  await dialog.waitFor({ state: 'hidden', timeout: PAGE_TIMEOUT });
}

/** Opens the workflow page's User Metadata tab, where UI 2.42 shows the Current Details. */
async function openCurrentDetails(page: Page): Promise<void> {
  await page.getByText('User Metadata', { exact: true }).first().click({ timeout: PAGE_TIMEOUT });
  // The panel's heading (the signal list's descriptions, hidden in the page, name Current Details too).
  await page.getByRole('heading', { name: 'Current Details' }).waitFor({ timeout: PAGE_TIMEOUT });
}

describe('the Web UI in Chromium', () => {
  const executablePath = browserPath();
  let env: TestEnv;
  let ownServer: DevServer | undefined;
  let uiUrl: string;
  let browser: Browser | undefined;

  before(async () => {
    if (!executablePath) return;
    const given = process.env.FLEET_TEST_UI_URL;
    if (given) {
      uiUrl = given;
    } else {
      // Run on its own: a dev server of this file's, with its UI (the shared test support starts one without).
      ownServer = await startDevServer({
        port: await freePort(),
        uiPort: await freePort(),
        dbFile: path.join(TEMPORAL_DIR, `test-ui-${process.pid}.db`),
      });
      process.env.TEMPORAL_ADDRESS = ownServer.address;
      uiUrl = ownServer.uiUrl as string;
    }
    env = await testEnv();
    browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true });
    await waitForUi(uiUrl);
  });
  after(async () => {
    await browser?.close();
    await env?.close();
    await ownServer?.stop();
  });

  it('finds a fleet by its MonosyncFleet search attribute in the workflow list', async (t) => {
    if (!executablePath || !browser) return t.skip('no Chromium on this machine (see the line above the tests)');
    const spec = testFleet(1, { policy: SAFE_POLICY });
    const fqdn = spec.servers[0].fqdn;
    await withWorkers(env, new LabRunner(estateFor(spec)), async () => {
      await (await startFleet(env, spec, 'carol')).result();
    });

    const query = `${FleetKey.name}="${spec.fleetId}"`;
    const ids = [fleetWorkflowId(spec.fleetId), serverWorkflowId(fqdn)];
    // Both the fleet and its server carry the fleet's search attribute, and visibility lags a moment: the
    // page is opened once visibility lists both, then waited on. (This test once reloaded the page every
    // 200 ms until the links showed: when the list's answer took longer than that, as on a server loaded
    // by the whole suite, each reload threw the answer away and the links never showed.)
    await waitForVisibility(env.client, query, ids);
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    try {
      await screenshotOnFailure(page, 'fleet-list', async () => {
        await page.goto(workflowListUrl(uiUrl, 'default', query));
        for (const id of ids) {
          await page.getByRole('link', { name: id, exact: true }).waitFor({ timeout: PAGE_TIMEOUT });
        }
        // The filter is applied: no other fleet's workflows (the suite's server holds many) are listed.
        assert.equal(await page.getByRole('link', { name: /^fleet\// }).count(), 1);
      });
      const file = await screenshot(page, 'fleet-list');
      assert.ok(fs.statSync(file).size > 0, `${file} was written`);
    } finally {
      await page.close();
    }
  });

  it('servers waiting for approval: the fleet lists them, a server shows the change and the named wait, a forged signal is refused, the approved step runs', async (t) => {
    if (!executablePath || !browser) return t.skip('no Chromium on this machine (see the line above the tests)');
    const spec = testFleet(2, { policy: ONE_APPROVAL_POLICY });
    const [fqdn, other] = spec.servers.map((s) => s.fqdn);
    const change = (f: string) => changeId(f, 'setTrustedHosts', 'trusted-hosts-wildcard');
    const server = env.client.workflow.getHandle(serverWorkflowId(fqdn));
    const page = await browser.newPage({ viewport: { width: 1600, height: 1200 } });
    try {
      await withWorkers(env, new LabRunner(estateFor(spec)), async () => {
        const fleet = await startFleet(env, spec, 'carol');
        try {
          const waiting = await waitForPending(server, change(fqdn));
          await waitForPending(env.client.workflow.getHandle(serverWorkflowId(other)), change(other));
          const changeText = waiting.pendingApprovals[0].change.text;
          assert.match(changeText, /TrustedHosts '' -> '\*'/);
          await waitFor(async () => {
            const s = await fleet.query(fleetStatusQuery);
            return Object.keys(s.waiting ?? {}).length === 2 || undefined;
          }, 'the fleet knows both servers wait for approval');

          // The fleet's page: what the fleet is, and each waiting server with its change and a link to its page.
          await screenshotOnFailure(page, 'fleet-awaiting-approval', async () => {
            await page.goto(workflowUrl(uiUrl, 'default', fleetWorkflowId(spec.fleetId)));
            await openCurrentDetails(page);
            await expectDetailsText(page, 'Waiting for a person: 2');
            await expectDetailsText(page, changeText);
            for (const f of [fqdn, other]) {
              assert.equal(
                await detailsLinkHref(page, f),
                `/namespaces/default/workflows/${encodeURIComponent(serverWorkflowId(f))}`
              );
            }
            await expectDetailsText(page, /Onboards 2 servers, at most \d+ at once; requested by carol\./);
            await assertPanelsFit(page);
          });
          await screenshot(page, 'fleet-awaiting-approval');

          await screenshotOnFailure(page, 'server-approval-wait', async () => {
            await page.goto(workflowUrl(uiUrl, 'default', serverWorkflowId(fqdn)));
            // The approval wait is named after the change in the event history (the timer's summary).
            await expectText(page, /Waiting for approval of \S+ TrustedHosts .* \(rejected if undecided within/);
          });
          await screenshot(page, 'server-approval-wait');
          // Current Details (under User Metadata in UI 2.42): the waiting change, with its plain quotes.
          await screenshotOnFailure(page, 'server-awaiting-approval', async () => {
            await openCurrentDetails(page);
            await expectDetailsText(page, changeText);
            await assertPanelsFit(page);
          });
          await screenshot(page, 'server-awaiting-approval');

          // A forged approval (mallory is not on the list), sent as a signal: refused, and the page says so.
          // The signal list says what each signal is for, and which ones only the workflows send.
          const forged = { changeId: change(fqdn), decision: 'approve', approver: 'mallory', reason: 'trust me' };
          await screenshotOnFailure(page, 'server-forged-signal', async () => {
            await sendThroughDialog(page, 'Signal', 'decideChange', forged, async (options) => {
              await options.filter({ hasText: 'Prefer the Update' }).first().waitFor({ timeout: PAGE_TIMEOUT });
              const standing = options.filter({ hasText: 'standingDecision' }).first();
              assert.match(await standing.innerText(), /internal: sent by the fleet workflow, do not send by hand/);
              await screenshot(page, 'server-signal-list');
            });
          });
          await waitForStatus(server, (s) => s.refusedCount === 1);
          await screenshotOnFailure(page, 'server-refused-signal', async () => {
            await page.reload();
            await openCurrentDetails(page);
            await expectDetailsText(page, 'Refused decisions: 1');
            await expectDetailsText(page, /mallory is not an approver/);
            await assertPanelsFit(page);
          });
          await screenshot(page, 'server-refused-signal');

          // Approved by bob with the Update, through the UI's dialog; the other server by the client.
          await screenshotOnFailure(page, 'server-approve-update', async () => {
            await sendThroughDialog(page, 'Update', 'decideChange', {
              changeId: change(fqdn),
              decision: 'approve',
              approver: 'bob',
              reason: 'CAB-1',
            });
          });
          const decision: DecisionInput = {
            changeId: change(other),
            decision: 'approve',
            approver: 'bob',
            reason: 'CAB-1',
          };
          await env.client.workflow
            .getHandle(serverWorkflowId(other))
            .executeUpdate(decideChangeUpdate, { args: [decision] });
          const final = await waitForFinal(server);
          assert.equal(final.phase, 'onboarded', final.notes.join('; '));
          await fleet.result();
        } catch (err) {
          await fleet.cancel().catch(() => undefined);
          throw err;
        }
      });
      // No worker runs now. The history shows the approved step's apply under its own summary, and the
      // result (not the Current Details, which need a worker) the final state.
      await screenshotOnFailure(page, 'server-approved', async () => {
        await page.goto(workflowUrl(uiUrl, 'default', serverWorkflowId(fqdn)));
        await expectText(page, /: apply approved \S+ TrustedHosts /);
        await expectText(page, '"phase": "onboarded"');
      });
      await screenshot(page, 'server-approved');
      // The events with a summary: the check, the named wait, the apply of the approved change.
      await screenshotOnFailure(page, 'server-events', async () => {
        await page.getByText('User Metadata', { exact: true }).first().click({ timeout: PAGE_TIMEOUT });
        await expectText(page, /: WSMan TrustedHosts: check and apply$/);
        // (No quotes in these patterns: playwright-core 1.65 garbles a regex with quotes on its way to the page.)
        await expectText(page, /^Waiting for approval of \S+ TrustedHosts \S+ -> \S+ \(rejected if undecided within/);
        await expectText(page, /: WSMan TrustedHosts: apply approved \S+ TrustedHosts \S+ -> \S+$/);
      });
      await screenshot(page, 'server-events');
    } finally {
      await page.close();
    }
  });

  it('a certificate rotation started by its schedule: found by the fleet filter, with its summary and each server named', async (t) => {
    if (!executablePath || !browser) return t.skip('no Chromium on this machine (see the line above the tests)');
    const spec = testFleet(2);
    const [expiring, edge] = spec.servers;
    const estate = estateFor(spec, { [expiring.fqdn]: 'expiring-cert', [edge.fqdn]: 'edge' });
    const cli = (...args: string[]) => runCli(args, { TEMPORAL_TASK_QUEUE: env.taskQueue });
    const scheduled = await cli('rotation', 'schedule', writeFleetFile(spec));
    assert.equal(scheduled.code, 0, scheduled.stderr);
    const page = await browser.newPage({ viewport: { width: 1600, height: 1200 } });
    try {
      await withWorkers(env, new LabRunner(estate), async () => {
        const trigger = await cli('rotation', 'trigger', spec.fleetId);
        assert.equal(trigger.code, 0, trigger.stderr);
        // The run the schedule started, as the fleet filter finds it (the schedule tags its runs).
        const fleetQuery = `${FleetKey.name}="${spec.fleetId}"`;
        const runId = await waitFor(
          async () => {
            for await (const wf of env.client.workflow.list({
              query: `${fleetQuery} AND WorkflowType="rotateCertificates"`,
            })) {
              return wf.workflowId;
            }
            return undefined;
          },
          'visibility lists the rotation the schedule started',
          60_000
        );
        await env.client.workflow.getHandle(runId).result();
        await waitForVisibility(env.client, fleetQuery, [runId]);

        await screenshotOnFailure(page, 'rotation-fleet-filter', async () => {
          await page.goto(workflowListUrl(uiUrl, 'default', fleetQuery));
          await page.getByRole('link', { name: runId, exact: true }).waitFor({ timeout: PAGE_TIMEOUT });
        });
        await screenshot(page, 'rotation-fleet-filter');

        // Its page (a worker runs, so the Current Details answer): the summary, each server's activities.
        await screenshotOnFailure(page, 'rotation-run', async () => {
          await page.getByRole('link', { name: runId, exact: true }).click();
          await openCurrentDetails(page);
          // The summary is Markdown, in a frame of its own like the details.
          await expectDetailsText(page, `Certificate rotation of fleet ${spec.fleetId}`);
          await expectText(page, `${expiring.computerName}: check the listener certificate`);
          await expectText(page, `${expiring.computerName}: renew the listener certificate`);
          await expectText(page, new RegExp(`^${edge.computerName}: `));
          await expectDetailsText(page, /2 of 2 servers checked, done/);
          await expectDetailsText(page, /not-applicable/);
          await assertPanelsFit(page);
        });
        await screenshot(page, 'rotation-run');
      });
    } finally {
      await page.close();
      await cli('rotation', 'delete', spec.fleetId);
    }
  });
});
