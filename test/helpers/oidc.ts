// A local OIDC issuer on loopback for JWT role tests: an RSA key pair, its JWKS served over HTTP
// at /jwks (fetches counted), and a signer for ID tokens like GitLab CI's and GitHub Actions'.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export interface TestIssuer {
  readonly url: string;
  readonly jwksUrl: string;
  readonly jwks: { keys: JWK[] };
  /** How many times /jwks was fetched. */
  fetches(): number;
  /** A signed JWT: iss/aud/iat/exp default to this issuer, `aud`, now and now+5m (seconds). */
  sign(claims: JWTPayload, options?: { nowS?: number; alg?: string; kid?: string; key?: CryptoKey; omit?: string[] }): Promise<string>;
  close(): Promise<void>;
}

export async function startIssuer(audience = 'signet'): Promise<TestIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const jwks = { keys: [jwk] };
  let fetches = 0;
  const server = http.createServer((req, res) => {
    if (req.url === '/jwks') {
      fetches++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(jwks));
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    jwksUrl: `${url}/jwks`,
    jwks,
    fetches: () => fetches,
    async sign(claims, options = {}) {
      const now = options.nowS ?? Math.floor(Date.now() / 1000);
      const payload: JWTPayload = { iss: url, aud: audience, iat: now, nbf: now, exp: now + 300, ...claims };
      for (const k of options.omit ?? []) delete payload[k];
      return new SignJWT(payload).setProtectedHeader({ alg: options.alg ?? 'RS256', kid: options.kid ?? 'k1', typ: 'JWT' }).sign(options.key ?? privateKey);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** An unsecured JWT (`alg: none`, empty signature), as an attacker would send one. */
export function unsignedJwt(payload: JWTPayload): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`;
}
