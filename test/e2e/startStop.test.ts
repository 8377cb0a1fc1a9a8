/**
 * `npm start` as a newcomer meets it, started and stopped for real:
 *  - with its own local AWS (own LOCAL_AWS_DIR and ports): its printed commands work and write only
 *    into its private demo folder; a Ctrl-C as a terminal delivers it (SIGINT to the whole process
 *    group, twice, back to back) stops once, leaves none of the processes it started alive, removes
 *    its local AWS folder and its demo folder, and leaves the e2e suite's stack serving;
 *  - reusing the e2e suite's running local AWS: the same Ctrl-C stops only its own API and leaves
 *    the stack it did not start running, same daemons, same folder;
 *  - `scripts/local-aws install` on a machine without Ceph shows apt's progress as it goes (which
 *    packages, elapsed time, a heartbeat), against a stand-in apt-get.
 * The processes a run started are found independently of its own account: every process whose
 * environment carries this test's unique marker (npm, tsx, node, serverless-offline and its workers)
 * and every Ceph daemon running with the run's ceph.conf.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, writeLocalConfig } from '../../scripts/lib/offline.js';
import { generateApiKey } from '../../src/auth/apiKey.js';
import { loadConfigFile } from '../../src/config/load.js';
import { LOCAL_AWS_SCRIPT } from '../../scripts/lib/localAws.js';
import { E2E_LOCAL_AWS, readStack, type StackState } from './support/stack.js';

const MARKER_VAR = 'STS_BROKER_STARTSTOP_RUN';
/** Ports of their own: not 7480/3310 (npm start's defaults), not the reserved 4340 4342 4350 4352. */
const OWN = { awsPort: 7490, monPort: 3320, httpPort: 4360, lambdaPort: 4362 };
const REUSE = { httpPort: 4370, lambdaPort: 4372 };
const SERVING_TIMEOUT_MS = 200_000; // a second Ceph (~20-40 s) plus esbuild of every handler on a busy 2-core machine
const EXIT_TIMEOUT_MS = 90_000;

// ---- processes --------------------------------------------------------------------------------

interface Proc { pid: number; cmd: string; env: string[] }

function readProc(pid: number): Proc | undefined {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim();
    const env = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
    return { pid, cmd, env };
  } catch {
    return undefined; // gone (or a kernel thread)
  }
}

const allProcs = (): Proc[] => readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).map(readProc).filter((p): p is Proc => p !== undefined);

/** Processes belonging to a run: its marker in the environment, or a Ceph daemon on its ceph.conf. */
function owned(p: Proc, marker: string, cephConf?: string): boolean {
  return p.env.includes(`${MARKER_VAR}=${marker}`) || (cephConf !== undefined && p.cmd.includes(cephConf));
}

const ownedProcs = (marker: string, cephConf?: string) => allProcs().filter((p) => owned(p, marker, cephConf));

/** Still alive and still ours (a reused pid belongs to someone else and does not count). */
function aliveAndOurs(pid: number, marker: string, cephConf?: string): boolean {
  const p = readProc(pid);
  return p !== undefined && owned(p, marker, cephConf);
}

function pidFiles(dir: string): Record<string, number> {
  const run = join(dir, 'run');
  return Object.fromEntries(readdirSync(run).filter((f) => f.endsWith('.pid')).map((f) => [f, Number(readFileSync(join(run, f), 'utf8').trim())]));
}

// ---- npm start --------------------------------------------------------------------------------

