/**
 * Deploy safety: the recorded `matterWorkflow` histories in ./histories (scripts/record-histories.ts) replay on
 * this checkout's workflow code, as bundled by test/support/global-setup.ts. A failure means a change to the
 * workflow would break runs already in flight: put it behind `patched()`. Never re-record a history to make
 * this pass (see histories/README.md).
 */
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { readHistoryFile } from '../support/history-files.js';

const HISTORIES = fileURLToPath(new URL('./histories/', import.meta.url));

/** What scripts/record-histories.ts records; a file deleted by mistake fails the run. */
const SCENARIOS = [
  'reminders-by-rule',
  'transfer-then-reminders',
  'escalation-then-exception',
  'modify-then-cancel',
  'scheduled-change',
  'group-claim-release',
  'many-updates',
  'transfer-rejected-then-alert',
  'filing-pauses-then-returns',
  'continue-as-new.run-1',
  'continue-as-new.run-2',
];

const files = readdirSync(HISTORIES)
  .filter((f) => f.endsWith('.json'))
  .sort();

beforeAll(() => {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // A Runtime already exists in this process: keep it.
  }
});

describe('recorded matterWorkflow histories replay on the current workflow code', () => {
  it('the folder holds every recorded scenario', () => {
    expect(files.map((f) => basename(f, '.json'))).toEqual(expect.arrayContaining(SCENARIOS));
  });

  it.each(files)('%s', async (file) => {
    const { workflowId, history } = readHistoryFile(join(HISTORIES, file));
    expect(history.events.length).toBeGreaterThan(0);
    // Rejects with a DeterminismViolationError (or another ReplayError) when the code no longer fits.
    await expect(
      Worker.runReplayHistory(
        { workflowBundle: { codePath: inject('workflowBundlePath') } },
        history,
        workflowId,
      ),
    ).resolves.toBeUndefined();
  });
});
