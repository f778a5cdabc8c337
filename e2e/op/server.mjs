// The OpenID provider of the endsession end-to-end suite.
//
// panva's oidc-provider (certified OpenID provider), configured from the
// environment, on 127.0.0.1 only. See e2e/README.md for the full contract:
// clients, accounts, the JSON event log and the /__test/ admin routes.
//
// stdout carries ONLY the event log, one JSON object per line. Everything
// else (the library's notices, our own diagnostics) goes to stderr.

import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { format } from 'node:util';

import Provider, { interactionPolicy } from 'oidc-provider';

// Keep stdout for events: the library prints its notices with console.info.
for (const name of ['log', 'info', 'warn', 'error', 'debug']) {
  // eslint-disable-next-line no-console
  console[name] = (...args) => { process.stderr.write(`${format(...args)}\n`); };
}

// ---------------------------------------------------------------- settings

function envInt(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  }
  return n;
}

function envURL(name, fallback) {
  const raw = process.env[name] || fallback;
  if (!raw) return undefined;
  const u = new URL(raw);
  if (!isLoopbackHost(u.hostname)) {
    throw new Error(`${name} must point at a loopback host, got ${raw}`);
  }
  return u.origin;
}

function isLoopbackHost(hostname) {
  return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]' || hostname === '::1';
}

const settings = {
  port: envInt('OP_PORT', 0),
  appURLs: [envURL('APP_URL', 'http://127.0.0.1:8080'), envURL('APP2_URL')].filter(Boolean),
  accessTokenTTL: envInt('AT_TTL', 60),
  idTokenTTL: envInt('IDT_TTL', 60),
  refreshTokenTTL: envInt('RT_TTL', 24 * 60 * 60),
  sessionTTL: envInt('SESSION_TTL', 24 * 60 * 60),
  // always: every refresh returns a new refresh token and consumes the old one
  // (re-use of a consumed one revokes the grant). never: the same refresh token
  // is kept. library: oidc-provider's default policy.
  refreshRotation: process.env.RT_ROTATE || 'always',
  bigClaimsBytes: envInt('BIG_CLAIMS_BYTES', 6000),
  issuerHost: process.env.OP_ISSUER_HOST || '127.0.0.1',
  // OP_HTTP_POST=1: the authorization and end-session endpoints accept POST
  // too (oidc-provider's enableHttpPostMethods).
  httpPost: process.env.OP_HTTP_POST === '1',
};
if (!['always', 'never', 'library'].includes(settings.refreshRotation)) {
  throw new Error(`RT_ROTATE must be always, never or library, got ${settings.refreshRotation}`);
}
if (!isLoopbackHost(settings.issuerHost)) {
  throw new Error(`OP_ISSUER_HOST must be a loopback host, got ${settings.issuerHost}`);
}

export const CLIENTS = {
  confidential: { id: 'endsession-confidential', secret: 'endsession-confidential-secret' },
  public: { id: 'endsession-public' },
  keyJWT: { id: 'endsession-keyjwt' },
};

// The private_key_jwt client's key, made at start-up: its public half is
// registered; the whole of it is handed to the tests by
// GET /__test/client-key (this provider serves tests on loopback only), so
// that no key is kept in the repository.
const clientKey = (() => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = `es256-${randomBytes(6).toString('hex')}`;
  const jwk = privateKey.export({ format: 'jwk' });
  const { d, ...pub } = jwk; // eslint-disable-line no-unused-vars
  return { private: { ...jwk, kid, alg: 'ES256' }, public: { ...pub, kid, alg: 'ES256', use: 'sig' } };
})();

// ------------------------------------------------------------------ events

const MAX_EVENTS = 10000;
const events = []; // the last MAX_EVENTS events, for GET /__test/events
let seq = 0;

