import type { IncomingHttpHeaders } from 'node:http';
import type { HeaderMatcherConfig } from '../../config/schema.ts';

// Header matchers (SPEC "Header matchers"), compiled once: exact | prefix | suffix | regex (whole
// value) | present | absent, and `invert`. On a missing header every kind is false except `absent`.
// (The routing issue may grow the same compiler in router/; one of the two will be folded.)

export type HeaderPredicate = (headers: IncomingHttpHeaders) => boolean;

export function compileHeaderMatcher(m: HeaderMatcherConfig): HeaderPredicate {
  const name = m.name.toLowerCase();
  let test: (v: string) => boolean;
  if (m.exact !== undefined) {
    const want = m.exact;
    test = (v) => v === want;
  } else if (m.prefix !== undefined) {
    const want = m.prefix;
    test = (v) => v.startsWith(want);
  } else if (m.suffix !== undefined) {
    const want = m.suffix;
    test = (v) => v.endsWith(want);
  } else if (m.regex !== undefined) {
    const re = new RegExp(`^(?:${m.regex})$`);
    test = (v) => re.test(v);
  } else {
    test = () => true; // present (absent is handled below)
  }
  const absent = m.absent === true;
  const invert = m.invert === true;
  return (headers) => {
    const raw = headers[name];
    const v = Array.isArray(raw) ? raw.join(',') : raw;
    const r = v === undefined ? absent : !absent && test(v);
    return invert ? !r : r;
  };
}
