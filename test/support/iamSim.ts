/**
 * IAM policy evaluation for tests, through @cloud-copilot/iam-simulate and iam-policy. Both are
 * AGPL-3.0 devDependencies: import this helper from test/ only, never from src/.
 */
import { validateSessionPolicy } from '@cloud-copilot/iam-policy';
import { runSimulation } from '@cloud-copilot/iam-simulate';

export type SimulationOutcome = 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied';

/** The account that owns both the partner role and the bucket in simulations. */
export const SIM_ACCOUNT_ID = '111111111111';
/** The caller: an assumed-role session of the partner role, as the broker's credentials are. */
export const SIM_PRINCIPAL = `arn:aws:sts::${SIM_ACCOUNT_ID}:assumed-role/Role-A/sbk-acme-backend-k1`;

/** The role's own policy allows every S3 action, so only the session policy under test limits access. */
const ALLOW_ALL_S3 = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
};

/** Evaluates one request by the assumed-role session under `policyJson` as its session policy. */
export async function simulate(
  policyJson: string,
  action: string,
  resourceArn: string,
  context: Record<string, string> = {},
): Promise<SimulationOutcome> {
  const result = await runSimulation(
    {
      request: {
        principal: SIM_PRINCIPAL,
        action,
        resource: { resource: resourceArn, accountId: SIM_ACCOUNT_ID },
        contextVariables: context,
      },
      identityPolicies: [{ name: 'allow-all-s3', policy: ALLOW_ALL_S3 }],
      sessionPolicy: JSON.parse(policyJson) as unknown,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  // An invalid simulation must fail the test loudly, never read as "denied".
  if (result.resultType === 'error') throw new Error(`simulation failed: ${JSON.stringify(result.errors)}`);
  return result.overallResult;
}

/** Syntax and semantic errors iam-policy finds in a session policy document; empty when valid. */
export function validatePolicy(json: string): string[] {
  return validateSessionPolicy(JSON.parse(json) as unknown).map((e) => `${e.path}: ${e.message}`);
}
