import { randomBytes } from 'node:crypto';
import { UploadNotFoundError } from '../../src/domain/errors.js';
import type { MultipartCall, UploadedPart } from '../../src/domain/model.js';
import type { MultipartStore } from '../../src/ports/ports.js';

/** What each operation receives. */
export interface MultipartInputs {
  create: MultipartCall & { contentType: string };
  listParts: MultipartCall & { uploadId: string };
  complete: MultipartCall & { uploadId: string; parts: ReadonlyArray<{ partNumber: number; etag: string }> };
  abort: MultipartCall & { uploadId: string };
}

/** One recorded call: the operation and exactly what the route passed (credentials included, for assertions). */
export type MultipartStoreCall = { [Op in keyof MultipartInputs]: { op: Op; input: MultipartInputs[Op] } }[keyof MultipartInputs];

/**
 * An in-memory S3 multipart model that records every call. Uploads live here by id; tests put parts
 * in with `putPart` (what a client's presigned PUT would do) and make any operation fail with `failWith`.
 */
export class RecordingMultipartStore implements MultipartStore {
  readonly calls: MultipartStoreCall[] = [];
  readonly uploads = new Map<string, { key: string; contentType: string; parts: Map<number, UploadedPart> }>();
  readonly completed: Array<{ key: string; uploadId: string; parts: UploadedPart[] }> = [];
  failWith: Partial<Record<MultipartStoreCall['op'], Error>> = {};

  async create(input: MultipartCall & { contentType: string }): Promise<{ uploadId: string }> {
    this.record({ op: 'create', input });
    const uploadId = `2~${randomBytes(12).toString('base64url')}`;
    this.uploads.set(uploadId, { key: input.key, contentType: input.contentType, parts: new Map() });
    return { uploadId };
  }

  async listParts(input: MultipartCall & { uploadId: string }): Promise<UploadedPart[]> {
    this.record({ op: 'listParts', input });
    return [...this.upload(input).parts.values()].sort((a, b) => a.partNumber - b.partNumber);
  }

  async complete(input: MultipartCall & { uploadId: string; parts: ReadonlyArray<{ partNumber: number; etag: string }> }): Promise<{ etag: string }> {
    this.record({ op: 'complete', input });
    const upload = this.upload(input);
    this.completed.push({ key: input.key, uploadId: input.uploadId, parts: input.parts.map((p) => upload.parts.get(p.partNumber)!) });
    this.uploads.delete(input.uploadId);
    return { etag: `"${randomBytes(16).toString('hex')}-${input.parts.length}"` };
  }

  async abort(input: MultipartCall & { uploadId: string }): Promise<void> {
    this.record({ op: 'abort', input });
    this.upload(input);
    this.uploads.delete(input.uploadId);
  }

  /** What a presigned part PUT does: stores the part (replacing an earlier one) and returns its ETag, quoted like S3's. */
  putPart(uploadId: string, partNumber: number, size: number, etag = `"${randomBytes(16).toString('hex')}"`): string {
    const upload = this.uploads.get(uploadId);
    if (!upload) throw new Error(`no upload ${uploadId} in the fake`);
    upload.parts.set(partNumber, { partNumber, size, etag });
    return etag;
  }

  /** Calls of one operation, in order. */
  callsOf<Op extends keyof MultipartInputs>(op: Op): Array<MultipartInputs[Op]> {
    return this.calls.filter((c) => c.op === op).map((c) => c.input as MultipartInputs[Op]);
  }

  private record(call: MultipartStoreCall): void {
    this.calls.push(call);
    const failure = this.failWith[call.op];
    if (failure) throw failure;
  }

  private upload(input: MultipartCall & { uploadId: string }) {
    const upload = this.uploads.get(input.uploadId);
    // S3 ties an upload id to its key: the same id under another key is NoSuchUpload too
    if (!upload || upload.key !== input.key) throw new UploadNotFoundError('no such multipart upload for this key: it was never created, or was completed, aborted or expired');
    return upload;
  }
}
