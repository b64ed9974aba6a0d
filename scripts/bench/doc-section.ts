/**
 * The section of a report under `heading` (up to the next `## ` or the next `<!-- ` marker line,
 * which opens a section kept by its own writer), or '' when it has none: an opt-in scenario's
 * section is carried over by a run that did not measure it.
 */
export function docSection(doc: string, heading: string): string {
  const start = doc.indexOf(heading);
  if (start === -1) return '';
  const ends = ['\n## ', '\n<!-- ']
    .map((next) => doc.indexOf(next, start + heading.length))
    .filter((index) => index !== -1);
  const end = ends.length === 0 ? -1 : Math.min(...ends);
  return `${doc.slice(start, end === -1 ? undefined : end + 1).trimEnd()}\n`;
}
