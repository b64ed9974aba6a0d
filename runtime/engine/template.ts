import { StepFailedError } from './errors/step-failed-error';
import { type JsonBound, overBound } from './json-bound';
import { jsonCertainlyOver } from './json-size';
import { isNotFound, type PathSegment, parsePath, walkPath } from './template-path';

/**
 * `{{path}}` templates. A string that is exactly one template resolves to the value at the
 * path, keeping its type; any other string with templates resolves to text.
 */

export interface TemplateRef {
  /** The template as written, such as `{{calc.n}}`. */
  readonly source: string;
  /** The path inside the braces, trimmed. */
  readonly pathText: string;
  readonly segments: readonly PathSegment[];
}

type TemplatePart = string | TemplateRef;

export interface ParsedTemplate {
  readonly parts: readonly TemplatePart[];
  /** True when the whole string is one template, so the value keeps its type. */
  readonly isSingleRef: boolean;
}

/** Where template roots (`trigger` and step ids) are looked up. */
export interface TemplateRoots {
  /** The value for a root name, or undefined when the scope has no such root. */
  rootValue(name: string): unknown;
  hasRoot(name: string): boolean;
}

const TEMPLATE = /\{\{([^{}]*)\}\}/g;
const MAX_CACHED_TEMPLATES = 10_000;
const parsedTemplates = new Map<string, ParsedTemplate>();

/** Parses every `{{...}}` in `text`; throws a message for a template whose path is invalid. */
export function parseTemplate(text: string): ParsedTemplate {
  const cached = parsedTemplates.get(text);
  if (cached) return cached;
  const parts: TemplatePart[] = [];
  let textStart = 0;
  for (const match of text.matchAll(TEMPLATE)) {
    const pathText = (match[1] ?? '').trim();
    const parsed = parsePath(pathText);
    if ('error' in parsed)
      throw new StepFailedError(`invalid template ${match[0]}: ${parsed.error}`);
    if (match.index > textStart) parts.push(text.slice(textStart, match.index));
    parts.push({ source: `{{${pathText}}}`, pathText, segments: parsed.segments });
    textStart = match.index + match[0].length;
  }
  if (textStart < text.length) parts.push(text.slice(textStart));
  const template = { parts, isSingleRef: parts.length === 1 && typeof parts[0] !== 'string' };
  // Flow definitions are few and immutable, so an unbounded-looking cache stays small; the cap
  // only guards against a pathological stream of distinct definitions.
  if (parsedTemplates.size >= MAX_CACHED_TEMPLATES) parsedTemplates.clear();
  parsedTemplates.set(text, template);
  return template;
}

export function hasTemplate(text: string): boolean {
  return text.includes('{{');
}

/** Calls `visit` for every template in a JSON-like value, with the field path it sits at. */
export function forEachTemplateRef(
  value: unknown,
  fieldPath: readonly PathSegment[],
  visit: (ref: TemplateRef, fieldPath: readonly PathSegment[]) => void,
  onInvalid: (message: string, fieldPath: readonly PathSegment[]) => void,
): void {
  if (typeof value === 'string') {
    if (!hasTemplate(value)) return;
    let template: ParsedTemplate;
    try {
      template = parseTemplate(value);
    } catch (error) {
      onInvalid((error as Error).message, fieldPath);
      return;
    }
    for (const part of template.parts) if (typeof part !== 'string') visit(part, fieldPath);
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => {
      forEachTemplateRef(item, [...fieldPath, index], visit, onInvalid);
    });
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      forEachTemplateRef(item, [...fieldPath, key], visit, onInvalid);
    }
  }
}

export interface ResolveOptions {
  /**
   * The JSON size the resolved value is bound by (see json-bound.ts). A text template longer
   * than it fails the step by name before it is built.
   */
  readonly bound: JsonBound;
  /** Resolve a missing path to undefined instead of failing (the branch `exists` operator). */
  readonly missingAsUndefined?: boolean;
}

/** Resolves every template in a JSON-like value; fails the step on a missing path. */
export function resolveTemplates(
  value: unknown,
  roots: TemplateRoots,
  options: ResolveOptions,
): unknown {
  if (typeof value === 'string') return resolveString(value, roots, options);
  if (Array.isArray(value)) return value.map((item) => resolveTemplates(item, roots, options));
  if (value !== null && typeof value === 'object') {
    // fromEntries defines each key, so a "__proto__" key stays a key instead of setting the
    // resolved object's prototype (to a value a webhook caller may choose) and vanishing.
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, resolveTemplates(item, roots, options)]),
    );
  }
  return value;
}

function resolveString(text: string, roots: TemplateRoots, options: ResolveOptions): unknown {
  if (!hasTemplate(text)) return text;
  let template: ParsedTemplate;
  try {
    template = parseTemplate(text);
  } catch (error) {
    throw new StepFailedError((error as Error).message);
  }
  const [first] = template.parts;
  if (template.isSingleRef && first !== undefined && typeof first !== 'string') {
    return lookup(first, roots, options);
  }
  // Measured before it is joined: the parts can repeat one large value past any size, and past
  // V8's longest string (about 512 Mi characters) joining them throws, an internal error. A
  // string's JSON takes at least its length in UTF-8 bytes, so the length is a fair bound.
  const { bound } = options;
  let resolved = '';
  for (const part of template.parts) {
    const room = bound.maxBytes - resolved.length;
    const text =
      typeof part === 'string' ? part : asText(lookup(part, roots, options), room, bound);
    if (text.length > room) throw overBound(bound, 'a text template');
    resolved += text;
  }
  return resolved;
}

function lookup(ref: TemplateRef, roots: TemplateRoots, options: ResolveOptions): unknown {
  const [root, ...rest] = ref.segments;
  const rootName = String(root);
  const found = roots.hasRoot(rootName) ? walkPath(roots.rootValue(rootName), rest) : undefined;
  if (found !== undefined && !isNotFound(found)) return found;
  if (options.missingAsUndefined) return undefined;
  if (rootName === 'secrets') {
    throw new StepFailedError(
      `template ${ref.source}: secret "${String(rest[0])}" does not exist (deleted after this flow version was saved)`,
    );
  }
  const hint = roots.hasRoot(rootName) ? '' : ` (step ${rootName} has not run)`;
  throw new StepFailedError(`template ${ref.source}: path "${ref.pathText}" not found${hint}`);
}

/** `value` as text; an object's JSON only when it may fit in `room` characters. */
function asText(value: unknown, room: number, bound: JsonBound): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  if (value !== null && typeof value === 'object') {
    if (jsonCertainlyOver(value, room)) throw overBound(bound, 'a text template');
    return JSON.stringify(value);
  }
  return String(value);
}
