// The interop suite's OAuth 2.0 authorization server: oidc-provider (OpenID
// Certified), configured like a provider a printer meets, on loopback only.
//
//   node provider.mjs <config.json>
//
// config.json (written by run.sh): { "https_port", "http_port", "cert", "key",
// "introspection_secret", "short_ttl", "app_secret" }.
//
// - HTTPS on 127.0.0.1:https_port is the issuer: the printer's drivers reach
//   the device, token, authorize and revocation endpoints there, verifying
//   the certificate against the run's private CA.
// - Plain HTTP on 127.0.0.1:http_port serves only the introspection
//   endpoint, to Dovecot's introspection client (no CA file to configure
//   there). Both listeners bind 127.0.0.1 and nothing else.
//
// Flows: device authorization grant, authorization code with PKCE (S256,
// required), refresh tokens rotated on every use, introspection and
// revocation. Access tokens are opaque, for the resource `urn:mfp:smtp` with
// scope `smtp` (what Dovecot's passdb requires) or `other` (a token without
// the SMTP scope). The client `mfp-printer-short` gets access tokens that
// live `short_ttl` seconds, so tests can watch one expire.
//
// oidc-provider never sends `interval` nor `slow_down` by itself; the small
// middleware below adds `interval: 1` to device authorization responses (a
// fast test; the product honours whatever comes) and answers `slow_down` to
// the first device-token poll of each device code issued to the client
// `mfp-printer-slow` (keyed by client, so tests can run side by side).
//
// App-only sign-in (R-APP, issue 18 item 7):
// - `mfp-app-secret`: client credentials grant with `client_secret_post`
//   (the printer sends `client_secret` in the form body); its secret is
//   `app_secret` of config.json (random per run).
// - `mfp-app-cert`: client credentials grant with `private_key_jwt`; its
//   JWKS holds the public key of the test certificate
//   host/tests/data/TEST-ONLY-app-cert.pem (derived here at start, with the
//   certificate's `x5t#S256`). Like Microsoft Entra, the assertion's
//   `x5t#S256` header must name that certificate (checked below).
// - Service accounts: the JWT bearer grant (RFC 7523 §2.1) registered with
//   `registerGrantType` (oidc-provider has none): the assertion's RS256
//   signature is verified with the account's public key (the same test
//   key), its `iss`, `aud` (the token endpoint), `iat`/`exp`, `scope`;
//   `sub` must be a mailbox of the domain (else `invalid_grant`, Google's
//   "Invalid email or User ID"), and the account must have domain-wide
//   delegation (else `unauthorized_client`, as Google answers). The grant
//   issues an access token whose subject is the mailbox. Google's token
//   endpoint needs no client authentication for this grant (RFC 7523
//   §3.1), oidc-provider always wants a client: the middleware names the
//   client from the assertion's `iss` (unverified there; the grant verifies
//   the signature), and the account is a client with method `none`.
// - App-only tokens are opaque `ClientCredentials` tokens. Dovecot takes the
//   user from the introspection's `sub` (username_attribute in run.sh) and
//   wants `active: true` and scope `smtp`: `extraTokenClaims` gives each
//   app's token the mailbox the app may send as (APP_MAILBOX, like the
//   mailbox an Exchange administrator grants an app) as `sub`, which the
//   introspection answer carries at its top level.
//
// Every token request is logged as one `seen {json}` line (grant type,
// client authentication method, the assertion's header and claims, never
// a secret nor a signature) and every introspection as one
// `introspected {json}` line (client, active, sub, scope; never the token):
// the interop tests read provider.log to check what the provider saw.

import * as crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import Provider, { errors } from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const HOST = '127.0.0.1';
const issuer = `https://${HOST}:${config.https_port}`;
const RESOURCE = 'urn:mfp:smtp';
const DEVICE = 'urn:ietf:params:oauth:grant-type:device_code';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const TOKEN_ENDPOINT = `${issuer}/token`;

