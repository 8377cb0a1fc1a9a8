/**
 * A loopback OIDC issuer for local browser work (`npm start`, the browser e2e test): an ES256 key made
 * at start (never written anywhere), its discovery document (/.well-known/openid-configuration) and
 * JWKS (/jwks.json) on 127.0.0.1, and `mint()` to sign short-lived tokens for a subject. The broker
 * verifies these tokens exactly as it verifies a real provider's (a `jwt:` client with this issuer,
 * allowed only because the local config sets allowInsecureLoopbackHttp). There is deliberately no
 * token endpoint on the network: the demo page gets its token from the demo server (same origin,
 * loopback), which calls mint(); anything that can reach loopback could ask it for one anyway.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';

export interface LocalIssuer {
  /** The issuer URL (`iss`), http://127.0.0.1:<port> */
  issuer: string;
  jwksUri: string;
  audience: string;
  /** A token for `subject`, valid `ttlSeconds` (default 900). */
  mint(subject: string, ttlSeconds?: number): Promise<string>;
  close(): Promise<void>;
}

export async function startLocalIssuer(options: { audience: string; port?: number }): Promise<LocalIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const kid = randomUUID();
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  let issuer = '';
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET') return json(405, { error: 'only GET' });
    if (path === '/.well-known/openid-configuration') {
      return json(200, { issuer, jwks_uri: `${issuer}/jwks.json`, id_token_signing_alg_values_supported: ['ES256'] });
    }
    if (path === '/jwks.json') return json(200, { keys: [jwk] });
    return json(404, { error: 'not found' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const key: CryptoKey = privateKey;
  return {
    issuer,
    jwksUri: `${issuer}/jwks.json`,
    audience: options.audience,
    mint: (subject, ttlSeconds = 900) => new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
      .setIssuer(issuer)
      .setAudience(options.audience)
      .setSubject(subject)
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .setJti(randomUUID())
      .sign(key),
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** The YAML of a broker client that trusts this issuer (for writeLocalConfig's extraClientsYaml). */
export function jwtClientYaml(name: string, issuer: LocalIssuer, client: {
  prefix: string; origins: string[]; maxUploadBytes: number; contentTypes: string[]; actions?: string[];
}): string {
  return [
    `      ${name}:`,
    '        jwt:',
    `          issuer: ${JSON.stringify(issuer.issuer)}`,
    `          audience: ${JSON.stringify(issuer.audience)}`,
    `          jwksUri: ${JSON.stringify(issuer.jwksUri)}`,
    '          algorithms: [ES256]',
    `        prefix: ${JSON.stringify(client.prefix)}`,
    `        actions: ${JSON.stringify(client.actions ?? ['read', 'write', 'list'])}`,
    `        maxUploadBytes: ${client.maxUploadBytes}`,
    `        contentTypes: ${JSON.stringify(client.contentTypes)}`,
    `        cors: { origins: ${JSON.stringify(client.origins)} }`,
  ].join('\n');
}
