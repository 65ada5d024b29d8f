/**
 * HOST.cfg: what `wasmvisor up` starts. The same syntax as xl.cfg (cfg-syntax.ts); keys:
 *
 *   bridges = [ 'xenbr0' ]                     the virtual switches Dom0 creates (default xenbr0)
 *   domains = [ 'domu1.cfg', 'domu2.cfg' ]     the DomUs' xl.cfg files, started in this order
 *
 * Paths are relative to HOST.cfg's directory. A DomU's vif must name one of the bridges.
 */
import { dirname, resolve } from 'node:path';
import { UserError } from '../../errors';
import { parseXlSyntax } from './cfg-syntax';
import { DEFAULT_BRIDGE, parseDomainCfg, readCfgText, type DomainCfg } from './cfg';

/** Most DomUs one `wasmvisor up` runs. */
export const MAX_DOMAINS = 16;

/** A parsed HOST.cfg with its DomU configurations. */
export interface HostCfg {
  file: string;
  bridges: string[];
  domains: DomainCfg[];
}

/** Read HOST.cfg at `path` and every DomU configuration it names. */
export function readHostCfg(path: string): HostCfg {
  return parseHostCfg(readCfgText(path), path, (p) => parseDomainCfg(readCfgText(p), p));
}

/** Parse the text of HOST.cfg `file`; `readDomain` reads one DomU configuration by path. */
export function parseHostCfg(text: string, file: string, readDomain: (path: string) => DomainCfg): HostCfg {
  const dir = dirname(resolve(file));
  let bridges: string[] = [DEFAULT_BRIDGE];
  let domainPaths: string[] | undefined;
  let domainsLine = 0;
  for (const s of parseXlSyntax(text, file)) {
    const bad = (what: string) => new UserError(`${file}:${s.line}: ${s.key} = ${s.text}: ${what}`);
    if (s.key !== 'bridges' && s.key !== 'domains') throw new UserError(`${file}:${s.line}: unknown key '${s.key}' (known: bridges, domains)`);
    if (!Array.isArray(s.value) || s.value.some((v) => typeof v !== 'string')) throw bad(`expected a [ list ] of 'strings'`);
    const items = s.value as string[];
    if (s.key === 'bridges') {
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
  if (domainPaths === undefined) throw new UserError(`${file}: missing 'domains' (e.g. domains = [ 'domu1.cfg' ])`);
  const domains = domainPaths.map((p) => readDomain(resolve(dir, p)));
  const names = new Set<string>();
  for (const d of domains) {
    if (names.has(d.name)) throw new UserError(`${file}:${domainsLine}: two domains are named '${d.name}'`);
    names.add(d.name);
    for (const v of d.vifs) {
      if (!bridges.includes(v.bridge)) throw new UserError(`${d.file}: vif bridge '${v.bridge}' is not one of ${file}'s bridges (${bridges.join(', ') || 'none'})`);
    }
  }
  return { file, bridges, domains };
}