// The test certificate and key of host/tests/data (TEST-ONLY: generated
// for the tests, registered nowhere).
const testData = (name) => new URL(`../../host/tests/data/${name}`, import.meta.url);
const appCert = new crypto.X509Certificate(readFileSync(testData('TEST-ONLY-app-cert.pem')));
const appPublicJwk = {
  ...appCert.publicKey.export({ format: 'jwk' }),
  use: 'sig',
  'x5t#S256': Buffer.from(appCert.fingerprint256.replaceAll(':', ''), 'hex').toString('base64url'),
};
// The mailbox each app-only client may send as (its tokens' `sub`).
const APP_MAILBOX = {
  'mfp-app-secret': 'admin@contoso.test',
  'mfp-app-cert': 'admin@contoso.test',
};
// The mailboxes of the service accounts' domain.
const DOMAIN_USERS = new Set(['admin@contoso.test', 'scan@contoso.test']);
// Service accounts: their public key (TEST-ONLY: the same test key), key id,
// and whether domain-wide delegation is granted for the `smtp` scope.
const SERVICE_ACCOUNTS = new Map([
  ['mfp-scan@interop-project.iam.gserviceaccount.test',
    { kid: 'TEST-ONLY-key-1', key: appCert.publicKey, delegated: true }],
  ['mfp-nodelegation@interop-project.iam.gserviceaccount.test',
    { kid: 'TEST-ONLY-key-1', key: appCert.publicKey, delegated: false }],
]);
const appOnly = (id, auth) => ({
  client_id: id,
  token_endpoint_auth_method: auth,
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  scope: 'smtp',
});

const printer = (id) => ({
  client_id: id,
  application_type: 'native',
  token_endpoint_auth_method: 'none',
  grant_types: [DEVICE, 'authorization_code', 'refresh_token'],
  response_types: ['code'],
  // Native clients: a loopback redirect on any port (RFC 8252 §7.3).
  redirect_uris: [`http://${HOST}/`],
});

const provider = new Provider(issuer, {
  clients: [
    printer('mfp-printer'),
    printer('mfp-printer-short'),
    printer('mfp-printer-slow'),
    printer('mfp-printer-long'),
    { ...appOnly('mfp-app-secret', 'client_secret_post'), client_secret: config.app_secret },
    { ...appOnly('mfp-app-cert', 'private_key_jwt'), jwks: { keys: [appPublicJwk] } },
    ...[...SERVICE_ACCOUNTS.keys()].map((id) => ({
      client_id: id,
      token_endpoint_auth_method: 'none',
      grant_types: [JWT_BEARER],
      response_types: [],
      redirect_uris: [],
      scope: 'smtp',
    })),
    {
      // Dovecot's oauth2 passdb authenticates to the introspection endpoint.
      client_id: 'dovecot',
      client_secret: config.introspection_secret,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: [],
      response_types: [],
      redirect_uris: [],
    },
  ],
  scopes: ['openid', 'offline_access', 'smtp', 'other'],
  features: {
    devInteractions: { enabled: true },
    deviceFlow: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, indicator, client) => ({
        scope: 'smtp other',
        audience: RESOURCE,
        accessTokenFormat: 'opaque',
        accessTokenTTL: client.clientId === 'mfp-printer-short' ? config.short_ttl : 3600,
      }),
    },
  },
  // The app's mailbox as the `sub` of its client credentials tokens (see
  // the top); introspection returns these claims at its top level.
  extraTokenClaims: (ctx, token) => (token.kind === 'ClientCredentials' && APP_MAILBOX[token.clientId]
    ? { sub: APP_MAILBOX[token.clientId] } : undefined),
  // Like Microsoft Entra: a certificate credential's assertion names the
  // registered certificate by its SHA-256 thumbprint.
  assertJwtClientAuthClaimsAndHeader: (ctx, claims, header, client) => {
    const registered = client.jwks?.keys?.map((k) => k['x5t#S256']) ?? [];
    if (registered.length && !registered.includes(header['x5t#S256'])) {
      throw new errors.InvalidClientAuth('x5t#S256 names no certificate of this client');
    }
  },
  pkce: { required: () => true },
  // Every printer grant gets a refresh token (no `offline_access` or
  // `prompt=consent` needed), rotated on every use.
  issueRefreshToken: (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: () => true,
  // Introspection is for Dovecot only.
  // (The default policy already refuses public clients other tokens.)
});

