// Section 4's fresh process. coldStart.ts runs this file's text as
// `node --input-type=module -e <text> -- <bundle URL> [<event JSON> <context JSON>]` (as `-e`, not as
// a file: the measured import is then the process's first file import, as it was when this runner was
// a template string). It imports the bundle, invokes its handler once with the event (none: import
// only) and reports the times on stderr as one `BENCH_RESULT {json}` line.
const t0 = performance.now();
const [bundleUrl, eventJson, contextJson] = process.argv.slice(1);
const mod = await import(bundleUrl);
const t1 = performance.now();
let status = 0;
if (eventJson !== undefined) {
  const res = await mod.handler(JSON.parse(eventJson), JSON.parse(contextJson));
  status = res.statusCode;
}
const t2 = performance.now();
process.stderr.write('BENCH_RESULT ' + JSON.stringify({ bootMs: t0, importMs: t1 - t0, invokeMs: t2 - t1, totalMs: t2 - t0, status }) + '\n');
