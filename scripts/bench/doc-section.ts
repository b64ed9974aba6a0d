/**
 * The section of a report under `heading` (up to the next `## `), or '' when it has none: an
 * opt-in scenario's section is carried over by a run that did not measure it.
 */
export function docSection(doc: string, heading: string): string {
  const start = doc.indexOf(heading);
  if (start === -1) return '';
  const end = doc.indexOf('\n## ', start + heading.length);
  return `${doc.slice(start, end === -1 ? undefined : end + 1).trimEnd()}\n`;
}
