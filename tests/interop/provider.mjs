// The interop suite's OAuth 2.0 authorization server: oidc-provider (OpenID
// Certified), configured like a provider a printer meets, on loopback only.
//
//   node provider.mjs <config.json>
//
// config.json (written by run.sh): { "https_port", "http_port", "cert", "key",
// "introspection_secret", "short_ttl" }.
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

import * as crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const HOST = '127.0.0.1';
const issuer = `https://${HOST}:${config.https_port}`;
const RESOURCE = 'urn:mfp:smtp';
const DEVICE = 'urn:ietf:params:oauth:grant-type:device_code';

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
  pkce: { required: () => true },
  // Every printer grant gets a refresh token (no `offline_access` or
  // `prompt=consent` needed), rotated on every use.
  issueRefreshToken: (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: () => true,
  // Introspection is for Dovecot only.
  // (The default policy already refuses public clients other tokens.)
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
  await next();
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