// The JWT bearer grant of a service account (RFC 7523 §2.1, §3).
const b64json = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
function decodeJwt(jwt) {
  const parts = typeof jwt === 'string' ? jwt.split('.') : [];
  if (parts.length !== 3) return null;
  try {
    return { header: b64json(parts[0]), claims: b64json(parts[1]), parts };
  } catch {
    return null;
  }
}
// An error with Google's words as its error_description (oidc-provider's
// own descriptions are generic; its detail stays in the `seen` line).
function google(Kind, description) {
  const e = new Kind(description);
  e.error_description = description;
  return e;
}
provider.registerGrantType(JWT_BEARER, async (ctx) => {
  const { client } = ctx.oidc;
  const account = SERVICE_ACCOUNTS.get(client.clientId);
  const jwt = decodeJwt(ctx.oidc.params.assertion);
  if (!account || !jwt) throw google(errors.InvalidGrant, 'Invalid JWT: assertion');
  const { header, claims, parts } = jwt;
  const now = Math.floor(Date.now() / 1000);
  const skew = 60;
  const signed = header.alg === 'RS256' && crypto.verify(
    'sha256',
    Buffer.from(`${parts[0]}.${parts[1]}`),
    account.key,
    Buffer.from(parts[2], 'base64url'),
  );
  if (!signed || (header.kid !== undefined && header.kid !== account.kid)) {
    throw google(errors.InvalidGrant, 'Invalid JWT Signature.');
  }
  if (claims.iss !== client.clientId) throw google(errors.InvalidGrant, 'Invalid JWT: iss');
  if (claims.aud !== TOKEN_ENDPOINT) throw google(errors.InvalidGrant, 'Invalid JWT: aud');
  if (typeof claims.iat !== 'number' || typeof claims.exp !== 'number'
      || claims.iat > now + skew || claims.exp <= now - skew || claims.exp - claims.iat > 3600) {
    throw google(errors.InvalidGrant, 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.');
  }
  const scopes = new Set(String(claims.scope ?? '').split(' '));
  if (!scopes.has('smtp')) throw new errors.InvalidScope('the smtp scope is required', 'smtp');
  if (typeof claims.sub !== 'string' || !DOMAIN_USERS.has(claims.sub)) {
    throw google(errors.InvalidGrant, 'Invalid email or User ID');
  }
  if (!account.delegated) {
    throw google(errors.UnauthorizedClient, 'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.');
  }
  const grant = new provider.Grant({ accountId: claims.sub, clientId: client.clientId });
  grant.addResourceScope(RESOURCE, 'smtp');
  const grantId = await grant.save();
  const at = new provider.AccessToken({
    accountId: claims.sub,
    client,
    grantId,
    gty: 'jwt-bearer',
    scope: 'smtp',
  });
  at.resourceServer = new provider.ResourceServer(RESOURCE, {
    scope: 'smtp', audience: RESOURCE, accessTokenFormat: 'opaque', accessTokenTTL: 3600,
  });
  ctx.oidc.entity('AccessToken', at);
  const value = await at.save();
  ctx.body = {
    access_token: value, expires_in: at.expiration, token_type: 'Bearer', scope: 'smtp',
  };
}, ['assertion']);

// What a token request carried, for the `seen` log line: never a secret
// nor a signature.
function sighting(ctx, form) {
  const assertion = decodeJwt(form.get('client_assertion') ?? form.get('assertion') ?? undefined);
  let secretIn = null;
  if (form.has('client_secret')) secretIn = 'body';
  else if (ctx.headers.authorization) secretIn = 'header';
  return {
    client_id: ctx.oidc?.client?.clientId ?? form.get('client_id'),
    grant_type: form.get('grant_type'),
    auth_method: ctx.oidc?.client?.clientAuthMethod ?? null,
    secret_in: secretIn,
    client_id_in_body: form.has('client_id'),
    scope: form.get('scope'),
    client_assertion_type: form.get('client_assertion_type'),
    assertion: assertion && { header: assertion.header, claims: assertion.claims },
    status: ctx.status,
    error: ctx.body?.error ?? null,
    error_description: ctx.body?.error_description ?? null,
    // oidc-provider's reason for a refusal (not sent to the client).
    detail: ctx.state.errorDetail ?? null,
  };
}
provider.on('grant.error', (ctx, err) => {
  ctx.state.errorDetail = err.error_detail ?? null;
});

// Microsoft's access tokens are JWTs of 2,000 to 3,000 octets, too long
// for an AUTH line with the initial response (RFC 4954 §4). oidc-provider
// issues short opaque tokens (and cannot introspect its JWT ones), so the
// tokens of `mfp-printer-long` are lengthened here to LONG_TOKEN_LEN octets:
// the real token, a dot, and a MAC of it under a key of this run. The
// introspection endpoint (Dovecot's check) accepts a lengthened token only
// with the right MAC and then introspects the real one, so a long token is
// exactly as valid, and as revocable, as the one it carries.
const LONG_TOKEN_LEN = 2500;
const lengthened = new Set(['mfp-printer-long']);
const macKey = crypto.randomBytes(32);
function pad(token) {
  let out = '';
  for (let i = 0; out.length < LONG_TOKEN_LEN - token.length - 1; i += 1) {
    out += crypto.createHmac('sha256', macKey).update(`${i}:${token}`).digest('base64url');
  }
  return out.slice(0, LONG_TOKEN_LEN - token.length - 1);
}
function lengthen(token) {
  return `${token}.${pad(token)}`;
}
function unlengthen(value) {
  if (value.length !== LONG_TOKEN_LEN) return null;
  const dot = value.indexOf('.');
  if (dot < 1) return null;
  const token = value.slice(0, dot);
  const given = Buffer.from(value.slice(dot + 1));
  const want = Buffer.from(pad(token));
  return given.length === want.length && crypto.timingSafeEqual(given, want) ? token : null;
}

// Device codes of `mfp-printer-slow` already answered `slow_down`.
const slowed = new Set();

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('request too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

provider.use(async (ctx, next) => {
  const secure = ctx.req.socket.encrypted === true;
  if (!secure && !ctx.path.startsWith('/token/introspection')) {
    ctx.status = 404;
    return;
  }
  if (secure && ctx.path === '/token' && ctx.method === 'POST') {
    // Read the form here to see the client; oidc-provider then takes the
    // already-read body from ctx.request.body.
    const raw = await readForm(ctx.req);
    ctx.request.body = raw;
    const form = new URLSearchParams(raw);
    ctx.state.tokenForm = form;
    // A service account's JWT bearer grant carries no client
    // authentication (RFC 7523 §3.1): its client is the assertion's issuer.
    if (form.get('grant_type') === JWT_BEARER && !form.has('client_id')
        && !form.has('client_secret') && !form.has('client_assertion') && !ctx.headers.authorization) {
      const iss = decodeJwt(form.get('assertion') ?? undefined)?.claims?.iss;
      if (typeof iss === 'string') {
        const named = new URLSearchParams(raw);
        named.set('client_id', iss);
        ctx.request.body = named.toString();
      }
    }
    const code = form.get('device_code');
    if (form.get('client_id') === 'mfp-printer-slow' && form.get('grant_type') === DEVICE
        && code && !slowed.has(code)) {
      slowed.add(code);
      ctx.status = 400;
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { error: 'slow_down', error_description: 'polling too fast (test middleware)' };
      return;
    }
  }
  if (ctx.path === '/token/introspection' && ctx.method === 'POST') {
    const raw = await readForm(ctx.req);
    const form = new URLSearchParams(raw);
    const long = unlengthen(form.get('token') || '');
    if (long) form.set('token', long);
    ctx.request.body = form.toString();
  }
  try {
    await next();
  } finally {
    if (ctx.state.tokenForm && ctx.state.tokenForm.get('grant_type') !== DEVICE) {
      console.log(`seen ${JSON.stringify(sighting(ctx, ctx.state.tokenForm))}`);
    }
  }
  if (ctx.path === '/token/introspection' && ctx.body && typeof ctx.body === 'object') {
    const b = ctx.body;
    console.log(`introspected ${JSON.stringify({
      client_id: b.client_id ?? null, active: b.active === true, sub: b.sub ?? null, scope: b.scope ?? null,
    })}`);
  }
  if (secure && ctx.path === '/token' && ctx.status === 200 && ctx.body
      && typeof ctx.body.access_token === 'string' && lengthened.has(ctx.oidc?.client?.clientId)) {
    ctx.body = { ...ctx.body, access_token: lengthen(ctx.body.access_token) };
  }
  if (ctx.path === '/device/auth' && ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
    ctx.body = { ...ctx.body, interval: 1 };
  }
});

const secureServer = https.createServer(
  { cert: readFileSync(config.cert), key: readFileSync(config.key) },
  provider.callback(),
);
const plainServer = http.createServer(provider.callback());
secureServer.listen(config.https_port, HOST, () => {
  plainServer.listen(config.http_port, HOST, () => {
    console.log(`oidc-provider ready: ${issuer} (introspection also on http://${HOST}:${config.http_port})`);
  });
});

const stop = () => {
  secureServer.close();
  plainServer.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
