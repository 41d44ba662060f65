import { describe, expect, it } from 'bun:test';
import { bearerMatches } from '../../src/server/auth.ts';
import { checkHost, checkOrigin, hostName, isLoopbackHost } from '../../src/server/origin.ts';

describe('hostName', () => {
  const cases: [host: string, name: string][] = [
    ['127.0.0.1:7420', '127.0.0.1'],
    ['[::1]:7420', '::1'],
    ['[::1]', '::1'],
    ['::1', '::1'],
    ['Hub.Example:80', 'hub.example'],
    ['localhost', 'localhost'],
  ];
  for (const [host, name] of cases) {
    it(`reads ${JSON.stringify(host)} as ${JSON.stringify(name)}`, () => {
      expect(hostName(host)).toBe(name);
    });
  }
});

describe('checkHost', () => {
  const cases: [name: string, host: string | undefined, allowed: string[], ok: boolean][] = [
    ['an IPv4 literal with a port', '127.0.0.1:7420', [], true],
    ['a LAN address', '10.0.0.5:7420', [], true],
    ['an IPv6 literal', '[::1]:7420', [], true],
    ['localhost', 'localhost:7420', [], true],
    ['no Host at all', undefined, [], true],
    ['a name nobody allowed (DNS rebinding)', 'evil.example', [], false],
    ['a name that only looks like localhost', 'localhost.evil.example:7420', [], false],
    ['an allowed name', 'hub.example.com:7420', ['hub.example.com'], true],
    ['an allowed name in other case', 'HUB.example.com', ['hub.example.com'], true],
    ['a name next to an allowed one', 'evil.example', ['hub.example.com'], false],
  ];
  for (const [name, host, allowed, ok] of cases) {
    it(`${ok ? 'accepts' : 'refuses'} ${name}`, () => {
      expect(checkHost(host, allowed).ok).toBe(ok);
    });
  }

  it('names the flag that would allow a refused name', () => {
    const verdict = checkHost('evil.example', []);
    expect(verdict.ok ? '' : verdict.message).toContain('--allow-host evil.example');
  });
});

describe('checkOrigin', () => {
  const cases: [name: string, origin: string | undefined, host: string | undefined, ok: boolean][] = [
    ['no Origin (agents, curl)', undefined, '127.0.0.1:7420', true],
    ['the hub its own origin', 'http://127.0.0.1:7420', '127.0.0.1:7420', true],
    ['its own origin behind a TLS proxy', 'https://hub.example.com', 'hub.example.com', true],
    ['a page on another site', 'https://evil.example', '127.0.0.1:7420', false],
    ['the same host on another port', 'http://127.0.0.1:9999', '127.0.0.1:7420', false],
    ['an opaque origin (sandboxed frame, file://)', 'null', '127.0.0.1:7420', false],
    ['an Origin with no Host to compare', 'http://127.0.0.1:7420', undefined, false],
  ];
  for (const [name, origin, host, ok] of cases) {
    it(`${ok ? 'accepts' : 'refuses'} ${name}`, () => {
      expect(checkOrigin(origin, host).ok).toBe(ok);
    });
  }
});

describe('isLoopbackHost', () => {
  const cases: [host: string, loopback: boolean][] = [
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['::1', true],
    ['[::1]', true],
    ['localhost', true],
    ['0.0.0.0', false],
    ['::', false],
    ['10.0.0.5', false],
    ['hub.example.com', false],
    ['128.0.0.1', false],
  ];
  for (const [host, loopback] of cases) {
    it(`is ${loopback} for ${host}`, () => {
      expect(isLoopbackHost(host)).toBe(loopback);
    });
  }
});

describe('bearerMatches', () => {
  const cases: [name: string, header: string | undefined, ok: boolean][] = [
    ['the right credential', 'Bearer s3cret', true],
    ['no header', undefined, false],
    ['a wrong credential', 'Bearer s3creT', false],
    ['a prefix of the credential', 'Bearer s3cre', false],
    ['the credential with more after it', 'Bearer s3cret2', false],
    ['another scheme', 'Basic s3cret', false],
    ['the bare credential', 's3cret', false],
  ];
  for (const [name, header, ok] of cases) {
    it(`${ok ? 'accepts' : 'refuses'} ${name}`, () => {
      expect(bearerMatches(header, 's3cret')).toBe(ok);
    });
  }
});
