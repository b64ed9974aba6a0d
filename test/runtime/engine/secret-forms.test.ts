import { describe, expect, it } from 'vitest';
import { base64Forms, createRedactor, secretForms } from '../../../runtime/engine/secret-redaction';

describe('the forms a secret is redacted in', () => {
  const redact = (secret: string, text: string) =>
    createRedactor(new Map([['S', secret]])).text(text);

  it('finds a value JSON-escaped up to three times, as bodies quoting bodies carry it', () => {
    const pem = '-----BEGIN KEY-----\nMIIBqUx7Q2z\n"quoted"\n-----END KEY-----';
    const once = JSON.stringify({ key: pem });
    const twice = JSON.stringify({ got: once });
    const thrice = JSON.stringify({ error: twice });
    for (const text of [pem, once, twice, thrice]) {
      expect(redact(pem, text)).not.toContain('MIIBqUx7Q2z');
    }
    expect(redact(pem, thrice)).toContain('[secret:S]');
  });

  it("finds a value as other languages' JSON encoders escape it by default", () => {
    // A key with a slash and a plus (as base64 keys have), HTML-significant characters,
    // non-ASCII and a quote, as each encoder writes it inside a JSON string by default.
    const key = 'wJalr/XUtn+FEMI<K7>&bPx\'Rfiä😀Key"';
    const encoded = {
      'PHP json_encode': String.raw`wJalr\/XUtn+FEMI<K7>&bPx'Rfi\u00e4\ud83d\ude00Key\"`,
      'Python json.dumps': String.raw`wJalr/XUtn+FEMI<K7>&bPx'Rfi\u00e4\ud83d\ude00Key\"`,
      'Go encoding/json': String.raw`wJalr/XUtn+FEMI\u003cK7\u003e\u0026bPx'Rfiä😀Key\"`,
      '.NET System.Text.Json': String.raw`wJalr/XUtn\u002BFEMI\u003CK7\u003E\u0026bPx\u0027Rfi\u00E4\uD83D\uDE00Key\u0022`,
    };
    for (const [encoder, text] of Object.entries(encoded)) {
      // Each is the key: JSON.parse reads it back.
      expect(JSON.parse(`"${text}"`)).toBe(key);
      const body = `{"auth":"${text}"}`;
      expect({ encoder, redacted: redact(key, body) }).toEqual({
        encoder,
        redacted: '{"auth":"[secret:S]"}',
      });
      // Quoted once more, as an error quoting that body.
      const quoted = JSON.stringify({ got: body });
      expect(redact(key, quoted)).toBe(JSON.stringify({ got: '{"auth":"[secret:S]"}' }));
    }
  });

  it('finds a value as a parsed URL prints it: path, query and host', () => {
    const pw = 'Päss wörd{7}Xq';
    const path = new URL(`http://127.0.0.1:1/login/${pw}`).href;
    expect(path).toContain('P%C3%A4ss%20w%C3%B6rd%7B7%7DXq');
    expect(redact(pw, `GET ${path}: request failed`)).toBe(
      'GET http://127.0.0.1:1/login/[secret:S]: request failed',
    );
    const query = new URL(`http://h/x?k=${encodeURIComponent(pw)}`).search;
    expect(redact(pw, query)).toBe('?k=[secret:S]');
    expect(redact(pw, new URLSearchParams([['k', pw]]).toString())).toBe('k=[secret:S]');
    const sub = 'TenantAcme7731Secret';
    const host = new URL(`http://${sub}.example.invalid/x`).hostname;
    expect(redact(sub, `getaddrinfo ENOTFOUND ${host}`)).toBe(
      'getaddrinfo ENOTFOUND [secret:S].example.invalid',
    );
    expect(redact('bücher', new URL('http://bücher.example/').hostname)).toBe('[secret:S].example');
  });

  it('never adds a fragment of the value that the URL parser would split off', () => {
    for (const secret of ['a/../b', 'user:pw@host', 'x?y=1', 'p#frag', 'h:8080']) {
      for (const form of secretForms(secret)) {
        expect(form.length, `${secret} → ${form}`).toBeGreaterThanOrEqual(secret.length);
      }
    }
  });

  it('finds a value inside base64 text at each of the three offsets, in both alphabets', () => {
    const secret = 'tok?>~ü-Xq9';
    for (const before of ['', 'u', 'us', 'user:']) {
      for (const after of ['', '!', 'x?']) {
        const sent = Buffer.from(`${before}${secret}${after}`);
        for (const encoding of ['base64', 'base64url'] as const) {
          const text = `Basic ${sent.toString(encoding)}`;
          const out = redact(secret, text);
          expect(out, `${before}|${after} ${encoding}`).toContain('[secret:S]');
          // Left around the mark: the neighbours' characters, one shared character at each
          // end and padding; nothing else of the value.
          const left = out.length - 'Basic '.length - '[secret:S]'.length;
          const neighbours = Math.ceil((before.length * 8) / 6) + Math.ceil((after.length * 8) / 6);
          expect(left, `${before}|${after} ${encoding}`).toBeLessThanOrEqual(neighbours + 4);
        }
      }
    }
  });

  it('leaves base64 alone for a value too short to tell apart from other base64 data', () => {
    expect(base64Forms('abcd')).toEqual([]);
    expect(base64Forms('abcde').length).toBeGreaterThan(0);
    for (const form of base64Forms('abcde')) expect(form.length).toBeGreaterThanOrEqual(6);
    const file = Buffer.from('abcd'.repeat(10)).toString('base64');
    expect(redact('abcd', file)).toBe(file);
  });
});
