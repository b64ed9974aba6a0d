/** Above this many characters a value starts folded: a page stays readable with big outputs. */
const FOLD_AT = 2000;

const TOKEN =
  /("(?:\\.|[^"\\])*")(\s*:)?|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|\b(true|false|null)\b/g;

/**
 * Above this many characters (of the value's compact JSON) only its beginning is shown: a
 * webhook caller's 25 MB body would otherwise become a page of hundreds of MB, with a span per
 * token, built in the APP's memory while every other request waits.
 */
export const SHOW_AT_MOST = 100_000;

/**
 * Pretty JSON with its tokens coloured. Every piece is a JSX text child, so a value holding
 * markup is escaped like any other text.
 */
export function JsonView({ value, label }: { value: unknown; label?: string }) {
  const compact = JSON.stringify(value) ?? 'undefined';
  if (compact.length > SHOW_AT_MOST) {
    return (
      <details>
        <summary>{`${label ?? 'value'}: ${compact.length.toLocaleString('en')} characters, too large to show whole (the first ${SHOW_AT_MOST.toLocaleString('en')}, show)`}</summary>
        <pre>{coloured(compact.slice(0, SHOW_AT_MOST))}…</pre>
      </details>
    );
  }
  const text = JSON.stringify(value, null, 2) ?? 'undefined';
  const pre = <pre>{coloured(text)}</pre>;
  if (text.length <= FOLD_AT) return pre;
  return (
    <details>
      <summary>{`${label ?? 'value'}: ${text.length.toLocaleString('en')} characters (show)`}</summary>
      {pre}
    </details>
  );
}

/** The JSON text as text and spans, one span per string, number or literal. */
function coloured(text: string) {
  const parts = [];
  let at = 0;
  for (const match of text.matchAll(TOKEN)) {
    const index = match.index ?? 0;
    if (index > at) parts.push(text.slice(at, index));
    const [whole, str, colon, num, lit] = match;
    if (str !== undefined) {
      parts.push(<span class={colon === undefined ? 'j-str' : 'j-key'}>{str}</span>);
      if (colon !== undefined) parts.push(colon);
    } else if (num !== undefined) parts.push(<span class="j-num">{num}</span>);
    else if (lit !== undefined) parts.push(<span class="j-lit">{lit}</span>);
    at = index + whole.length;
  }
  parts.push(text.slice(at));
  return parts;
}
