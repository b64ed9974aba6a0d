/** Markers of the "SQS beside BullMQ" section that `npm run bench -- --queue sqs` writes. */
export const SQS_SECTION_START = '<!-- sqs-beside-bullmq -->';
export const SQS_SECTION_END = '<!-- /sqs-beside-bullmq -->';

/** The section of a benchmarks doc, markers included, or ''; a bullmq run keeps it as it is. */
export function sqsSectionOf(doc: string): string {
  const start = doc.indexOf(SQS_SECTION_START);
  const end = doc.indexOf(SQS_SECTION_END);
  return start === -1 || end === -1 ? '' : doc.slice(start, end + SQS_SECTION_END.length);
}