function logEvent(event, fields = {}) {
  seq += 1;
  const line = { seq, time: new Date().toISOString(), event };
  for (const [k, v] of Object.entries(fields)) {
    if (v !== undefined && v !== null && v !== '') line[k] = v;
  }
  events.push(line);
  if (events.length > MAX_EVENTS) events.shift();
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

// tokenHash identifies a token in the log without printing it: the first 16
// hex digits of SHA-256 over the token value as the client holds it.
function tokenHash(value) {
  if (typeof value !== 'string' || value === '') return undefined;
  return createHash('sha256').update(value).digest('hex').slice(0, 16);
}

function errFields(err) {
  if (!err) return {};
  return {
    error: err.error || err.name || 'Error',
    error_description: err.error_description || err.message,
    error_detail: err.error_detail,
  };
}

function ctxFields(ctx) {
  const oidc = ctx?.oidc;
  if (!oidc) return {};
  let accountId;
  try {
    accountId = oidc.account?.accountId || oidc.session?.accountId;
  } catch { /* not loaded on this route */ }
  return {
    route: oidc.route,
    client_id: oidc.client?.clientId || oidc.params?.client_id,
    account_id: accountId,
  };
}

// ------------------------------------------------------------------ accounts

// Any login works at the development login page (any non-empty password);
// the login becomes the account id and the subject. The login "bigclaims"
// gets claims that make its ID token larger than 4 KB.
export const BIG_CLAIMS_ACCOUNT = 'bigclaims';

// The authentication context classes the provider knows (acr_values_supported).
// A login at its page counts as the first of them that the request's acr_values
// names: the test provider's stand-in for a stronger method. A login that asked
// for none gets no acr, as before. oidc-provider treats acr_values as voluntary
// and answers from an existing session whatever its acr; the login prompt's
// extra check below asks the user to sign in again when the session's acr is
// not one the request names, as a provider that steps up does.
export const ACR_VALUES = ['urn:endsession:e2e:password', 'urn:endsession:e2e:strong'];

function requestedACR(params) {
  return String(params?.acr_values ?? '').split(' ').find((v) => ACR_VALUES.includes(v));
}

function loginPolicy() {
  const policy = interactionPolicy.base();
  policy.get('login').checks.add(new interactionPolicy.Check('acr_values', 'the session does not have the requested acr', (ctx) => {
    const { oidc } = ctx;
    const wanted = String(oidc.params.acr_values ?? '').split(' ').filter(Boolean);
    if (wanted.length === 0 || !oidc.session.accountId || ctx.oidc.result?.login) {
      return interactionPolicy.Check.NO_NEED_TO_PROMPT;
    }
    return wanted.includes(oidc.session.acr) ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT;
  }));
  return policy;
}

// withRequestedACR makes the logins at the provider's page carry the acr
// their request asked for; see ACR_VALUES.
function withRequestedACR(provider) {
  const finished = provider.interactionFinished.bind(provider);
  provider.interactionFinished = async (req, res, result, options) => {
    if (result?.login && !result.login.acr) {
      const acr = requestedACR((await provider.interactionDetails(req, res)).params);
      if (acr) result = { ...result, login: { ...result.login, acr } };
    }
    return finished(req, res, result, options);
  };
}

function bigGroups(accountId, bytes) {
  // Hex from a hash chain: incompressible, so the ID token stays large even
  // where a cookie store compresses it.
  const groups = [];
  let size = 0;
  let h = Buffer.from(accountId);
  for (let i = 0; size < bytes; i += 1) {
    h = createHash('sha256').update(h).digest();
    const g = `group-${i}-${h.toString('hex')}`;
    groups.push(g);
    size += g.length + 3;
  }
  return groups;
}

function accountClaims(accountId) {
  const name = accountId.charAt(0).toUpperCase() + accountId.slice(1);
  const claims = {
    sub: accountId,
    name: `${name} Example`,
    given_name: name,
    family_name: 'Example',
    preferred_username: accountId,
    locale: 'en',
    email: `${accountId}@example.test`,
    email_verified: true,
  };
  if (accountId === BIG_CLAIMS_ACCOUNT) {
    claims.groups = bigGroups(accountId, settings.bigClaimsBytes);
  }
  return claims;
}

async function findAccount(ctx, sub) {
  if (typeof sub !== 'string' || sub === '') return undefined;
  return {
    accountId: sub,
    async claims() {
      return accountClaims(sub);
    },
  };
}

// --------------------------------------------------------------- provider

function uris(suffix) {
  return settings.appURLs.map((u) => `${u}${suffix}`);
}

function clientMetadata(base) {
  return {
    application_type: 'web',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    // The second is the callback of an app with several providers, where
    // this one is named "op" (RFC 9700's mix-up defence).
    redirect_uris: [...uris('/auth/callback'), ...uris('/auth/callback/op')],
    post_logout_redirect_uris: uris('/auth/logged-out'),
    // One back-channel URI per client: the first app's. Replicas share a
    // session store, so one notification reaches them all.
    backchannel_logout_uri: `${settings.appURLs[0]}/auth/backchannel-logout`,
    backchannel_logout_session_required: true,
    ...base,
  };
}

async function htmlPage(ctx, title, body) {
  ctx.type = 'html';
  ctx.body = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${title}</title></head><body>${body}</body></html>`;
}

function escapeHTML(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}

// Outgoing requests (back-channel logout) go to the apps under test on
// loopback only. The library's own guard refuses special-use addresses such as
// 127.0.0.1, so it is replaced by this stricter one.
async function loopbackFetch(url, options) {
  const u = new URL(url);
  if (!isLoopbackHost(u.hostname) || !['http:', 'https:'].includes(u.protocol)) {
    throw new Error(`refusing to fetch ${url}: the test provider only calls loopback`);
  }
  const { dispatcher, ...rest } = options; // eslint-disable-line no-unused-vars
  return globalThis.fetch(url, rest);
}

function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: `rs256-${randomBytes(6).toString('hex')}`, alg: 'RS256', use: 'sig' };
}

function configuration() {
  return {
    clients: [
      clientMetadata({
        client_id: CLIENTS.confidential.id,
        client_secret: CLIENTS.confidential.secret,
        token_endpoint_auth_method: 'client_secret_basic',
      }),
      clientMetadata({
        client_id: CLIENTS.public.id,
        token_endpoint_auth_method: 'none',
      }),
      // RFC 7523 client authentication at the token, revocation and PAR
      // endpoints; its logins must be pushed first (RFC 9126).
      clientMetadata({
        client_id: CLIENTS.keyJWT.id,
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: 'ES256',
        jwks: { keys: [clientKey.public] },
        require_pushed_authorization_requests: true,
      }),
    ],
    jwks: { keys: [signingKey()] },
    cookies: {
      // The apps are on 127.0.0.1 too and cookies ignore ports: prefix ours.
      names: { session: 'op_session', interaction: 'op_interaction', resume: 'op_interaction_resume' },
      keys: [randomBytes(32).toString('base64url')],
      // oidc-provider takes POST only with a SameSite=None session cookie,
      // which browsers keep only when Secure: loopback counts as secure.
      ...(settings.httpPost ? { long: { httpOnly: true, sameSite: 'none', secure: true } } : {}),
    },
    enableHttpPostMethods: settings.httpPost,
    findAccount,
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name', 'preferred_username', 'locale', 'groups'],
    },
    // Every claim of the granted scopes goes into the ID token, not only into
    // the userinfo response.
    conformIdTokenClaims: false,
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    responseTypes: ['code'],
    acrValues: ACR_VALUES,
    interactions: { policy: loginPolicy() },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => htmlPage(ctx, 'Logout Request', `
<h1>Do you want to sign-out from ${escapeHTML(ctx.host)}?</h1>
${form}
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>`),
        postLogoutSuccessSource: async (ctx) => htmlPage(ctx, 'Sign-out Success', `
<h1 id="op-logged-out">Sign-out Success</h1>
<p>Your sign-out ${ctx.oidc.client ? `with ${escapeHTML(ctx.oidc.client.clientName || ctx.oidc.client.clientId)}` : ''} was successful.</p>`),
      },
      backchannelLogout: { enabled: true },
      revocation: { enabled: true, allowedPolicy: async (ctx, client, token) => token.clientId === client.clientId },
      userinfo: { enabled: true },
    },
    // The confidential client always gets a refresh token; the public
    // client only with offline_access, as most providers do.
    issueRefreshToken: async (ctx, client, code) => client.grantTypeAllowed('refresh_token')
      && (client.clientAuthMethod !== 'none' || code.scopes.has('offline_access')),
    ...(settings.refreshRotation === 'library' ? {} : {
      rotateRefreshToken: () => settings.refreshRotation === 'always',
    }),
    pkce: {
      required: (ctx, client) => client.clientAuthMethod === 'none',
    },
    ttl: {
      AccessToken: settings.accessTokenTTL,
      AuthorizationCode: 60,
      IdToken: settings.idTokenTTL,
      RefreshToken: settings.refreshTokenTTL,
      Interaction: 60 * 60,
      Session: settings.sessionTTL,
      Grant: settings.sessionTTL,
    },
    clientBasedCORS: () => false,
    fetch: loopbackFetch,
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>oops! something went wrong</title></head><body><h1>oops! something went wrong</h1>${
        Object.entries(out).map(([k, v]) => `<pre><strong>${escapeHTML(k)}</strong>: <span class="${escapeHTML(k)}">${escapeHTML(v)}</span></pre>`).join('')}</body></html>`;
    },
  };
}

