/**
 * HOST.cfg: what `wasmvisor up` starts. The same syntax as xl.cfg (cfg-syntax.ts); keys:
 *
 *   bridges = [ 'xenbr0' ]                     the virtual switches Dom0 creates (default xenbr0)
 *   domains = [ 'domu1.cfg', 'domu2.cfg' ]     the DomUs' xl.cfg files, started in this order
 *   uplinks = [ 'bridge=xenbr0, local=127.0.0.1:5001, remote=127.0.0.1:5002' ]
 *                                              a bridge's port over UDP to another Dom0's bridge
 *                                              (backends/bridge-uplink.ts), one frame per datagram,
 *                                              as QEMU's -netdev dgram; bridge= defaults to xenbr0
 *
 * Paths are relative to HOST.cfg's directory. A DomU's vif must name one of the bridges, and so
 * must an uplink. Addresses are HOST:PORT (an IPv6 host in brackets); local port 0 lets the
 * system pick one.
 */
import { dirname, resolve } from 'node:path';
import { UserError } from '../../errors';
import { parseXlSyntax } from './cfg-syntax';
import { DEFAULT_BRIDGE, parseDomainCfg, readCfgText, type DomainCfg } from './cfg';
import type { UdpAddress, UplinkSpec } from '../backends/bridge-uplink';

/** Most DomUs one `wasmvisor up` runs. */
export const MAX_DOMAINS = 16;

/** A parsed HOST.cfg with its DomU configurations. */
export interface HostCfg {
  file: string;
  bridges: string[];
  domains: DomainCfg[];
  uplinks: UplinkSpec[];
}

/**
 * Read HOST.cfg at `path` and every DomU configuration it names. `domainsOptional`: a Dom0 that
 * waits for domains (up --incoming, --wait) may have none of its own (its bridges and uplinks).
 */
export function readHostCfg(path: string, opts: { domainsOptional?: boolean } = {}): HostCfg {
  return parseHostCfg(readCfgText(path), path, (p) => parseDomainCfg(readCfgText(p), p), opts);
}

/** Parse the text of HOST.cfg `file`; `readDomain` reads one DomU configuration by path. */
export function parseHostCfg(text: string, file: string, readDomain: (path: string) => DomainCfg, opts: { domainsOptional?: boolean } = {}): HostCfg {
  const dir = dirname(resolve(file));
  let bridges: string[] = [DEFAULT_BRIDGE];
  let domainPaths: string[] | undefined;
  let domainsLine = 0;
  const uplinks: UplinkSpec[] = [];
  for (const s of parseXlSyntax(text, file)) {
    const bad = (what: string) => new UserError(`${file}:${s.line}: ${s.key} = ${s.text}: ${what}`);
    if (s.key !== 'bridges' && s.key !== 'domains' && s.key !== 'uplinks') throw new UserError(`${file}:${s.line}: unknown key '${s.key}' (known: bridges, domains, uplinks)`);
    if (!Array.isArray(s.value) || s.value.some((v) => typeof v !== 'string')) throw bad(`expected a [ list ] of 'strings'`);
    const items = s.value as string[];
    if (s.key === 'uplinks') {
      for (const u of items) uplinks.push(parseUplink(u, `${file}:${s.line}`, bad));
    } else if (s.key === 'bridges') {
      for (const b of items) if (!/^[A-Za-z0-9_.-]{1,15}$/.test(b)) throw bad(`bad bridge name '${b}'`);
      if (new Set(items).size !== items.length) throw bad('a bridge is named twice');
      bridges = items;
    } else {
      if (items.length === 0) throw bad('no domains');
      if (items.length > MAX_DOMAINS) throw bad(`${items.length} domains; at most ${MAX_DOMAINS}`);
      if (items.some((p) => p === '')) throw bad('empty path');
      domainPaths = items;
      domainsLine = s.line;
    }
  }
  if (domainPaths === undefined && !opts.domainsOptional) throw new UserError(`${file}: missing 'domains' (e.g. domains = [ 'domu1.cfg' ])`);
  const domains = (domainPaths ?? []).map((p) => readDomain(resolve(dir, p)));
  const names = new Set<string>();
  for (const d of domains) {
    if (names.has(d.name)) throw new UserError(`${file}:${domainsLine}: two domains are named '${d.name}'`);
    names.add(d.name);
    for (const v of d.vifs) {
      if (!bridges.includes(v.bridge)) throw new UserError(`${d.file}: vif bridge '${v.bridge}' is not one of ${file}'s bridges (${bridges.join(', ') || 'none'})`);
    }
  }
  for (const u of uplinks) {
    if (!bridges.includes(u.bridge)) throw new UserError(`${u.where}: uplink bridge '${u.bridge}' is not one of the bridges (${bridges.join(', ') || 'none'})`);
  }
  const locals = new Set<string>();
  for (const u of uplinks) {
    const key = `${u.local.host}:${u.local.port}`;
    if (u.local.port !== 0 && locals.has(key)) throw new UserError(`${u.where}: two uplinks listen on ${key}`);
    locals.add(key);
  }
  return { file, bridges, domains, uplinks };
}

/** One uplink specification: `key=value` items separated by commas (bridge, local, remote). */
function parseUplink(spec: string, where: string, bad: (what: string) => UserError): UplinkSpec {
  const got = new Map<string, string>();
  for (const item of spec.split(',').map((x) => x.trim()).filter((x) => x !== '')) {
    const eq = item.indexOf('=');
    if (eq < 0) throw bad(`uplink item '${item}' is not key=value`);
    const k = item.slice(0, eq).trim();
    if (k !== 'bridge' && k !== 'local' && k !== 'remote') throw bad(`unknown uplink key '${k}' (known: bridge, local, remote)`);
    if (got.has(k)) throw bad(`uplink key '${k}' given twice in '${spec}'`);
    got.set(k, item.slice(eq + 1).trim());
  }
  const bridge = got.get('bridge') ?? DEFAULT_BRIDGE;
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(bridge)) throw bad(`bad bridge name '${bridge}'`);
  const addr = (k: 'local' | 'remote'): UdpAddress => {
    const v = got.get(k);
    if (v === undefined) throw bad(`uplink '${spec}' has no ${k}=HOST:PORT`);
    const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(v);
    const port = m ? Number(m[2]) : NaN;
    if (!m || port > 65535 || (k === 'remote' && port === 0)) throw bad(`uplink ${k} '${v}' is not HOST:PORT${k === 'remote' ? ' (port 1..65535)' : ''}`);
    return { host: m[1].replace(/^\[|\]$/g, ''), port };
  };
  return { bridge, local: addr('local'), remote: addr('remote'), where };
}
