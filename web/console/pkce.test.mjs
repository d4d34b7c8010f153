import { test } from 'node:test';
import assert from 'node:assert/strict';
import { base64url, createVerifier, codeChallenge, authorizeUrl, tokenRequestBody, parseCallback, jwtClaims, sameString, randomString } from './pkce.js';
import { startSignIn, completeSignIn, PENDING_KEY } from './oidc.js';

test('S256 challenge of the RFC 7636 appendix B example', async () => {
  assert.equal(await codeChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'), 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
});

test('verifiers are 43 unreserved characters and differ', () => {
  const a = createVerifier();
  const b = createVerifier();
  assert.match(a, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(a, b);
  assert.match(randomString(16), /^[A-Za-z0-9_-]{22}$/);
});

test('base64url has no padding and no + or /', () => {
  assert.equal(base64url(new Uint8Array([0xfb, 0xff, 0xfe])), '-__-');
  assert.equal(base64url(new Uint8Array([1])), 'AQ');
});

const config = { authorizeUrl: 'https://idp.example/oauth2/authorize?x=1', tokenUrl: 'https://idp.example/oauth2/token', clientId: 'client 1', redirectUri: 'https://dsr.example/console/', scope: 'openid email' };

test('authorize URL carries the PKCE challenge, state and nonce', () => {
  const u = new URL(authorizeUrl(config, { state: 's', nonce: 'n', challenge: 'c' }));
  assert.equal(u.origin + u.pathname, 'https://idp.example/oauth2/authorize');
  assert.equal(u.searchParams.get('x'), '1');
  assert.equal(u.searchParams.get('response_type'), 'code');
  assert.equal(u.searchParams.get('client_id'), 'client 1');
  assert.equal(u.searchParams.get('redirect_uri'), 'https://dsr.example/console/');
  assert.equal(u.searchParams.get('scope'), 'openid email');
  assert.equal(u.searchParams.get('state'), 's');
  assert.equal(u.searchParams.get('nonce'), 'n');
  assert.equal(u.searchParams.get('code_challenge'), 'c');
  assert.equal(u.searchParams.get('code_challenge_method'), 'S256');
});

test('token request body', () => {
  const p = new URLSearchParams(tokenRequestBody(config, { code: 'abc', verifier: 'v' }));
  assert.deepEqual(Object.fromEntries(p), { grant_type: 'authorization_code', code: 'abc', redirect_uri: 'https://dsr.example/console/', client_id: 'client 1', code_verifier: 'v' });
});

test('callback parsing', () => {
  assert.equal(parseCallback(''), null);
  assert.equal(parseCallback('?lang=de'), null);
  assert.deepEqual(parseCallback('?code=c&state=s'), { code: 'c', state: 's' });
  assert.deepEqual(parseCallback('?error=access_denied&state=s'), { error: 'access_denied', state: 's' });
});

const jwt = (claims) => ['e30', Buffer.from(JSON.stringify(claims)).toString('base64url'), 'sig'].join('.');

test('JWT claims, unverified', () => {
  assert.deepEqual(jwtClaims(jwt({ sub: 'dpo-1', nonce: 'ü' })), { sub: 'dpo-1', nonce: 'ü' });
  assert.equal(jwtClaims('nope'), null);
  assert.equal(jwtClaims('a.b.c'), null);
  assert.ok(sameString('abc', 'abc'));
  assert.ok(!sameString('abc', 'abd'));
  assert.ok(!sameString('abc', 'abcd'));
});

function memoryStorage() {
  const m = new Map();
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)), removeItem: (k) => m.delete(k), map: m };
}

test('the whole flow: start, callback, exchange, nonce checked, secrets removed', async () => {
  const storage = memoryStorage();
  let went = '';
  await startSignIn(config, { storage, assign: (u) => { went = u; } });
  const u = new URL(went);
  const pending = JSON.parse(storage.getItem(PENDING_KEY));
  assert.equal(u.searchParams.get('state'), pending.state);
  assert.equal(u.searchParams.get('nonce'), pending.nonce);
  assert.equal(u.searchParams.get('code_challenge'), await codeChallenge(pending.verifier));
  assert.ok(!went.includes(pending.verifier));

  let replaced = 0;
  let sent;
  const idToken = jwt({ sub: 'dpo-1', nonce: pending.nonce });
  const out = await completeSignIn(config, {
    search: `?code=the-code&state=${encodeURIComponent(pending.state)}`,
    storage,
    replaceUrl: () => { replaced++; },
    fetchImpl: async (url, init) => { sent = { url, init }; return { ok: true, json: async () => ({ id_token: idToken, access_token: 'x' }) }; },
  });
  assert.deepEqual(out, { token: idToken });
  assert.equal(replaced, 1);
  assert.equal(storage.getItem(PENDING_KEY), null);
  assert.equal(sent.url, config.tokenUrl);
  assert.equal(sent.init.method, 'POST');
  assert.equal(sent.init.headers['Content-Type'], 'application/x-www-form-urlencoded');
  const body = new URLSearchParams(sent.init.body);
  assert.equal(body.get('code'), 'the-code');
  assert.equal(body.get('code_verifier'), pending.verifier);
  assert.equal(body.get('grant_type'), 'authorization_code');
});

test('a wrong state is refused without asking the token endpoint', async () => {
  const storage = memoryStorage();
  storage.setItem(PENDING_KEY, JSON.stringify({ verifier: 'v', state: 'right', nonce: 'n' }));
  let asked = false;
  const out = await completeSignIn(config, { search: '?code=c&state=wrong', storage, replaceUrl: () => {}, fetchImpl: async () => { asked = true; } });
  assert.deepEqual(out, { error: 'state' });
  assert.equal(asked, false);
  assert.equal(storage.getItem(PENDING_KEY), null);
});

test('a callback without a pending sign-in, a provider error, a wrong nonce, a failed exchange', async () => {
  const none = await completeSignIn(config, { search: '?code=c&state=s', storage: memoryStorage(), replaceUrl: () => {}, fetchImpl: async () => { throw new Error('no'); } });
  assert.deepEqual(none, { error: 'state' });
  const prov = await completeSignIn(config, { search: '?error=access_denied', storage: memoryStorage(), replaceUrl: () => {} });
  assert.deepEqual(prov, { error: 'provider' });
  const pendingStore = () => { const s = memoryStorage(); s.setItem(PENDING_KEY, JSON.stringify({ verifier: 'v', state: 's', nonce: 'n' })); return s; };
  const nonce = await completeSignIn(config, { search: '?code=c&state=s', storage: pendingStore(), replaceUrl: () => {}, fetchImpl: async () => ({ ok: true, json: async () => ({ id_token: jwt({ nonce: 'other' }) }) }) });
  assert.deepEqual(nonce, { error: 'nonce' });
  const bad = await completeSignIn(config, { search: '?code=c&state=s', storage: pendingStore(), replaceUrl: () => {}, fetchImpl: async () => ({ ok: false, json: async () => ({}) }) });
  assert.deepEqual(bad, { error: 'exchange' });
  const net = await completeSignIn(config, { search: '?code=c&state=s', storage: pendingStore(), replaceUrl: () => {}, fetchImpl: async () => { throw new TypeError('offline'); } });
  assert.deepEqual(net, { error: 'network' });
  assert.equal(await completeSignIn(config, { search: '', storage: memoryStorage(), replaceUrl: () => { throw new Error('not called'); } }), null);
});
