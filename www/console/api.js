// Estuary console: the HTTP API client. Where the API is (?api=host:port, remembered; default this
// host on port 1985), its credentials (asked for on a 401, kept for this browser tab only), and
// JSON requests that throw ApiError on failure.

const params = new URLSearchParams(location.search);
const authKey = 'estuary.console.auth';

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function apiBase() {
  let api = params.get('api') || localStorage.getItem('estuary.console.api') || '';
  if (params.get('api')) localStorage.setItem('estuary.console.api', api);
  if (!api) return `${location.protocol}//${location.hostname}:1985`;
  if (!/^https?:\/\//i.test(api)) api = `${location.protocol}//${api}`;
  return api.replace(/\/+$/, '');
}

// The Authorization header value: "Basic ..." or "Bearer ..."; "" when none is stored.
export function authorization() { return sessionStorage.getItem(authKey) || ''; }

export function setCredentials({user, password, token}) {
  if (token) sessionStorage.setItem(authKey, `Bearer ${token}`);
  else if (user) sessionStorage.setItem(authKey, `Basic ${btoa(`${user}:${password || ''}`)}`);
  else sessionStorage.removeItem(authKey);
}

export async function request(method, path, query) {
  const url = new URL(apiBase() + path);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, v);
  }
  const headers = {};
  const auth = authorization();
  if (auth) headers.Authorization = auth;
  let res;
  try {
    res = await fetch(url, {method, headers, cache: 'no-store'});
  } catch (e) {
    throw new ApiError(0, `the API at ${apiBase()} cannot be reached (${e.message})`);
  }
  const text = await res.text();
  let body = null;
  try { body = text ? JSON.parse(text) : {}; } catch { body = null; }
  if (!res.ok || !body || (typeof body.code === 'number' && body.code !== 0)) {
    const message = (body && (body.message || body.msg)) || text.slice(0, 200) || res.statusText;
    throw new ApiError(res.status, `${method} ${path}: ${res.status} ${message}`);
  }
  return body;
}

export const get = (path, query) => request('GET', path, query);
export const del = (path) => request('DELETE', path);
export const post = (path) => request('POST', path);
