/** The engine's floor: a workflow that does nothing. */
export async function emptyWorkflow(): Promise<void> {}
