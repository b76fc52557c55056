/**
 * Recorded workflow histories on disk (test/workflow/histories): `{ workflowId, history }`, the history in
 * protobufjs' plain-object form (int64 and enums as strings, bytes as base64), read back with `fromObject`.
 *
 * Not the SDK's `historyToJSON` / `historyFromJSON` (@temporalio/common/lib/proto-utils): in this install
 * @temporalio/common and @temporalio/proto each carry their own copy of protobufjs, and protojson refuses the
 * other copy's types ("type must be a Type"). The replayer also runs `historyFromJSON` on a history whose
 * event ids are strings, so histories are handed to it decoded (`History` messages, ids as Longs).
 */
import { readFileSync } from 'node:fs';
import proto from '@temporalio/proto';

const { History } = proto.temporal.api.history.v1;
type IHistory = proto.temporal.api.history.v1.IHistory;

export interface HistoryFile {
  workflowId: string;
  history: proto.temporal.api.history.v1.History;
}

/** The file's text for one run's history, as `fetchHistory()` gave it. */
export function historyFileText(workflowId: string, history: IHistory): string {
  const plain = History.toObject(History.fromObject(history), {
    longs: String,
    enums: String,
    bytes: String,
  });
  return `${JSON.stringify({ workflowId, history: plain }, null, 2)}\n`;
}

export function parseHistoryFile(text: string): HistoryFile {
  const { workflowId, history } = JSON.parse(text) as { workflowId: string; history: object };
  return { workflowId, history: History.fromObject(history) };
}

export function readHistoryFile(path: string): HistoryFile {
  return parseHistoryFile(readFileSync(path, 'utf8'));
}

export function eventCount(file: HistoryFile): number {
  return file.history.events.length;
}
