import escapeHtml from 'escape-html';
import type { LinkAction } from '../../activities/contracts.js';
import type { MatterRow } from '../../db/matters.js';

const STYLE = `body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}
h1{font-size:1.4rem}dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}dt{font-weight:600}
label{display:block;margin-top:1rem;font-weight:600}input,textarea{width:100%;padding:.5rem;font:inherit;box-sizing:border-box}
button{margin-top:1.2rem;padding:.6rem 1.4rem;font:inherit;background:#0b5cad;color:#fff;border:0;border-radius:4px}
.notice{padding:1rem;border-radius:4px;background:#eef4fb}.error{background:#fdecea}`;

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)} · matterflow</title>
<style>${STYLE}</style></head><body><main>${body}</main></body></html>`;
}

const VERBS: Record<LinkAction, string> = {
  complete: 'Complete this matter',
  transfer: 'Transfer this matter',
  exception: 'File an exception',
};

const FIELDS: Record<LinkAction, string> = {
  complete: `<label for="outcome">Outcome (optional)</label><input id="outcome" name="outcome" maxlength="200">
<label for="comment">Comment (optional)</label><textarea id="comment" name="comment" rows="3" maxlength="4000"></textarea>`,
  transfer: `<label for="toHandlerId">Transfer to (handler id)</label><input id="toHandlerId" name="toHandlerId" required maxlength="128">
<label for="reason">Reason</label><textarea id="reason" name="reason" rows="3" required maxlength="4000"></textarea>`,
  exception: `<label for="eventType">Event type</label><input id="eventType" name="eventType" required pattern="[A-Z][A-Z0-9_]{0,63}" maxlength="64">
<label for="description">What happened</label><textarea id="description" name="description" rows="3" required maxlength="4000"></textarea>`,
};

function matterFacts(m: MatterRow): string {
  const rows: [string, string | null][] = [
    ['Source', `${m.source} · ${m.externalId}`],
    ['Handler', m.handlerId],
    ['Priority', m.priority],
    ['Due', m.dueAt ? m.dueAt.toISOString() : null],
    ['Status', m.status],
  ];
  const facts = rows
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v ?? '')}</dd>`)
    .join('');
  const link = m.link
    ? `<p><a href="${escapeHtml(m.link)}" rel="noopener noreferrer">Open in ${escapeHtml(m.source)}</a></p>`
    : '';
  const details = m.details ? `<p>${escapeHtml(m.details)}</p>` : '';
  return `<h1>${escapeHtml(m.title)}</h1>${details}<dl>${facts}</dl>${link}`;
}

/** The confirm page: showing it changes nothing, so link scanners and previews are harmless. */
export function confirmPage(matter: MatterRow, action: LinkAction): string {
  return page(
    VERBS[action],
    `${matterFacts(matter)}<form method="post"><h2>${escapeHtml(VERBS[action])}</h2>
${FIELDS[action]}<button type="submit">${escapeHtml(VERBS[action])}</button></form>`,
  );
}

export function resultPage(title: string, message: string, ok: boolean): string {
  return page(
    title,
    `<h1>${escapeHtml(title)}</h1><p class="notice${ok ? '' : ' error'}">${escapeHtml(message)}</p>`,
  );
}
