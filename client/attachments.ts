/**
 * Uploads a file with the presigned POST an upload request was answered with: the grant's fields first, the file
 * last (S3 ignores form fields after the file). Works in browsers and Node (global fetch, FormData, Blob).
 */
import type { UploadGrant } from './chat-client.ts';

export class UploadRefused extends Error {
  constructor(
    readonly status: number,
    /** S3's error code (EntityTooLarge, AccessDenied, …) from its XML answer. */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'UploadRefused';
  }
}

export function uploadForm(grant: UploadGrant, file: Blob, fileName: string): FormData {
  const form = new FormData();
  for (const [name, value] of Object.entries(grant.fields)) form.append(name, value);
  form.append('file', file, fileName);
  return form;
}

/** S3's error XML: `<Error><Code>…</Code><Message>…</Message></Error>`. */
export function parseS3Error(status: number, body: string): UploadRefused {
  const code = /<Code>([^<]*)<\/Code>/.exec(body)?.[1] ?? `HTTP${status}`;
  const message = /<Message>([^<]*)<\/Message>/.exec(body)?.[1] ?? body.slice(0, 200);
  return new UploadRefused(status, code, `${code}: ${message}`);
}

export async function postUpload(grant: UploadGrant, file: Blob, fileName: string): Promise<void> {
  const response = await fetch(grant.url, { method: 'POST', body: uploadForm(grant, file, fileName) });
  if (response.ok) return;
  throw parseS3Error(response.status, await response.text());
}
