/**
 * A strict little XML well-formedness check for the lab's SVG (no XML parser among the
 * project's dependencies): one root element, every tag closed in order, attributes quoted and
 * not repeated, only the five predefined entities and numeric references, no stray '<' or '&'.
 * Returns the elements found (name and attributes) so a test can read the chart back.
 */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  /** Text directly inside it (entities decoded). */
  text: string;
  parent?: XmlElement;
}

const NAME = /^[A-Za-z_][\w.:-]*/;
const ENTITY = /^&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/;

function decode(s: string, where: number): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '<') throw new Error(`xml: '<' in text or attribute near offset ${where + i}`);
    if (s[i] !== '&') { out += s[i]; continue; }
    const m = ENTITY.exec(s.slice(i));
    if (!m) throw new Error(`xml: bad entity near offset ${where + i}: ${s.slice(i, i + 10)}`);
    const e = m[1];
    out += e === 'amp' ? '&' : e === 'lt' ? '<' : e === 'gt' ? '>' : e === 'quot' ? '"' : e === 'apos' ? "'" :
      String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    i += m[0].length - 1;
  }
  return out;
}

/** Parse `doc`; throws with the offset on the first well-formedness error. */
export function parseXml(doc: string): XmlElement[] {
  let i = 0;
  if (doc.startsWith('<?xml')) i = doc.indexOf('?>') + 2;
  const all: XmlElement[] = [];
  const stack: XmlElement[] = [];
  let roots = 0;
  while (i < doc.length) {
    const lt = doc.indexOf('<', i);
    const text = decode(doc.slice(i, lt < 0 ? doc.length : lt), i);
    if (stack.length > 0) stack[stack.length - 1].text += text;
    else if (text.trim() !== '') throw new Error(`xml: text outside the root element at offset ${i}`);
    if (lt < 0) break;
    i = lt + 1;
    if (doc[i] === '/') {
      const m = NAME.exec(doc.slice(i + 1));
      const top = stack.pop();
      if (!m || !top || top.name !== m[0] || doc[i + 1 + m[0].length] !== '>') throw new Error(`xml: mismatched end tag at offset ${lt}`);
      i += 2 + m[0].length;
      continue;
    }
    const m = NAME.exec(doc.slice(i));
    if (!m) throw new Error(`xml: bad tag at offset ${lt}`);
    const el: XmlElement = { name: m[0], attrs: {}, text: '', parent: stack[stack.length - 1] };
    i += m[0].length;
    for (;;) {
      const ws = /^\s*/.exec(doc.slice(i))![0].length;
      i += ws;
      if (doc.startsWith('/>', i) || doc[i] === '>') break;
      if (ws === 0) throw new Error(`xml: no space before an attribute at offset ${i}`);
      const a = /^([A-Za-z_][\w.:-]*)="([^"]*)"/.exec(doc.slice(i));
      if (!a) throw new Error(`xml: bad attribute at offset ${i}`);
      if (a[1] in el.attrs) throw new Error(`xml: attribute ${a[1]} twice at offset ${i}`);
      el.attrs[a[1]] = decode(a[2], i);
      i += a[0].length;
    }
    if (stack.length === 0 && roots++ > 0) throw new Error(`xml: a second root element at offset ${lt}`);
    all.push(el);
    if (doc[i] === '/') i += 2;
    else {
      i += 1;
      stack.push(el);
    }
  }
  if (stack.length > 0) throw new Error(`xml: <${stack[stack.length - 1].name}> is not closed`);
  if (roots !== 1) throw new Error('xml: no root element');
  return all;
}
