// The OpenID Connect sign-in of the deployed console: authorization code
// with PKCE. The verifier, state and nonce wait in sessionStorage only for
// the round trip to the identity provider; the ID token it returns is kept
// by the caller in memory only, never stored, and never put in a URL.

import { createVerifier, randomString, codeChallenge, authorizeUrl, tokenRequestBody, parseCallback, jwtClaims, sameString } from './pkce.js';

export const PENDING_KEY = 'dsr.console.oidc';

/** Starts the sign-in: stores the round trip's secrets and goes to the provider. */
export async function startSignIn(config, { storage = globalThis.sessionStorage, assign = (u) => globalThis.location.assign(u), crypto = globalThis.crypto } = {}) {
  const verifier = createVerifier(crypto);
  const state = randomString(32, crypto);
  const nonce = randomString(32, crypto);
  const challenge = await codeChallenge(verifier, crypto);
  storage.setItem(PENDING_KEY, JSON.stringify({ verifier, state, nonce }));
  assign(authorizeUrl(config, { state, nonce, challenge }));
}

/**
 * Finishes the sign-in after the provider's redirect. Returns null when the
 * page was not opened by a redirect, else {token} or {error} where error is
 * 'provider' | 'state' | 'exchange' | 'network' | 'nonce'. The code is taken
 * out of the address bar first, and the round trip's secrets are removed.
 */
export async function completeSignIn(config, {
  search = globalThis.location.search,
  storage = globalThis.sessionStorage,
  replaceUrl = () => globalThis.history.replaceState(null, '', globalThis.location.pathname),
  fetchImpl = (...a) => globalThis.fetch(...a),
} = {}) {
  const cb = parseCallback(search);
  if (!cb) return null;
  replaceUrl();
  let pending = null;
  try {
    pending = JSON.parse(storage.getItem(PENDING_KEY) || 'null');
  } catch {
    pending = null;
  }
  storage.removeItem(PENDING_KEY);
  if (cb.error) return { error: 'provider' };
  if (!pending || !pending.state || !pending.verifier || !cb.state || !sameString(cb.state, pending.state)) return { error: 'state' };
  let res;
  try {
    res = await fetchImpl(config.tokenUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: tokenRequestBody(config, { code: cb.code, verifier: pending.verifier }),
      credentials: 'omit',
      cache: 'no-store',
      referrerPolicy: 'no-referrer',
    });
  } catch {
    return { error: 'network' };
  }
  if (!res.ok) return { error: 'exchange' };
  let body;
  try {
    body = await res.json();
  } catch {
    return { error: 'exchange' };
  }
  const token = body && typeof body.id_token === 'string' ? body.id_token : '';
  if (!token) return { error: 'exchange' };
  const claims = jwtClaims(token);
  if (!claims || typeof claims.nonce !== 'string' || !sameString(claims.nonce, pending.nonce)) return { error: 'nonce' };
  return { token };
}
