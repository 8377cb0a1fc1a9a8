// The demo page's script (bundled by scripts/lib/demoServer.ts with esbuild when `npm start` starts; never
// deployed). Two ways to upload through the broker with the same token: the client package (drop zone,
// progress bar, pause/resume, resume after a reload from the broker's part listing) and Uppy's Dashboard
// with @uppy/aws-s3 over brokerUppy (the README's snippet).
import Uppy from '@uppy/core';
import Dashboard from '@uppy/dashboard';
import AwsS3 from '@uppy/aws-s3';
import '@uppy/core/css/style.min.css';
import '@uppy/dashboard/css/style.min.css';
import { brokerUppy, createBrokerClient, type MultipartState } from '../clients/js/src/index.js';

interface DemoConfig { brokerUrl: string; multipartThreshold: number; concurrency: number }

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const config = (await (await fetch('/config.json')).json()) as DemoConfig;

// ---- the token: from the demo server (same origin), which mints it with the local OIDC issuer
let cached: { token: string; expiresAt: number } | undefined;
async function token(): Promise<string> {
  if (cached && cached.expiresAt - Date.now() > 60_000) return cached.token;
  const res = await fetch('/token', { cache: 'no-store' });
  if (!res.ok) throw new Error(`the demo server gave no token (${res.status})`);
  const body = (await res.json()) as { token: string; subject: string; expiresIn: number };
  cached = { token: body.token, expiresAt: Date.now() + body.expiresIn * 1000 };
  $('who').textContent = body.subject;
  return body.token;
}

function done(via: string, key: string, bytes: number): void {
  const li = document.createElement('li');
  li.dataset.key = key;
  li.dataset.via = via;
  li.textContent = `${via}: ${key} (${bytes.toLocaleString('en')} bytes)`;
  $('done').append(li);
}

// ---- 1. the client package
const client = createBrokerClient({ url: config.brokerUrl, auth: { token } });
const SAVED = 'sts-broker-demo-client-uploads';
type Saved = Record<string, MultipartState>;
const fingerprint = (f: File) => JSON.stringify([f.name, f.size, f.type, f.lastModified]);
const readSaved = (): Saved => { try { return JSON.parse(localStorage.getItem(SAVED) ?? '{}') as Saved; } catch { return {}; } };
const writeSaved = (s: Saved) => localStorage.setItem(SAVED, JSON.stringify(s));

const progress = $<HTMLProgressElement>('progress');
const status = (text: string) => { $('status').textContent = text; };
const pauseButton = $<HTMLButtonElement>('pause');
const resumeButton = $<HTMLButtonElement>('resume');
let current: { file: File; controller: AbortController } | undefined;

function showProgress(sent: number, total: number): void {
  progress.max = total || 1;
  progress.value = sent;
  status(`${Math.round((sent / (total || 1)) * 100)} % (${sent.toLocaleString('en')} of ${total.toLocaleString('en')} bytes)`);
}

async function send(file: File): Promise<void> {
  const saved = readSaved()[fingerprint(file)];
  const controller = new AbortController();
  current = { file, controller };
  try {
    if (file.size <= config.multipartThreshold && !saved) {
      const key = `client/${Date.now()}-${file.name}`;
      const result = await client.upload(file, { key, contentType: file.type, signal: controller.signal, onProgress: showProgress });
      done('client', result.key, file.size);
      return;
    }
    pauseButton.disabled = false;
    resumeButton.disabled = true;
    if (saved) status(`resuming ${file.name}: asking the broker which parts S3 holds…`);
    const result = await client.uploadMultipart(file, {
      key: saved?.key ?? `client/${Date.now()}-${file.name}`,
      contentType: file.type,
      concurrency: config.concurrency,
      signal: controller.signal,
      onProgress: showProgress,
      // saved after create: enough to resume after a reload (the parts come from the broker's listing)
      onState: (state) => writeSaved({ ...readSaved(), [fingerprint(file)]: { ...state, parts: [] } }),
      keepOnFailure: true,
      ...(saved ? { resume: saved, resumeFromListing: true } : {}),
    });
    const all = readSaved();
    delete all[fingerprint(file)];
    writeSaved(all);
    pauseButton.disabled = true;
    resumeButton.disabled = true;
    done('client', result.key, file.size);
  } catch (error) {
    if (controller.signal.aborted) {
      status(`paused at ${progress.value.toLocaleString('en')} bytes`);
      pauseButton.disabled = true;
      resumeButton.disabled = false;
      return;
    }
    status(`failed: ${(error as Error).message}`);
  }
}

pauseButton.addEventListener('click', () => current?.controller.abort());
resumeButton.addEventListener('click', () => { if (current) void send(current.file); });
$<HTMLInputElement>('file').addEventListener('change', (e) => {
  const file = (e.target as HTMLInputElement).files?.[0];
  if (file) void send(file);
});
const drop = $('drop');
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const file = e.dataTransfer?.files[0];
  if (file) void send(file);
});
const pending = Object.values(readSaved());
if (pending.length > 0) status(`${pending.length} unfinished upload(s): choose the same file again to resume (${pending.map((s) => s.key).join(', ')})`);

// ---- 2. Uppy: the README's snippet
const uppy = new Uppy({ autoProceed: true });
uppy.use(Dashboard, { inline: true, target: '#uppy', height: 300, width: '100%', proudlyDisplayPoweredByUppy: false });
const broker = brokerUppy({
  url: config.brokerUrl,
  auth: { token },
  multipartThreshold: config.multipartThreshold,
  keyFor: (file) => `uppy/${Date.now()}-${file.name ?? 'file'}`,
});
uppy.use(AwsS3, { ...broker.awsS3Options, limit: 2 });
uppy.on('file-added', (file) => {
  if (broker.restore(uppy, file)) $('uppy-status').textContent = `resuming ${file.name} from the parts S3 holds`;
});
uppy.on('upload-success', (file, response) => {
  const key = (response.body as { key?: string } | undefined)?.key ?? '';
  done('uppy', key, file?.size ?? 0);
});
uppy.on('upload-error', (_file, error) => { $('uppy-status').textContent = `failed: ${error.message}`; });

void token().catch((e: unknown) => status(`no token: ${(e as Error).message}`));
// for the browser e2e test (test/e2e/browser.test.ts) and for poking around in the console
Object.assign(window, { demo: { uppy, broker, client, pause: () => current?.controller.abort(), resume: () => current && send(current.file) } });
