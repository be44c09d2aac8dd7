// A real OpenID provider for the portal's tests: panva oidc-provider (OpenID Certified), with
// national-SSO-shaped accounts (accounts.json) and two test-only hooks that a browser could not use:
//   GET /interaction/:uid?account=<name>[&tamper=<mode>]  logs <name> in, no form to fill;
//   GET /interaction/:uid?deny=1                           the person refuses (access_denied).
// <mode> makes the next token response carry a *validly signed* id_token that is wrong in one way
// (expired, audience, nonce, issuer) or one whose signature is broken, so the portal's real checks
// are what refuse it.
//
// Configuration (environment): PORT, CLIENT_ID, CLIENT_SECRET, REDIRECT_URIS and
// POST_LOGOUT_REDIRECT_URIS (space-separated). The issuer is http://127.0.0.1:PORT.
import { readFileSync } from 'node:fs';
import http from 'node:http';

import { CompactSign, exportJWK, generateKeyPair, importJWK, SignJWT, decodeJwt } from 'jose';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 0);
const issuer = `http://127.0.0.1:${port}`;
const accounts = JSON.parse(readFileSync(new URL('./accounts.json', import.meta.url), 'utf8'));
const bySub = new Map(Object.values(accounts).map((account) => [account.sub, account]));
const CUSTOM_CLAIMS = ['SoDinhDanh', 'HoVaTen', 'NgayThangNamSinh', 'LoaiTaiKhoan', 'MaSoDoanhNghiep',
  'TenDoanhNghiep'];

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const signingJwk = { ...(await exportJWK(privateKey)), kid: 'test-key-1', alg: 'RS256', use: 'sig' };
const signingKey = await importJWK(signingJwk, 'RS256');

/** sub → tamper mode for that account's next token response. */
const pendingTamper = new Map();

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.CLIENT_ID,
    client_secret: process.env.CLIENT_SECRET,
    redirect_uris: (process.env.REDIRECT_URIS || '').split(' ').filter(Boolean),
    post_logout_redirect_uris: (process.env.POST_LOGOUT_REDIRECT_URIS || '').split(' ').filter(Boolean),
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [signingJwk] },
  cookies: { keys: ['portal-test-cookie-key'] },
  acrValues: ['1', '2'],
  // The id_token carries sub and the level of assurance (acr) always; the personal claims come
  // with the "profile" scope and, for the code flow, only from userinfo (conformIdTokenClaims).
  claims: {
    acr: null, amr: null, auth_time: null, iss: null, sid: null,
    openid: ['sub', 'acr', 'auth_time', 'sid'], profile: CUSTOM_CLAIMS,
  },
  features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true } },
  pkce: { required: () => true },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    const account = bySub.get(sub);
    if (!account) return undefined;
    return { accountId: sub, async claims() { return { sub, ...account.claims }; } };
  },
  // The portal is a first-party client: no consent screen.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope([...ctx.oidc.requestParamScopes].join(' '));
    await grant.save();
    return grant;
  },
});
provider.proxy = false;

// Tamper with the id_token on its way out of the token endpoint, re-signed with the provider's key.
provider.use(async (ctx, next) => {
  await next();
  if (ctx.oidc?.route !== 'token' || !ctx.body?.id_token) return;
  const claims = decodeJwt(ctx.body.id_token);
  const mode = pendingTamper.get(claims.sub);
  if (!mode) return;
  pendingTamper.delete(claims.sub);
  const now = Math.floor(Date.now() / 1000);
  if (mode === 'signature') {
    const [header, payload, signature] = ctx.body.id_token.split('.');
    const flipped = (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1);
    ctx.body = { ...ctx.body, id_token: [header, payload, flipped].join('.') };
    return;
  }
  const changes = {
    expired: { iat: now - 3600, exp: now - 1800 },
    audience: { aud: 'another-service' },
    nonce: { nonce: 'not-the-nonce-the-portal-sent' },
    issuer: { iss: 'https://sso.example.invalid' },
  }[mode];
  const idToken = await new SignJWT({ ...claims, ...changes })
    .setProtectedHeader({ alg: 'RS256', kid: signingJwk.kid, typ: 'JWT' })
    .sign(signingKey);
  ctx.body = { ...ctx.body, id_token: idToken };
});

async function interaction(req, res, url) {
  const details = await provider.interactionDetails(req, res);
  if (url.searchParams.get('deny')) {
    return provider.interactionFinished(req, res, {
      error: 'access_denied', error_description: 'The person cancelled the login',
    }, { mergeWithLastSubmission: false });
  }
  const name = url.searchParams.get('account');
  if (!name) {  // what a person would see: pick an account
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(`<!doctype html><h1>Test OpenID provider</h1><p>prompt: ${details.prompt.name}</p><ul>${
      Object.keys(accounts).map((n) => `<li><a href="?account=${n}">${n}</a></li>`).join('')}</ul>`);
    return undefined;
  }
  const account = accounts[name];
  if (!account) {
    res.statusCode = 400;
    res.end(`unknown account ${name}`);
    return undefined;
  }
  const tamper = url.searchParams.get('tamper');
  if (tamper) pendingTamper.set(account.sub, tamper);
  return provider.interactionFinished(req, res, {
    login: { accountId: account.sub, acr: account.acr },
  }, { mergeWithLastSubmission: false });
}

const callback = provider.callback();
const server = http.createServer((req, res) => {
  const url = new URL(req.url, issuer);
  if (url.pathname.startsWith('/interaction/')) {
    interaction(req, res, url).catch((error) => {
      res.statusCode = 400;
      res.end(String(error));
    });
    return;
  }
  callback(req, res);
});
server.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
