import type { Grant } from '../domain/model.js';

/** The partition of an IAM role ARN (`arn:aws-cn:iam::…` → `aws-cn`); ARNs are validated at config load. */
export function partitionOf(roleArn: string): Grant['partition'] {
  const partition = roleArn.split(':')[1];
  if (partition === 'aws' || partition === 'aws-cn' || partition === 'aws-us-gov') return partition;
  throw new TypeError(`not an IAM ARN of a known partition: ${roleArn}`);
}
