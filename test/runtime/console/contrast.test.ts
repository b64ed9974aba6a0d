import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * WCAG AA for the console's text: 4.5:1 for every text colour on every background it is
 * drawn on. Colours are read from the stylesheet itself, so a change there is checked here.
 */
const css = readFileSync(
  new URL('../../../runtime/console/client/console.css', import.meta.url),
  'utf8',
);

/** The value of `property` in the first rule whose selector list includes `selector`. */
function declared(selector: string, property: 'color' | 'background'): string {
  for (const rule of css.matchAll(/([^{}]+)\{([^}]*)\}/g)) {
    const selectors = (rule[1] ?? '').split(',').map((s) => s.trim());
    if (!selectors.includes(selector)) continue;
    const value = new RegExp(`(?:^|;|\\s)${property}:\\s*([^;]+);`).exec(rule[2] ?? '')?.[1];
    if (value !== undefined) return resolve(value.trim());
  }
  throw new Error(`${selector} declares no ${property}`);
}

function resolve(value: string): string {
  const variable = /^var\((--[a-z-]+)\)$/.exec(value)?.[1];
  if (variable === undefined) return value;
  const found = new RegExp(`${variable}:\\s*([^;]+);`).exec(css)?.[1];
  if (found === undefined) throw new Error(`${variable} is not defined`);
  return found.trim();
}

function luminance(hex: string): number {
  const full = hex.length === 4 ? hex.replace(/[0-9a-f]/gi, (d) => d + d) : hex;
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = Number.parseInt(full.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * (r ?? 0) + 0.7152 * (g ?? 0) + 0.0722 * (b ?? 0);
}

const contrast = (a: string, b: string) => {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return ((hi ?? 0) + 0.05) / ((lo ?? 0) + 0.05);
};

const page = declared('body', 'background');
const text = declared('body', 'color');
const muted = declared('.muted', 'color');
const errorFill = declared('.message.error', 'background');
const codeFill = declared('pre', 'background');

describe('console colours (WCAG AA, 4.5:1)', () => {
  it.each([
    ['body text on the page', text, page],
    ['links on the page', declared('a', 'color'), page],
    ['muted text on the page', muted, page],
    ['muted text on a failed step or alert tile', muted, errorFill],
    ['body text on a failed step', text, declared('.failed-step', 'background')],
    ['error messages', declared('.message.error', 'color'), errorFill],
    ['info messages', text, declared('.message.info', 'background')],
    ['buttons', declared('button', 'color'), declared('button', 'background')],
    [
      'primary buttons',
      declared('button.primary', 'color'),
      declared('button.primary', 'background'),
    ],
    ['badges', declared('.badge', 'color'), declared('.badge', 'background')],
    ['succeeded badges', declared('.badge', 'color'), declared('.badge.succeeded', 'background')],
    ['failed badges', declared('.badge', 'color'), declared('.badge.failed', 'background')],
    ['running badges', declared('.badge', 'color'), declared('.badge.running', 'background')],
    ['JSON keys', declared('.j-key', 'color'), codeFill],
    ['JSON strings', declared('.j-str', 'color'), codeFill],
    ['JSON numbers', declared('.j-num', 'color'), codeFill],
    ['JSON literals', declared('.j-lit', 'color'), codeFill],
    [
      'JSON strings in a removed diff line',
      declared('.j-str', 'color'),
      declared('.diff-del', 'background'),
    ],
    ['field errors', declared('.field-errors', 'color'), page],
  ])('%s', (_name, foreground, background) => {
    expect(contrast(foreground, background)).toBeGreaterThanOrEqual(4.5);
  });
});
