/**
 * The only credential provider the packaged bundles carry: the function's own credentials from the
 * environment, which is where Lambda puts the execution role's session (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN).
 *
 * serverless.yml's esbuild `alias` puts this module in place of `@aws-sdk/credential-provider-node`
 * (the SDK's default chain) in every bundle: the chain's SSO, INI, process, web-identity, container
 * and IMDS providers, with the nested STS and SSO clients they bring, are ~130 KB of bundle that never
 * answers in Lambda, and every cold start pays to load them. Unbundled code (tests, scripts, tsx) keeps
 * the SDK's full chain. Anything that runs a bundle outside Lambda (serverless-offline: `npm start`, the
 * e2e suite) must put credentials in those variables; a named profile (AWS_PROFILE) is not read.
 *
 * The exports mirror `@aws-sdk/credential-provider-node`'s, so the SDK clients' runtime config
 * (`defaultProvider as credentialDefaultProvider`) builds against it unchanged.
 */

/** What the SDK's signers take; field names are the SDK's AwsCredentialIdentity. */
export interface EnvCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
  credentialScope?: string;
  accountId?: string;
}

/** The variables read, as the SDK's own environment provider names them. */
export const ENV_CREDENTIAL_VARIABLES = {
  key: 'AWS_ACCESS_KEY_ID',
  secret: 'AWS_SECRET_ACCESS_KEY',
  session: 'AWS_SESSION_TOKEN',
  expiration: 'AWS_CREDENTIAL_EXPIRATION',
  scope: 'AWS_CREDENTIAL_SCOPE',
  account: 'AWS_ACCOUNT_ID',
} as const;

/**
 * The provider: reads the environment when the SDK first asks (not at import), as the SDK's own
 * `fromEnv` does, field for field. Missing key or secret is an error naming the variables (never a
 * value); the SDK then fails the call, and the adapters map that failure like any other.
 */
export function fromEnvironment(env: Record<string, string | undefined> = process.env): () => Promise<EnvCredentials> {
  return async () => {
    const v = ENV_CREDENTIAL_VARIABLES;
    const accessKeyId = env[v.key];
    const secretAccessKey = env[v.secret];
    if (!accessKeyId || !secretAccessKey) {
      throw new Error(`no AWS credentials: ${v.key} and ${v.secret} must be set (this bundle reads only the environment, where Lambda puts the execution role's credentials)`);
    }
    const sessionToken = env[v.session];
    const expiry = env[v.expiration];
    const credentialScope = env[v.scope];
    const accountId = env[v.account];
    return {
      accessKeyId,
      secretAccessKey,
      ...(sessionToken ? { sessionToken } : {}),
      ...(expiry ? { expiration: new Date(expiry) } : {}),
      ...(credentialScope ? { credentialScope } : {}),
      ...(accountId ? { accountId } : {}),
    };
  };
}

/** In place of the SDK's `defaultProvider(init)`: the environment only (the client's options are not needed). */
export const defaultProvider = (_init?: unknown): (() => Promise<EnvCredentials>) => fromEnvironment();

/** The SDK's helpers of the same names, for a chain this module does not have: nothing to refresh early. */
export const credentialsWillNeedRefresh = (): boolean => false;
export const credentialsTreatedAsExpired = (): boolean => false;
