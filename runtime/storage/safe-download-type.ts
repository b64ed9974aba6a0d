/**
 * Media types a browser will not run as a page or script. A stored file is the uploader's
 * bytes with the uploader's claimed type; any other type (text/html, image/svg+xml, XML,
 * JavaScript...) is served as application/octet-stream, and always as an attachment.
 */
const INERT_TYPES = new Set([
  'application/octet-stream',
  'application/json',
  'application/pdf',
  'application/zip',
  'application/gzip',
  'text/plain',
  'text/csv',
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'audio/mpeg',
  'video/mp4',
]);

export function safeDownloadType(storedType: string | null | undefined): string {
  const mediaType = (storedType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return INERT_TYPES.has(mediaType) ? mediaType : 'application/octet-stream';
}
