/**
 * `npm test` runs the fault suite at the sizes issue 9 names; `npm run soak` (MATTERFLOW_SOAK=1) runs the
 * same tests longer and larger, outside the test-time budget.
 */
export const SOAK = process.env.MATTERFLOW_SOAK === '1';

/** The size for this run: `ci` under `npm test`, `soak` under `npm run soak`. */
export const sized = (ci: number, soak: number): number => (SOAK ? soak : ci);