// ------------------------------------------------- sessions, for /__test/

// The memory adapter cannot be listed, so the ids of live sessions are kept
// here from the model events, for the admin logout.
const liveSessions = new Map(); // session id (jti) -> accountId

function watch(provider) {
  const on = (name, fn) => provider.on(name, (...args) => {
    try { fn(...args); } catch (e) { process.stderr.write(`event ${name}: ${e.stack}\n`); }
  });

  on('session.saved', (session) => {
    if (session.oldId) liveSessions.delete(session.oldId);
    if (session.accountId) liveSessions.set(session.jti, session.accountId);
  });
  on('session.destroyed', (session) => {
    liveSessions.delete(session.jti);
    logEvent('session.destroyed', { account_id: session.accountId });
  });

  on('interaction.started', (ctx, prompt) => logEvent('interaction.started', { ...ctxFields(ctx), prompt: prompt?.name }));
  on('interaction.ended', (ctx) => logEvent('interaction.ended', ctxFields(ctx)));
  on('authorization.success', (ctx) => logEvent('authorization.success', ctxFields(ctx)));
  on('authorization.error', (ctx, err) => logEvent('authorization.error', { ...ctxFields(ctx), ...errFields(err) }));

  on('grant.success', (ctx) => {
    const { oidc } = ctx;
    const used = oidc.entities.RefreshToken || oidc.entities.AuthorizationCode;
    logEvent('grant.success', {
      ...ctxFields(ctx),
      grant_type: oidc.params?.grant_type,
      account_id: used?.accountId,
      grant_id: used?.grantId,
      refresh_token_hash: oidc.params?.grant_type === 'refresh_token' ? tokenHash(oidc.params.refresh_token) : undefined,
      refresh_token_rotated: oidc.entities.RotatedRefreshToken ? true : undefined,
    });
  });
  on('grant.error', (ctx, err) => logEvent('grant.error', {
    ...ctxFields(ctx), grant_type: ctx.oidc?.params?.grant_type, ...errFields(err),
  }));
  on('grant.revoked', (ctx, grantId) => logEvent('grant.revoked', { ...ctxFields(ctx), grant_id: grantId }));

  for (const kind of ['refresh_token', 'access_token', 'authorization_code']) {
    on(`${kind}.consumed`, (token) => logEvent(`${kind}.consumed`, {
      client_id: token.clientId, account_id: token.accountId, grant_id: token.grantId, token_hash: tokenHash(token.jti),
    }));
    on(`${kind}.destroyed`, (token) => logEvent(`${kind}.destroyed`, {
      client_id: token.clientId, account_id: token.accountId, grant_id: token.grantId, token_hash: tokenHash(token.jti),
    }));
  }

  on('revocation.error', (ctx, err) => logEvent('revocation.error', { ...ctxFields(ctx), ...errFields(err) }));
  on('userinfo.error', (ctx, err) => logEvent('userinfo.error', { ...ctxFields(ctx), ...errFields(err) }));
  on('end_session.error', (ctx, err) => logEvent('end_session.error', { ...ctxFields(ctx), ...errFields(err) }));
  on('end_session_confirm.error', (ctx, err) => logEvent('end_session_confirm.error', { ...ctxFields(ctx), ...errFields(err) }));
  on('end_session.success', (ctx) => logEvent('end_session.success', {
    ...ctxFields(ctx),
    account_id: ctx.oidc?.session?.accountId,
    signed_out_of_op: ctx.oidc?.params?.logout ? true : false,
  }));
  on('backchannel.success', (ctx, client, accountId, sid) => logEvent('backchannel.success', {
    client_id: client.clientId, account_id: accountId, sid, uri: client.backchannelLogoutUri, via: ctx ? 'end_session' : 'admin',
  }));
  on('backchannel.error', (ctx, err, client, accountId, sid) => logEvent('backchannel.error', {
    client_id: client.clientId, account_id: accountId, sid, uri: client.backchannelLogoutUri, via: ctx ? 'end_session' : 'admin', ...errFields(err),
  }));
  on('server_error', (ctx, err) => {
    logEvent('server_error', { ...ctxFields(ctx), ...errFields(err) });
    process.stderr.write(`server_error: ${err?.stack}\n`);
  });
}

