// OpenID Connect authorization-code flow with PKCE (RFC 7636, S256): the
// pure helpers. Works in browsers and in Node 20 (globalThis.crypto).

const cryptoImpl = () => globalThis.crypto;

/** base64url without padding of bytes (Uint8Array or ArrayBuffer). */
export function base64url(bytes) {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let bin = '';
  for (const x of b) bin += String.fromCharCode(x);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Decodes base64url (padding optional) to a string of UTF-8 text. */
export function base64urlDecodeText(s) {
  let b64 = String(s).replace(/-/g, '+').replace(/_/g, '/');
  while (b64.length % 4) b64 += '=';
  const bin = atob(b64);
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/** A random string of n bytes' entropy, base64url (32 bytes → 43 characters). */
export function randomString(n = 32, crypto = cryptoImpl()) {
  const b = new Uint8Array(n);
  crypto.getRandomValues(b);
  return base64url(b);
}

/** A code verifier: 43 characters of the unreserved alphabet (RFC 7636 §4.1). */
export function createVerifier(crypto = cryptoImpl()) {
  return randomString(32, crypto);
}

/** The S256 code challenge of verifier: base64url(SHA-256(ASCII(verifier))). */
export async function codeChallenge(verifier, crypto = cryptoImpl()) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(digest);
}

/** The authorization request's URL (a string). */
export function authorizeUrl(config, { state, nonce, challenge }) {
  const u = new URL(config.authorizeUrl);
  u.searchParams.set('response_type', 'code');
  u.searchParams.set('client_id', config.clientId);
  u.searchParams.set('redirect_uri', config.redirectUri);
  u.searchParams.set('scope', config.scope || 'openid');
  u.searchParams.set('state', state);
  u.searchParams.set('nonce', nonce);
  u.searchParams.set('code_challenge', challenge);
  u.searchParams.set('code_challenge_method', 'S256');
  return u.toString();
}

/** The token request's form body (application/x-www-form-urlencoded). */
export function tokenRequestBody(config, { code, verifier }) {
  const p = new URLSearchParams();
  p.set('grant_type', 'authorization_code');
  p.set('code', code);
  p.set('redirect_uri', config.redirectUri);
  p.set('client_id', config.clientId);
  p.set('code_verifier', verifier);
  return p.toString();
}

/**
 * What the redirect back carries: {code, state} or {error}, or null when
 * the query has neither (an ordinary visit).
 */
export function parseCallback(search) {
  const q = new URLSearchParams(search);
  if (q.has('error')) return { error: q.get('error') || 'error', state: q.get('state') || '' };
  if (q.has('code')) return { code: q.get('code') || '', state: q.get('state') || '' };
  return null;
}

/** The claims of a JWT's payload, unverified (the API verifies it); null if malformed. */
export function jwtClaims(token) {
  const parts = String(token || '').split('.');
  if (parts.length !== 3) return null;
  try {
    const c = JSON.parse(base64urlDecodeText(parts[1]));
    return c && typeof c === 'object' && !Array.isArray(c) ? c : null;
  } catch {
    return null;
  }
}

/** Compares two strings in time independent of where they differ. */
export function sameString(a, b) {
  a = String(a);
  b = String(b);
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a.charCodeAt(i) || 0) ^ (b.charCodeAt(i) || 0);
  return diff === 0;
}