/** The demo API key, vended secrets and session tokens never reach a test report. */
function redact(text: string): string {
  return text
    .replace(/sbk_[A-Za-z0-9_-]+/g, 'sbk_<redacted>')
    .replace(/("(?:secretAccessKey|sessionToken|SecretAccessKey|SessionToken)"\s*:\s*")[^"]*/g, '$1<redacted>')
    .replace(/(X-Amz-(?:Signature|Security-Token|Credential)=)[^&"\s]*/g, '$1<redacted>');
}

interface NpmStart {
  child: ChildProcess;
  pgid: number;
  marker: string;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitFor: (pattern: RegExp, timeoutMs: number) => Promise<RegExpMatchArray>;
}

const running: Array<{ run: NpmStart; cleanup: () => Promise<void> }> = [];

function npmStart(env: Record<string, string>, cleanup: () => Promise<void>): NpmStart {
  const marker = randomBytes(8).toString('hex');
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env, [MARKER_VAR]: marker };
  for (const k of Object.keys(childEnv)) if (k.startsWith('AWS_') || k.startsWith('BROKER_API_')) delete childEnv[k];
  Object.assign(childEnv, env);
  // detached: the leader of its own process group, as npm is in a terminal
  const child = spawn('npm', ['start'], { cwd: repoRoot, env: childEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
  child.stderr!.on('data', (b: Buffer) => { out += b.toString(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  const run: NpmStart = {
    child, pgid: child.pid!, marker, output: () => out, exited,
    waitFor: async (pattern, timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      let done = false;
      void exited.then(() => { done = true; });
      for (;;) {
        const m = pattern.exec(out);
        if (m) return m;
        if (done) throw new Error(`npm start exited before printing ${pattern}:\n${redact(out).slice(-6000)}`);
        if (Date.now() > deadline) throw new Error(`npm start did not print ${pattern} within ${timeoutMs} ms:\n${redact(out).slice(-6000)}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    },
  };
  running.push({ run, cleanup });
  return run;
}

async function waitExit(run: NpmStart, timeoutMs: number) {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`npm start did not exit within ${timeoutMs} ms of Ctrl-C:\n${redact(run.output()).slice(-6000)}`)), timeoutMs);
  });
  try { return await Promise.race([run.exited, timeout]); } finally { clearTimeout(timer); }
}

const groupAlive = (pgid: number) => { try { process.kill(-pgid, 0); return true; } catch { return false; } };

/** After a test that failed midway: Ctrl-C, then SIGKILL the group, then the run's own cleanup. */
async function killLeftovers(): Promise<void> {
  for (const { run, cleanup } of running.splice(0)) {
    if (groupAlive(run.pgid)) {
      try { process.kill(-run.pgid, 'SIGINT'); } catch { /* gone */ }
      await Promise.race([run.exited, new Promise((r) => setTimeout(r, 60_000))]);
      try { process.kill(-run.pgid, 'SIGKILL'); } catch { /* gone */ }
    }
    for (const p of ownedProcs(run.marker)) {
      try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
    }
    await cleanup();
  }
}

afterEach(killLeftovers, 150_000);
afterAll(killLeftovers, 150_000);

async function httpStatus(url: string): Promise<number> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/** Extracts the shell lines of the banner: two-space indented lines and here-document bodies. */
function printedCommands(output: string): string {
  const banner = output.slice(output.indexOf('Paste these into a shell'));
  const lines: string[] = [];
  let hereDocEnd: string | undefined;
  for (const line of banner.split('\n').slice(1)) {
    if (line.startsWith('Ctrl-C stops')) break;
    if (hereDocEnd !== undefined) {
      lines.push(line);
      if (line === hereDocEnd) hereDocEnd = undefined;
      continue;
    }
    if (!line.startsWith('  ') || line.startsWith('   ') && !line.startsWith('    ')) continue; // prose, and its indented continuation
    const cmd = line.slice(2);
    lines.push(cmd);
    const here = /<<'([A-Z]+)'/.exec(cmd);
    if (here) hereDocEnd = here[1];
  }
  return lines.join('\n');
}

function runShell(script: string, cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('AWS_') || k.startsWith('BROKER_')) delete env[k];
    const child = spawn('bash', ['-euc', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.once('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

/**
 * npm start ended after a complete stop. npm exits 0, or re-raises the SIGINT its `sh -c` child died
 * of (the terminal's Ctrl-C reaches sh too); `close` fires only once the worker, which shares the
 * output pipe, has exited as well, so its last line is there either way.
 */
function expectCleanExit(exit: { code: number | null; signal: NodeJS.Signals | null }, output: string): void {
  expect([{ code: 0, signal: null }, { code: null, signal: 'SIGINT' }]).toContainEqual(exit);
  expect(output.trimEnd().split('\n').at(-1)).toBe('stopped');
}

const countLines = (text: string, line: string) => text.split('\n').filter((l) => l.trim() === line).length;

// ---- the tests --------------------------------------------------------------------------------

let stack: StackState;
let npmDefaultStackServing: boolean;
beforeAll(async () => {
  stack = readStack();
  npmDefaultStackServing = (await httpStatus('http://127.0.0.1:7480/')) === 200;
});

describe('npm start, then Ctrl-C from a terminal (SIGINT to its process group, twice)', () => {
  it('with its own local AWS: the printed commands work in its private folder; one stop; nothing it started is left', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'startstop-tmp-')); // TMPDIR of the run: its demo folder lands here
    const awsDir = mkdtempSync(join(tmpdir(), 'startstop-aws-'));
    const cephConf = join(awsDir, 'ceph.conf');
    const work = mkdtempSync(join(tmpdir(), 'startstop-cwd-'));
    const run = npmStart({
      TMPDIR: tmp,
      LOCAL_AWS_DIR: awsDir,
      LOCAL_AWS_PORT: String(OWN.awsPort),
      LOCAL_AWS_MON_PORT: String(OWN.monPort),
      LOCAL_AWS_MEMSTORE_BYTES: String(256 * 1024 * 1024),
      BROKER_HTTP_PORT: String(OWN.httpPort),
      BROKER_LAMBDA_PORT: String(OWN.lambdaPort),
    }, async () => {
      // a failed run: stop its local AWS with the script (it checks every pid against the ceph.conf)
      if (existsSync(awsDir)) {
        execFileSync('bash', [LOCAL_AWS_SCRIPT, 'stop'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LOCAL_AWS_DIR: awsDir }, stdio: 'ignore', timeout: 60_000 });
      }
      for (const d of [tmp, awsDir, work]) rmSync(d, { recursive: true, force: true });
    });

    await run.waitFor(/^Ctrl-C stops .*$/m, SERVING_TIMEOUT_MS);
    const out = run.output();
    expect(out).toContain(`local AWS started in ${awsDir}`);
    expect(out).toMatch(/\[local-aws +[\d.]+s\] radosgw up/); // the script's progress, streamed as it came
    const demoDir = /^Your demo folder, private to this run \(mode 0700, removed on Ctrl-C\): (.+)$/m.exec(out)?.[1];
    expect(demoDir).toBeDefined();
    expect(demoDir!.startsWith(join(tmp, 'sts-broker-demo-'))).toBe(true);
    expect(statSync(demoDir!).mode & 0o777).toBe(0o700);

    // the printed commands, as pasted into a shell in an empty folder
    const shell = await runShell(printedCommands(out), work);
    expect({ code: shell.code, stderr: redact(shell.stderr) }).toEqual({ code: 0, stderr: '' });
    expect(redact(shell.stdout)).toMatch(/"actions":\["read","list","delete"\]/); // 1) vended, without write
    expect(shell.stdout).toMatch(/^200$/m); // 2) the presigned PUT
    expect(shell.stdout).toMatch(/^\S+ \S+ +22 hello\.txt$/m); // 3) aws s3 ls through credential_process
    expect(readdirSync(work)).toEqual([]); // nothing written into the working directory
    expect(readdirSync(demoDir!).sort()).toEqual(['aws-config', 'broker.demo.yaml', 'hello.txt', 'upload.json']);
    // the commands worked without raw write credentials: they write only through a presigned URL
    expect(readFileSync(join(demoDir!, 'broker.demo.yaml'), 'utf8')).not.toContain('rawWriteCredentials');

    // what it started, recorded before stopping
    const pids = pidFiles(awsDir);
    expect(Object.keys(pids).sort()).toEqual(['ceph-client.rgw.gw.pid', 'ceph-mon.a.pid', 'ceph-osd.0.pid']);
    const before = ownedProcs(run.marker, cephConf);
    for (const pid of Object.values(pids)) expect(before.map((p) => p.pid)).toContain(pid);
    expect(before.some((p) => p.cmd.includes('osls offline start'))).toBe(true);
    expect(before.some((p) => p.pid === run.pgid)).toBe(true);

    process.kill(-run.pgid, 'SIGINT');
    process.kill(-run.pgid, 'SIGINT');
    const exit = await waitExit(run, EXIT_TIMEOUT_MS);
    const final = run.output();

    expectCleanExit(exit, final);
    expect(countLines(final, 'stopping…')).toBe(1);
    expect(final).toMatch(/^ {2}local AWS: stopped, .* removed$/m);
    expect(before.filter((p) => aliveAndOurs(p.pid, run.marker, cephConf)).map((p) => `${p.pid} ${p.cmd}`)).toEqual([]);
    expect(ownedProcs(run.marker, cephConf).map((p) => `${p.pid} ${p.cmd}`)).toEqual([]);
    expect(existsSync(awsDir)).toBe(false);
    expect(existsSync(demoDir!)).toBe(false);
    expect(readdirSync(tmp).filter((f) => f.startsWith('sts-broker'))).toEqual([]);

    // stacks it did not start still serve
    expect(await httpStatus(`${stack.endpoint}/`)).toBe(200);
    expect(await httpStatus(`${stack.url}/health`)).toBe(200);
    if (npmDefaultStackServing) expect(await httpStatus('http://127.0.0.1:7480/')).toBe(200);
  }, 330_000);

  it('while its local AWS is still starting: the start is cut short, and what it had started is stopped and removed', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'startstop-tmp-'));
    const awsDir = mkdtempSync(join(tmpdir(), 'startstop-aws-'));
    const cephConf = join(awsDir, 'ceph.conf');
    const run = npmStart({
      TMPDIR: tmp,
      LOCAL_AWS_DIR: awsDir,
      LOCAL_AWS_PORT: String(OWN.awsPort),
      LOCAL_AWS_MON_PORT: String(OWN.monPort),
      LOCAL_AWS_MEMSTORE_BYTES: String(256 * 1024 * 1024),
      BROKER_HTTP_PORT: String(OWN.httpPort),
      BROKER_LAMBDA_PORT: String(OWN.lambdaPort),
    }, async () => {
      if (existsSync(awsDir)) {
        execFileSync('bash', [LOCAL_AWS_SCRIPT, 'stop'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LOCAL_AWS_DIR: awsDir }, stdio: 'ignore', timeout: 60_000 });
      }
      for (const d of [tmp, awsDir]) rmSync(d, { recursive: true, force: true });
    });

    await run.waitFor(/\[local-aws +[\d.]+s\] ceph-mon up/, SERVING_TIMEOUT_MS);
    const monPid = pidFiles(awsDir)['ceph-mon.a.pid']!;
    expect(readProc(monPid)?.cmd).toContain(cephConf);
    const before = ownedProcs(run.marker, cephConf);

    process.kill(-run.pgid, 'SIGINT');
    process.kill(-run.pgid, 'SIGINT');
    const exit = await waitExit(run, EXIT_TIMEOUT_MS);
    const final = run.output();

    expectCleanExit(exit, final);
    expect(countLines(final, 'stopping…')).toBe(1);
    expect(final).toContain(`local AWS: its start was interrupted; what it had started is stopped, ${awsDir} removed`);
    expect(final).not.toContain('sts-broker is serving');
    expect(aliveAndOurs(monPid, run.marker, cephConf)).toBe(false);
    expect(before.filter((p) => aliveAndOurs(p.pid, run.marker, cephConf)).map((p) => `${p.pid} ${p.cmd}`)).toEqual([]);
    expect(ownedProcs(run.marker, cephConf).map((p) => `${p.pid} ${p.cmd}`)).toEqual([]);
    expect(existsSync(awsDir)).toBe(false);
    expect(readdirSync(tmp).filter((f) => f.startsWith('sts-broker'))).toEqual([]);
    expect(await httpStatus(`${stack.endpoint}/`)).toBe(200);
  }, 240_000);

  it('reusing a local AWS another run started (the e2e suite\'s): stops only its own API and leaves that stack running', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'startstop-tmp-'));
    const stackDir = E2E_LOCAL_AWS.dir;
    const cephConf = join(stackDir, 'ceph.conf');
    const stackPids = pidFiles(stackDir);
    expect(Object.keys(stackPids)).toHaveLength(3);
    const run = npmStart({
      TMPDIR: tmp,
      LOCAL_AWS_DIR: stackDir,
      LOCAL_AWS_PORT: String(E2E_LOCAL_AWS.port),
      LOCAL_AWS_MON_PORT: String(E2E_LOCAL_AWS.monPort),
      BROKER_HTTP_PORT: String(REUSE.httpPort),
      BROKER_LAMBDA_PORT: String(REUSE.lambdaPort),
    }, async () => { rmSync(tmp, { recursive: true, force: true }); });

    await run.waitFor(/^Ctrl-C stops .*$/m, SERVING_TIMEOUT_MS);
    expect(run.output()).toContain(`reusing local AWS already serving in ${stackDir}`);
    expect(await httpStatus(`http://127.0.0.1:${REUSE.httpPort}/health`)).toBe(200);
    const before = ownedProcs(run.marker); // the marker only: the stack's daemons are not this run's
    expect(before.some((p) => p.cmd.includes('osls offline start'))).toBe(true);

    process.kill(-run.pgid, 'SIGINT');
    process.kill(-run.pgid, 'SIGINT');
    const exit = await waitExit(run, EXIT_TIMEOUT_MS);
    const final = run.output();

    expectCleanExit(exit, final);
    expect(countLines(final, 'stopping…')).toBe(1);
    expect(final).toContain(`local AWS in ${stackDir}: left running`);
    expect(before.filter((p) => aliveAndOurs(p.pid, run.marker)).map((p) => `${p.pid} ${p.cmd}`)).toEqual([]);
    expect(await httpStatus(`http://127.0.0.1:${REUSE.httpPort}/health`)).toBe(0);
    expect(readdirSync(tmp).filter((f) => f.startsWith('sts-broker'))).toEqual([]);

    // the stack it reused: same daemons, same folder, still serving, and the suite's API with it
    expect(pidFiles(stackDir)).toEqual(stackPids);
    for (const pid of Object.values(stackPids)) expect(readProc(pid)?.cmd).toContain(cephConf);
    expect(existsSync(join(stackDir, 'env.sh'))).toBe(true);
    expect(await httpStatus(`${stack.endpoint}/`)).toBe(200);
    expect(await httpStatus(`${stack.url}/health`)).toBe(200);
  }, 300_000);
});

describe('scripts/local-aws install on a machine without Ceph', () => {
  it('shows what apt-get is doing as it goes: the packages, elapsed time, a heartbeat; keeps no log on success', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'startstop-bin-'));
    const tmp = mkdtempSync(join(tmpdir(), 'startstop-tmp-'));
    try {
      // a PATH with the shell tools the script uses, no Ceph, and a stand-in apt-get that "installs" stubs
      for (const tool of ['bash', 'env', 'date', 'sleep', 'mktemp', 'tail', 'rm', 'awk', 'sed', 'tr', 'id', 'cat', 'seq', 'od', 'chmod']) {
        symlinkSync(execFileSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), join(bin, tool));
      }
      writeFileSync(join(bin, 'apt-get'), [
        '#!/bin/bash',
        'dir=${0%/*}',
        'echo "apt-get $*" >> "$dir/apt-calls"',
        'if [ "$1" = update ]; then echo "Hit:1 http://deb.debian.org/debian bookworm InRelease"; sleep 3; exit 0; fi',
        'echo "Reading package lists..."',
        'echo "The following NEW packages will be installed:"',
        'echo "  ceph-base ceph-common ceph-mon ceph-osd"',
        'echo "  radosgw uuid-runtime"',
        'echo "0 upgraded, 6 newly installed, 0 to remove and 0 not upgraded."',
        'echo "Get:1 http://deb.debian.org/debian bookworm/main amd64 ceph-base amd64 16.2.15 [5,000 kB]"',
        'echo "Unpacking ceph-base (16.2.15) ..."',
        'echo "Setting up radosgw (16.2.15) ..."',
        'for c in radosgw radosgw-admin ceph ceph-mon ceph-osd curl uuidgen; do printf \'#!/bin/bash\\necho "ceph version 16.2.15 (stub)"\\n\' > "$dir/$c"; chmod +x "$dir/$c"; done',
        '',
      ].join('\n'));
      chmodSync(join(bin, 'apt-get'), 0o755);

      const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(join(bin, 'bash'), [LOCAL_AWS_SCRIPT, 'install'], {
          env: { PATH: bin, TMPDIR: tmp, LOCAL_AWS_HEARTBEAT_SECONDS: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
        child.stderr.on('data', (b: Buffer) => { out += b.toString(); });
        const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
        child.once('close', (code) => { clearTimeout(timer); resolve({ code, out }); });
      });

      expect(result.code).toBe(0);
      const stamped = (text: string) => new RegExp(`^\\[local-aws +\\d+\\.\\ds\\] ${text}`, 'm');
      expect(result.out).toMatch(stamped('missing: radosgw radosgw-admin ceph ceph-mon ceph-osd curl uuidgen; installing radosgw ceph-mon ceph-osd curl uuid-runtime'));
      expect(result.out).toMatch(stamped('apt-get update: still running \\(\\d+ s so far'));
      expect(result.out).toMatch(stamped('apt:  ceph-base ceph-common ceph-mon ceph-osd$'));
      expect(result.out).toMatch(stamped('apt:  radosgw uuid-runtime$'));
      expect(result.out).toMatch(stamped('apt: Get:1 .* ceph-base'));
      expect(result.out).toMatch(stamped('apt: Setting up radosgw'));
      expect(result.out).toMatch(stamped('installed ceph version 16.2.15'));
      expect(readFileSync(join(bin, 'apt-calls'), 'utf8')).toBe('apt-get update\napt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd curl uuid-runtime\n');
      expect(readdirSync(tmp)).toEqual([]); // its log (a mktemp name) is removed after a successful install
    } finally {
      rmSync(bin, { recursive: true, force: true });
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 90_000);
});

describe('writeLocalConfig: raw write credentials only by an explicit, explained opt-in', () => {
  it('writes rawWriteCredentials: true under its reason for the client that asks, and nothing for the others', () => {
    const dir = mkdtempSync(join(tmpdir(), 'startstop-config-'));
    try {
      const file = join(dir, 'broker.yaml');
      const [a, b] = [generateApiKey(), generateApiKey()];
      writeLocalConfig(file, {
        region: 'us-east-1',
        partners: [{
          name: 'demo', roleArn: 'arn:aws:iam::123456789012:role/partner-role', bucket: 'partner-bucket', prefix: 'demo/',
          clients: {
            writer: { keyId: a.id, sha256: a.sha256, prefix: 'demo/writer/', rawWriteCredentials: { why: 'the AWS CLI example copies files in\nwith vended credentials' } },
            plain: { keyId: b.id, sha256: b.sha256, prefix: 'demo/plain/' },
          },
        }],
      });
      const text = readFileSync(file, 'utf8');
      expect(text).toContain('        # the AWS CLI example copies files in\n        # with vended credentials\n        rawWriteCredentials: true\n');
      expect(text.match(/rawWriteCredentials/g)).toHaveLength(1);
      const clients = loadConfigFile(file).partners.demo!.clients;
      expect(clients.writer!.rawWriteCredentials).toBe(true);
      expect(clients.plain!.rawWriteCredentials).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
