import { condition, defineQuery, defineUpdate, setHandler } from '@temporalio/workflow';

/** The engine's floor: a workflow that does nothing. */
export async function emptyWorkflow(): Promise<void> {}

export const doneUpdate = defineUpdate<number, [string]>('done');
export const readyQuery = defineQuery<boolean>('ready');

/** The floor for an action: a workflow that takes one Update, answers it and ends. */
export async function awaitingUpdateWorkflow(): Promise<void> {
  let done = false;
  setHandler(readyQuery, () => true);
  setHandler(doneUpdate, (actor: string) => {
    done = true;
    return actor.length;
  });
  await condition(() => done);
}