// The development login and consent pages import a web font from the
// internet. The browser under test must only ever talk to loopback, so the
// import is cut from every HTML page the provider renders.
function localPagesOnly(provider) {
  provider.use(async (ctx, next) => {
    await next();
    if (typeof ctx.body === 'string' && ctx.response.is('html')) {
      ctx.body = ctx.body.replace(/@import url\(https?:[^)]*\);?/g, '');
    }
  });
}

// One line per request on the provider's routes, after the response is made.
function requestLog(provider) {
  provider.use(async (ctx, next) => {
    await next();
    const route = ctx.oidc?.route;
    const fields = {
      method: ctx.method, path: ctx.path, status: ctx.status, ...ctxFields(ctx),
    };
    if (route === 'end_session' || route === 'end_session_confirm') {
      const p = ctx.oidc?.params || {};
      Object.assign(fields, {
        id_token_hint: p.id_token_hint ? true : undefined,
        post_logout_redirect_uri: p.post_logout_redirect_uri,
        state: p.state,
        logout_hint: p.logout_hint,
        location: ctx.response.get('location') || undefined,
      });
    }
    if (route === 'revocation') {
      const p = ctx.oidc?.params || {};
      Object.assign(fields, { token_type_hint: p.token_type_hint, token_hash: tokenHash(p.token) });
    }
    if (route === 'authorization' || route === 'resume') {
      fields.location = ctx.response.get('location') || undefined;
    }
    if (route === 'authorization') {
      // The names of the query's parameters: a pushed request carries
      // only client_id and request_uri.
      fields.query = Object.keys(ctx.query).sort().join(' ') || undefined;
    }
    if (['token', 'revocation', 'pushed_authorization_request'].includes(route)) {
      fields.client_assertion = ctx.oidc?.body?.client_assertion ? true : undefined;
    }
    logEvent('http.request', fields);
  });
}

