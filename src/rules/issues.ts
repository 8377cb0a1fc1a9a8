/** One config finding: `path` is dotted (`partners.acme.clients.app.prefix`). */
export interface ConfigIssue {
  path: string;
  message: string;
}

/**
 * What the config checks found. `issues` refuse the config (the broker will not start);
 * `notices` are accepted but worth an operator's eye (a back end whose prefix holds every user's
 * folder, say), and are printed by the config check and logged at cold start.
 */
export interface ConfigFindings {
  issues: ConfigIssue[];
  notices: ConfigIssue[];
}
