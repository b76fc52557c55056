/**
 * Deploy safety: the recorded `matterWorkflow` histories in ./histories (scripts/record-histories.ts) replay on
 * this checkout's workflow code, as bundled by test/support/global-setup.ts. A failure means a change to the
 * workflow would break runs already in flight: put it behind `patched()`. Never re-record a history to make
 * this pass (see histories/README.md).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultPayloadConverter } from '@temporalio/common';
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
  'ladder-climbs-then-acknowledged',
  'misrouted-then-rule-changed',
  'rule-changed-replans-from-now',
  'opened-with-planning-context',
  'continue-as-new.run-1',
  'continue-as-new.run-2',
];

const files = readdirSync(HISTORIES)
  .filter((f) => f.endsWith('.json'))
  .sort();

const WORKFLOWS = fileURLToPath(new URL('../../src/workflows/', import.meta.url));

/** Every id the workflow code passes to `patched()`. */
function patchIdsInCode(): string[] {
  const ids = readdirSync(WORKFLOWS)
    .filter((f) => f.endsWith('.ts'))
    .flatMap((f) => [
      ...readFileSync(join(WORKFLOWS, f), 'utf8').matchAll(/\bpatched\(\s*(['"`])(.+?)\1\s*\)/g),
    ])
    .map((m) => m[2]!);
  return [...new Set(ids)].sort();
}

/** The patch ids a recorded run took: the SDK writes one `core_patch` marker per id when it is first met. */
function patchIdsIn(file: string): string[] {
  const { history } = readHistoryFile(join(HISTORIES, file));
  return history.events.flatMap((e) => {
    const marker = e.markerRecordedEventAttributes;
    if (marker?.markerName !== 'core_patch') return [];
    const data = marker.details?.['patch-data']?.payloads ?? [];
    return data.map((p) => defaultPayloadConverter.fromPayload<{ id: string }>(p).id);
  });
}

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

  it('every patch in the workflow code is taken by at least one recorded run', () => {
    const inCode = patchIdsInCode();
    // A pattern that stopped matching would make this pass on nothing.
    expect(inCode).toContain('reminder-engine');
    const recorded = new Set(files.flatMap(patchIdsIn));
    expect(inCode.filter((id) => !recorded.has(id))).toEqual([]);
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
