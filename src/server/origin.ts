/**
 * Which `Host` and `Origin` headers the hub answers. Agents and the CLI send no `Origin` and a
 * `Host` they were given (an address, `localhost`, or a name the operator allowed), so these
 * rules only ever refuse browsers:
 *
 * - A page on another site that posts to the hub (a "simple" no-cors request needs no preflight)
 *   sends its own `Origin`: refused.
 * - DNS rebinding points a name the attacker controls at 127.0.0.1, so the browser treats the hub
 *   as that name's origin; the request then carries `Host: attacker.example`: refused unless the
 *   name was allowed with `serve --allow-host`.
 */
import { isIP } from 'node:net';

export type HeaderVerdict = { ok: true } | { ok: false; message: string };

/** The name part of a Host header: `[::1]:7420` -> `::1`, `Hub.Example:80` -> `hub.example`. */
export function hostName(host: string): string {
  const value = host.trim().toLowerCase();
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    return end < 0 ? value : value.slice(1, end);
  }
  const colon = value.lastIndexOf(':');
  // A bare IPv6 address has several colons and no port.
  if (colon >= 0 && value.indexOf(':') === colon) return value.slice(0, colon);
  return value;
}

/**
 * Accepts a Host that is an IP literal, `localhost`, or one of `allowed` (names given with
 * `--allow-host`, compared case-insensitively). A request with no Host (HTTP/1.0 tools) passes:
 * browsers always send one.
 */
export function checkHost(host: string | undefined, allowed: readonly string[]): HeaderVerdict {
  if (host === undefined) return { ok: true };
  const name = hostName(host);
  if (isIP(name) !== 0 || name === 'localhost') return { ok: true };
  if (allowed.some((a) => a.toLowerCase() === name)) return { ok: true };
  return {
    ok: false,
    message: `host ${JSON.stringify(name)} is not allowed; start the hub with --allow-host ${name} to serve it under that name`,
  };
}

/**
 * Accepts no Origin (agents, curl) or the hub's own origin: `http(s)://` plus the request's Host.
 * Anything else is a page on another site.
 */
export function checkOrigin(origin: string | undefined, host: string | undefined): HeaderVerdict {
  if (origin === undefined) return { ok: true };
  const own = host?.trim().toLowerCase();
  const value = origin.trim().toLowerCase();
  if (own && (value === `http://${own}` || value === `https://${own}`)) return { ok: true };
  return { ok: false, message: `cross-origin requests are refused (origin ${JSON.stringify(origin)})` };
}

/** True for a listen address only this machine can reach: 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  // A listen address has no port; IPv6 may come bracketed.
  const name = host.startsWith('[') ? hostName(host) : host.trim().toLowerCase();
  if (name === 'localhost') return true;
  if (isIP(name) === 4) return name.startsWith('127.');
  if (isIP(name) === 6) return name === '::1' || name === '0:0:0:0:0:0:0:1' || name.startsWith('::ffff:127.');
  return false;
}
