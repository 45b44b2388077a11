// The staff token: kept in sessionStorage (gone when the tab closes), read for display
// only. The app holds no privilege of its own: the API checks the token on every call,
// and the role and stores shown here only decide which pages are offered.

const KEY = 'tierflow.token';

export function token() {
  return sessionStorage.getItem(KEY) || '';
}

export function signIn(raw) {
  const tok = String(raw || '').trim().replace(/^Bearer\s+/i, '');
  const claims = decodeClaims(tok);
  if (!claims) return { ok: false, reason: 'signin.malformed' };
  if (claims.exp && claims.exp * 1000 < Date.now()) return { ok: false, reason: 'signin.expired' };
  sessionStorage.setItem(KEY, tok);
  return { ok: true, claims };
}

export function signOut() {
  sessionStorage.removeItem(KEY);
}

// takeTokenFromHash signs in from /app/#token=<token> (the local runtime's shortcut)
// and removes the token from the address bar and the history entry.
export function takeTokenFromHash(loc, hist) {
  const m = /^#token=([^&]+)/.exec(loc.hash || '');
  if (!m) return null;
  hist.replaceState(null, '', loc.pathname + loc.search);
  return signIn(decodeURIComponent(m[1]));
}

// decodeClaims reads a JWT's payload without verifying it (the API verifies).
export function decodeClaims(tok) {
  const parts = String(tok || '').split('.');
  if (parts.length !== 3) return null;
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = new TextDecoder().decode(Uint8Array.from(atob(b64 + '==='.slice((b64.length + 3) % 4)), (c) => c.charCodeAt(0)));
    const c = JSON.parse(json);
    return c && typeof c === 'object' ? c : null;
  } catch {
    return null;
  }
}

// who is the signed-in staff member as the token describes them.
export function who() {
  const c = decodeClaims(token()) || {};
  const stores = String(c.tierflow_stores || '').split(/[\s,]+/).filter(Boolean);
  const role = String(c.tierflow_role || '');
  return {
    sub: String(c.sub || ''),
    role,
    stores,
    allStores: stores.includes('*'),
    manager: role === 'admin' || role === 'clinician',
    admin: role === 'admin',
    exp: c.exp ? new Date(c.exp * 1000) : null,
  };
}
