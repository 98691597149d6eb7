// A real OpenID provider (panva/oidc-provider, OpenID-certified) for radguard's sign-in tests.
//
// Why real: discovery, JWKS, PKCE, state/nonce round-trips and one-time codes are exactly what a
// hand-written fake would get wrong. Configured only by environment (started by
// tests/support/oidc_provider.py), listening on loopback only:
//   OIDC_PORT           port to listen on (127.0.0.1)
//   OIDC_REDIRECT_URI   the one redirect URI the client may use
//   OIDC_CLIENT_ID      / OIDC_CLIENT_SECRET  the one confidential client (client_secret_basic/post)
//   OIDC_USERS          JSON {"login": {"groups": [...], "email": ..., "name": ...}}; the login
//                       form (devInteractions: any password) signs in as that login, and only
//                       logins listed here get claims.
//                       A user's "_userinfo" object holds claims released only by the userinfo
//                       endpoint, never in the ID token; "_claim_names"/"_claim_sources" make a
//                       distributed claim (what Entra ID sends for a groups overage).
//   OIDC_POST_LOGOUT_URI optional post_logout_redirect_uri registered for RP-initiated logout
//   OIDC_ID_TOKEN_TTL   optional ID token lifetime in seconds (default 600)
//   OIDC_SIGNING_JWK    optional private RSA JWK (JSON) to sign with; otherwise one is generated
// It signs with its own RSA key (published at /jwks, public half only).
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT);
const users = JSON.parse(process.env.OIDC_USERS || '{}');
const issuer = `http://127.0.0.1:${port}`;

const given = process.env.OIDC_SIGNING_JWK ? JSON.parse(process.env.OIDC_SIGNING_JWK) : null;
const jwk = given || {
  ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }),
  kid: `test-${port}`, use: 'sig', alg: 'RS256',
};

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.OIDC_CLIENT_ID,
    client_secret: process.env.OIDC_CLIENT_SECRET,
    redirect_uris: [process.env.OIDC_REDIRECT_URI],
    post_logout_redirect_uris: process.env.OIDC_POST_LOGOUT_URI ? [process.env.OIDC_POST_LOGOUT_URI] : [],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [jwk] },
  pkce: { required: () => true },
  scopes: ['openid', 'profile', 'email', 'groups', 'roles'],
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email'],
    groups: ['groups'],
    roles: ['realm_access', 'roles'], // Keycloak puts realm roles in realm_access.roles
  },
  // Put the scope's claims in the ID token itself (what Entra/Okta/Keycloak can be set to do).
  conformIdTokenClaims: false,
  ttl: { IdToken: Number(process.env.OIDC_ID_TOKEN_TTL || 600) },
  cookies: { keys: ['radguard-test-cookie-key'] },
  async findAccount(ctx, sub) {
    if (!Object.hasOwn(users, sub)) return undefined;
    const { _userinfo: userinfoOnly, ...user } = users[sub];
    return {
      accountId: sub,
      async claims(use) {
        return { sub, preferred_username: sub, ...user, ...(use === 'userinfo' ? userinfoOnly : {}) };
      },
    };
  },
});
provider.proxy = false;
provider.listen(port, '127.0.0.1', () => {
  process.stdout.write(`oidc-provider listening on ${issuer}\n`);
});
