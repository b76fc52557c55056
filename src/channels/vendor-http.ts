import type { OutboundPolicy } from '../security/outbound-address.js';
import type { DeliveryResult } from './channel.js';

export interface VendorRequest {
  url: string;
  /** POST when there is a body, GET without. */
  method?: string;
  /** `content-type: application/json` goes with a body unless these name another. */
  headers?: Record<string, string>;
  /** JSON text rather than a value: a signed body must go out exactly as it was signed. */
  body?: string;
}

/** What the vendor answered; `json` is null unless the body was a JSON object. */
export interface VendorReply {
  status: number;
  headers: Headers;
  json: Record<string, unknown> | null;
}

/** A 2xx answer carrying a JSON object. */
export interface ApiReply {
  status: number;
  json: Record<string, unknown>;
}

/** Tells a call's failure, already settled as a delivery result, from the vendor's answer. */
export function failed(x: object): x is DeliveryResult {
  return 'retryable' in x;
}

export function delivered(httpStatus: number, ref?: Record<string, string>): DeliveryResult {
  return { ok: true, httpStatus, retryable: false, ...(ref ? { ref } : {}) };
}

export function retryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 425 || status === 429;
}

export function statusFailure(vendor: string, status: number, detail = ''): DeliveryResult {
  return {
    ok: false,
    httpStatus: status,
    error: `${vendor} answered ${status}${detail}`,
    retryable: retryableStatus(status),
  };
}

function send(request: VendorRequest, timeoutMs: number): Promise<Response> {
  return fetch(request.url, {
    method: request.method ?? (request.body === undefined ? 'GET' : 'POST'),
    headers: {
      ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...request.headers,
    },
    body: request.body,
    redirect: 'error',
    signal: AbortSignal.timeout(timeoutMs),
  });
}

// A timeout or a dropped connection says nothing against the message itself.
function requestFailed(err: unknown): DeliveryResult {
  return { ok: false, error: `request failed: ${(err as Error).message}`, retryable: true };
}

/** The answer whatever its status, for vendors that explain a refusal in its body. */
export async function exchange(
  request: VendorRequest,
  timeoutMs: number,
): Promise<VendorReply | DeliveryResult> {
  try {
    const res = await send(request, timeoutMs);
    return { status: res.status, headers: res.headers, json: jsonObject(await res.text()) };
  } catch (err) {
    return requestFailed(err);
  }
}

/**
 * For APIs that refuse with a non-2xx status or with an error inside a 2xx JSON answer; `detail` picks out
 * what a refusal's body adds to its error.
 */
export async function callApi(
  vendor: string,
  request: VendorRequest,
  timeoutMs: number,
  detail: (json: Record<string, unknown> | null) => string = () => '',
): Promise<ApiReply | DeliveryResult> {
  const reply = await exchange(request, timeoutMs);
  if (failed(reply)) return reply;
  if (!isSuccess(reply.status)) return statusFailure(vendor, reply.status, detail(reply.json));
  if (!reply.json) {
    return { ok: false, httpStatus: reply.status, error: `${vendor} answered without JSON`, retryable: true };
  }
  return { status: reply.status, json: reply.json };
}

/**
 * For receivers whose answer means nothing beyond its status; the body is not waited for. Their URLs
 * come through the API, so `outbound` judges each one before it is called.
 */
export async function deliver(
  receiver: string,
  request: VendorRequest,
  timeoutMs: number,
  outbound: OutboundPolicy,
): Promise<DeliveryResult> {
  const refused = await outbound.refusalAtSend(request.url);
  // No retry can mend an address; the next channel of the handler may still reach them.
  if (refused) return { ok: false, error: `address not allowed: ${refused}`, retryable: false };
  try {
    const res = await send(request, timeoutMs);
    await res.body?.cancel();
    return res.ok ? delivered(res.status) : statusFailure(receiver, res.status);
  } catch (err) {
    return requestFailed(err);
  }
}

/**
 * WeCom and DingTalk report errors as `errcode` and `errmsg` in a 2xx answer. DingTalk's robot documents
 * errcode as a string ("0"), the other APIs as a number.
 */
export function errcodeOf(json: Record<string, unknown>): number {
  return Number(json.errcode ?? 0);
}

export function errcodeFailure(
  vendor: string,
  reply: ApiReply,
  retryable: ReadonlySet<number>,
): DeliveryResult | null {
  const errcode = errcodeOf(reply.json);
  if (errcode === 0) return null;
  return {
    ok: false,
    httpStatus: reply.status,
    error: `${vendor} answered errcode ${errcode}: ${String(reply.json.errmsg ?? '')}`,
    retryable: retryable.has(errcode),
  };
}

export function withoutTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

const isSuccess = (status: number) => status >= 200 && status < 300;

function jsonObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}
