/**
 * Browser or mobile-web upload with a POST policy from sts-broker: the page gets `{ url, fields }`
 * from its own back end (which called POST /v1/uploads with method "POST"), then posts the file
 * straight to S3. Works with `fetch` + `FormData` in every browser, React Native and Node ≥ 20.
 *
 * S3's rules for the form: every field exactly as returned (the signed policy pins key,
 * Content-Type, bucket, size range and the session token), and the file LAST: S3 ignores fields
 * after it. Run by test/unit/postUploadRecipe.test.ts; test/e2e/post.test.ts posts the same form
 * shape (curl -F, fields then file) to the local S3.
 */

/** The `{ url, fields }` of a POST /v1/uploads answer (method "POST"). */
export interface PostForm {
  url: string;
  fields: Record<string, string>;
}

/** S3 refused the upload: its status and error code (`EntityTooLarge`, `AccessDenied`, …). */
export class PostUploadError extends Error {
  constructor(readonly status: number, readonly code: string | undefined) {
    super(`S3 refused the upload: HTTP ${status}${code ? ` ${code}` : ''}`);
    this.name = 'PostUploadError';
  }
}

/** Posts `file` with the form's fields; resolves when S3 stored it (204, or 200/201 with a redirect or status field). */
export async function uploadWithPostPolicy(form: PostForm, file: Blob, filename = 'upload', fetchImpl: typeof fetch = fetch): Promise<void> {
  const body = new FormData();
  for (const [name, value] of Object.entries(form.fields)) body.append(name, value);
  body.append('file', file, filename); // last: S3 reads no field after the file
  // no Content-Type header here: fetch sets multipart/form-data with its boundary
  const res = await fetchImpl(form.url, { method: 'POST', body });
  const text = await res.text();
  if (!res.ok) throw new PostUploadError(res.status, /<Code>([^<]+)<\/Code>/.exec(text)?.[1]);
}
