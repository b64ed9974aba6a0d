import type { StepDetail } from '../step-details';
import { JsonView } from './json-view';

const count = (n: number) => n.toLocaleString('en');

/**
 * What a step was given, beside its output. An input too large to keep whole shows its size
 * and, when the log kept one, the start of its JSON, folded like a large value.
 */
export function StepInput({ detail }: { detail: StepDetail }) {
  const { input, inputTruncated: truncated } = detail;
  return (
    <section class="step-input">
      <h3>Input</h3>
      {input !== undefined && <JsonView value={input.value} label="input" />}
      {truncated !== undefined && (
        <>
          <p class="muted">
            {`Too large to keep whole: ${count(truncated.bytes)} bytes of JSON`}
            {truncated.items !== undefined && `, ${count(truncated.items)} items`}
            {truncated.preview === undefined
              ? '. Left out so that the outputs fit in the run log.'
              : '. Its start:'}
          </p>
          {truncated.preview !== undefined && (
            <details>
              <summary>input: the start of its JSON (show)</summary>
              <pre>{truncated.preview}</pre>
            </details>
          )}
        </>
      )}
    </section>
  );
}
