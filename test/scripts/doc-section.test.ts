import { describe, expect, it } from 'vitest';
import { docSection } from '../../scripts/bench/doc-section';
import { SQS_SECTION_END, SQS_SECTION_START, sqsSectionOf } from '../../scripts/bench/sqs-section';

const doc = [
  '# Benchmarks',
  '',
  '## Recovery latencies',
  '',
  '| figure | ms |',
  '',
  SQS_SECTION_START,
  '## SQS (fauxqs) beside BullMQ',
  '',
  'sqs text',
  SQS_SECTION_END,
  '',
  '## Console page times',
  '',
  'pages',
  '',
].join('\n');

describe('docSection', () => {
  it('ends a carried section at the next heading', () => {
    expect(docSection(doc, '## Console page times')).toBe('## Console page times\n\npages\n');
  });

  it("ends it at a marker line too, so another writer's section is not carried twice", () => {
    expect(docSection(doc, '## Recovery latencies')).toBe(
      '## Recovery latencies\n\n| figure | ms |\n',
    );
    // What the bench writes: carried sections, then the sqs section as it was.
    const rewritten = [
      docSection(doc, '## Recovery latencies'),
      sqsSectionOf(doc),
      docSection(doc, '## Console page times'),
    ].join('\n');
    const again = [
      docSection(rewritten, '## Recovery latencies'),
      sqsSectionOf(rewritten),
      docSection(rewritten, '## Console page times'),
    ].join('\n');
    expect(again).toBe(rewritten);
    expect(again.split(SQS_SECTION_START)).toHaveLength(2);
  });

  it("is '' for a heading the doc does not have", () => {
    expect(docSection(doc, '## Retention pruning')).toBe('');
  });
});
