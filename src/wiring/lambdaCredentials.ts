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
import { fromEnv, type FromEnvInit } from '@aws-sdk/credential-provider-env';

/**
 * In place of the SDK's `defaultProvider(init)`: the environment only, through the SDK's own
 * environment provider (the first link of its default chain), which reads the variables when the
 * client first asks, not at import, and fails without naming any value when the key or secret is missing.
 */
export const defaultProvider = (init?: FromEnvInit): ReturnType<typeof fromEnv> => fromEnv(init);

/** The SDK's helpers of the same names, for a chain this module does not have: nothing to refresh early. */
export const credentialsWillNeedRefresh = (): boolean => false;
export const credentialsTreatedAsExpired = (): boolean => false;
