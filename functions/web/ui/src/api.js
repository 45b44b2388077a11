// One way to call the staff API: the caller's bearer token, JSON in and out, and every
// failure turned into an ApiError that pages show the same way. A 401 signs out and
// sends to the sign-in page.

import { token, signOut } from './auth.js';

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.title = problem.title || '';
    this.detail = problem.detail || '';
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
    this.requestId = problem.instance || problem.requestId || '';
  }
}

let onUnauthorized = () => {};

export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

export async function api(method, path, body, { accept } = {}) {
  const headers = { Accept: accept ? `${accept}, application/problem+json` : 'application/json, application/problem+json' };
  const tok = token();
  if (tok) headers.Authorization = `Bearer ${tok}`;
  const init = { method, headers, credentials: 'omit', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, { title: 'network', detail: String(e && e.message ? e.message : e) });
  }
  const text = await resp.text();
  if (accept && resp.ok) return text;
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { detail: text.slice(0, 300) };
    }
  }
  if (resp.ok) return data;
  const problem = readProblem(resp.status, data);
  if (resp.status === 401) {
    signOut();
    onUnauthorized();
  }
  throw new ApiError(resp.status, problem);
}

// readProblem accepts RFC 9457 problem+json and API Gateway's own {"message": "..."}.
export function readProblem(status, data) {
  if (!data || typeof data !== 'object') return { title: `HTTP ${status}` };
  if (data.title || data.detail) return data;
  if (data.message) return { title: data.message };
  return { title: `HTTP ${status}` };
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body);
export const put = (path, body) => api('PUT', path, body);
export const del = (path) => api('DELETE', path);
// getText reads a non-JSON answer (e.g. ?format=csv) as text; errors as for api.
export const getText = (path, accept) => api('GET', path, undefined, { accept });

// query builds "?a=1&b=2" from the set values of an object.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}
