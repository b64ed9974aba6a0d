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
