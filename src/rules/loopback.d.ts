/** Types of ./loopback.js (the broker's one loopback rule; see that file). */
/** Whether a URL's `hostname` (as WHATWG URL gives it: IPv6 in brackets) is loopback. */
export function isLoopbackHost(hostname: string): boolean;
/** Why `raw` may not be used as an endpoint, or undefined when it may. */
export function endpointProblem(raw: string, allowInsecureLoopbackHttp: boolean): string | undefined;
