import type { OutboundPolicy } from '../security/outbound-address.js';
import { ApiError } from './errors.js';

/** Refuses a URL the worker would be made to call inside the deployment's own network; nothing is saved. */
export function checkOutboundUrl(policy: OutboundPolicy, url: string, field: string): void {
  const why = policy.refusal(url);
  if (why === null) return;
  throw new ApiError(
    422,
    'ADDRESS_NOT_ALLOWED',
    `${url} may not be called: ${why}; an operator may allow such a host with OUTBOUND_ALLOW_HOSTS`,
    [{ field }],
  );
}