// ------------------------------------------------------------- /__test/

function sendJSON(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(text);
}

async function readParams(req, url) {
  const params = new URLSearchParams(url.search);
  if (req.method === 'POST') {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks).toString('utf8');
    if (body) {
      const type = req.headers['content-type'] || '';
      const parsed = type.includes('json')
        ? Object.entries(JSON.parse(body)).map(([k, v]) => [k, String(v)])
        : new URLSearchParams(body);
      for (const [k, v] of parsed) params.set(k, v);
    }
  }
  return params;
}

async function revokeGrant(provider, grantId) {
  await Promise.all([
    provider.AccessToken.revokeByGrantId(grantId),
    provider.RefreshToken.revokeByGrantId(grantId),
    provider.AuthorizationCode.revokeByGrantId(grantId),
    provider.Grant.adapter.destroy(grantId),
  ]);
  provider.emit('grant.revoked', undefined, grantId);
}

// Ends the provider sessions of an account (sub=) or the one session that
// holds a sid (sid=), as "Yes, sign me out" would from another device:
// a back-channel logout token to every client of the session that has a
// backchannel_logout_uri, the grants revoked (unless revoke=false), the
// session destroyed.
async function adminLogout(provider, params) {
  const sub = params.get('sub');
  const sid = params.get('sid');
  const revoke = params.get('revoke') !== 'false';
  if (!sub && !sid) return [400, { error: 'sub or sid is required' }];

  const result = { sessions: 0, backchannel: [] };
  for (const [id, accountId] of [...liveSessions]) {
    if (sub && accountId !== sub) continue;
    const session = await provider.Session.find(id);
    if (!session) { liveSessions.delete(id); continue; }
    const authorizations = session.authorizations || {};
    if (sid && !Object.values(authorizations).some((a) => a.sid === sid)) continue;

    result.sessions += 1;
    await Promise.all(Object.keys(authorizations).map(async (clientId) => {
      const client = await provider.Client.find(clientId);
      if (!client?.backchannelLogoutUri) return;
      const clientSid = session.sidFor(clientId);
      const item = { client_id: clientId, sid: clientSid, account_id: session.accountId };
      try {
        await client.backchannelLogout(session.accountId, clientSid);
        item.ok = true;
        provider.emit('backchannel.success', undefined, client, session.accountId, clientSid);
      } catch (err) {
        item.ok = false;
        item.error = err.message;
        provider.emit('backchannel.error', undefined, err, client, session.accountId, clientSid);
      }
      result.backchannel.push(item);
    }));
    if (revoke) {
      await Promise.all(Object.values(authorizations)
        .filter((a) => a.grantId)
        .map((a) => revokeGrant(provider, a.grantId)));
    }
    await session.destroy();
  }
  logEvent('admin.logout', {
    sub, sid, sessions: result.sessions, notified: result.backchannel.length,
  });
  return [200, result];
}

