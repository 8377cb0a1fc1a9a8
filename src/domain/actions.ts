/** The verbs a grant speaks in; each maps to a fixed set of S3 IAM actions in ../policy. */
export const ACTIONS = ['read', 'write', 'list', 'delete'] as const;
export type Action = (typeof ACTIONS)[number];
