/**
 * Reads the files of a zip archive (the function artifacts `npm run package` writes), so
 * scripts/check-package can look inside the bundles without an unzip binary. Handles what
 * serverless-esbuild writes: stored or deflated entries, no ZIP64, no encryption; anything else is
 * an error naming the archive, never a silent skip.
 */
import { inflateRawSync } from 'node:zlib';

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** Every file entry of the archive: name and uncompressed bytes. */
export function zipEntries(archive: Buffer, label = 'archive'): Array<{ name: string; data: Buffer }> {
  const fail = (why: string): never => { throw new Error(`${label}: ${why}`); };
  // The end-of-central-directory record sits in the last 22 bytes plus a comment of up to 64 KiB.
  let eocd = -1;
  for (let i = archive.length - 22; i >= Math.max(0, archive.length - 22 - 0xffff); i -= 1) {
    if (archive.readUInt32LE(i) === EOCD) { eocd = i; break; }
  }
  if (eocd < 0) fail('not a zip archive (no end-of-central-directory record)');
  const count = archive.readUInt16LE(eocd + 10);
  let at = archive.readUInt32LE(eocd + 16);
  if (count === 0xffff || at === 0xffffffff) fail('ZIP64 archives are not supported');
  const entries: Array<{ name: string; data: Buffer }> = [];
  for (let n = 0; n < count; n += 1) {
    if (at + 46 > archive.length || archive.readUInt32LE(at) !== CENTRAL) fail(`bad central directory entry ${n}`);
    const flags = archive.readUInt16LE(at + 8);
    const method = archive.readUInt16LE(at + 10);
    const compressed = archive.readUInt32LE(at + 20);
    const size = archive.readUInt32LE(at + 24);
    const nameLength = archive.readUInt16LE(at + 28);
    const next = at + 46 + nameLength + archive.readUInt16LE(at + 30) + archive.readUInt16LE(at + 32);
    const local = archive.readUInt32LE(at + 42);
    const name = archive.toString('utf8', at + 46, at + 46 + nameLength);
    at = next;
    if (name.endsWith('/')) continue;
    if ((flags & 1) !== 0) fail(`${name} is encrypted`);
    if (local + 30 > archive.length || archive.readUInt32LE(local) !== LOCAL) fail(`bad local header for ${name}`);
    const start = local + 30 + archive.readUInt16LE(local + 26) + archive.readUInt16LE(local + 28);
    const raw = archive.subarray(start, start + compressed);
    const data = method === 0 ? Buffer.from(raw) : method === 8 ? inflateRawSync(raw) : fail(`${name}: compression method ${method} is not supported`);
    if (data.length !== size) fail(`${name}: ${data.length} bytes after inflating, the directory says ${size}`);
    entries.push({ name, data });
  }
  return entries;
}