// Counts the live provider sessions of an account (sub=) or the one session
// that issued a sid (sid=): the sessions that the provider still finds (not
// ended, not expired).
async function countSessions(provider, params) {
  const sub = params.get('sub');
  const sid = params.get('sid');
  if (!sub && !sid) return [400, { error: 'sub or sid is required' }];
  let sessions = 0;
  for (const [id, accountId] of [...liveSessions]) {
    if (sub && accountId !== sub) continue;
    const session = await provider.Session.find(id);
    if (!session) { liveSessions.delete(id); continue; }
    if (sid && !Object.values(session.authorizations || {}).some((a) => a.sid === sid)) continue;
    sessions += 1;
  }
  return [200, { sessions }];
}

// Signs a logout token for a client without sending it, so that a test can
// post it itself (replay, wrong sid, and so on).
async function adminLogoutToken(provider, params) {
  const clientId = params.get('client_id') || CLIENTS.confidential.id;
  const sub = params.get('sub');
  const sid = params.get('sid');
  if (!sub && !sid) return [400, { error: 'sub or sid is required' }];
  const client = await provider.Client.find(clientId);
  if (!client) return [404, { error: `unknown client ${clientId}` }];
  const token = new provider.IdToken(sub ? { sub } : {}, { client, ctx: undefined });
  token.mask = sub ? { sub: null } : {};
  token.set('events', { 'http://schemas.openid.net/event/backchannel-logout': {} });
  token.set('jti', randomBytes(16).toString('base64url'));
  if (sid) token.set('sid', sid);
  return [200, { logout_token: await token.issue({ use: 'logout' }) }];
}

function adminHandler(provider) {
  return async (req, res, url) => {
    const remote = req.socket.remoteAddress || '';
    if (!['127.0.0.1', '::1', '::ffff:127.0.0.1'].includes(remote)) {
      sendJSON(res, 403, { error: 'loopback only' });
      return;
    }
    try {
      const params = await readParams(req, url);
      switch (`${req.method} ${url.pathname}`) {
        case 'GET /__test/client-key':
          sendJSON(res, 200, { client_id: CLIENTS.keyJWT.id, jwk: clientKey.private });
          return;
        case 'GET /__test/health':
          sendJSON(res, 200, { ok: true, issuer: provider.issuer });
          return;
        case 'GET /__test/events': {
          const since = Number(params.get('since') || 0);
          const name = params.get('event');
          const list = events.filter((e) => e.seq > since && (!name || e.event === name));
          sendJSON(res, 200, { events: list, last: seq });
          return;
        }
        case 'GET /__test/sessions': {
          const [status, body] = await countSessions(provider, params);
          sendJSON(res, status, body);
          return;
        }
        case 'POST /__test/logout': {
          const [status, body] = await adminLogout(provider, params);
          sendJSON(res, status, body);
          return;
        }
        case 'POST /__test/logout-token': {
          const [status, body] = await adminLogoutToken(provider, params);
          sendJSON(res, status, body);
          return;
        }
        default:
          sendJSON(res, 404, { error: `no such admin route: ${req.method} ${url.pathname}` });
      }
    } catch (err) {
      process.stderr.write(`admin: ${err.stack}\n`);
      sendJSON(res, 500, { error: err.message });
    }
  };
}

// -------------------------------------------------------------------- main

const server = createServer();
server.listen(settings.port, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://${settings.issuerHost}:${port}`;
  const provider = new Provider(issuer, configuration());
  withRequestedACR(provider);
  if (settings.httpPost) {
    // Secure cookies over plain http to loopback, which browsers accept:
    // every context the provider makes may set them.
    const createContext = provider.createContext.bind(provider);
    provider.createContext = (req, res) => {
      const ctx = createContext(req, res);
      ctx.cookies.secure = true;
      return ctx;
    };
  }
  watch(provider);
  requestLog(provider);
  localPagesOnly(provider);
  const oidc = provider.callback();
  const admin = adminHandler(provider);
  server.on('request', (req, res) => {
    const url = new URL(req.url, issuer);
    if (url.pathname.startsWith('/__test/')) {
      admin(req, res, url);
    } else {
      oidc(req, res);
    }
  });
  logEvent('op.listening', {
    issuer,
    apps: settings.appURLs,
    access_token_ttl: settings.accessTokenTTL,
    id_token_ttl: settings.idTokenTTL,
    refresh_rotation: settings.refreshRotation,
    http_post: settings.httpPost || undefined,
  });
});

function shutdown() {
  server.close();
  server.closeAllConnections();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
