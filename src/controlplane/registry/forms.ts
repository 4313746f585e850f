/**
 * The register/edit form without JavaScript: a document ⇄ flat form fields. Lists are typed as
 * comma- or space-separated text; versions and expose entries are rows (a few blank rows are
 * offered to add more; blank rows are ignored). What the engineer typed is kept as text, so a
 * rejected form comes back exactly as it was sent, with the validator's `path: message` errors.
 */
import type { ServiceDocument } from './document.ts';

export const EXTRA_ROWS = 2;

export interface VersionRow {
  name: string;
  weight: string;
  endpoints: string;
  srv: string;
}

export interface ExposeRow {
  domains: string;
  prefix: string;
  timeout: string;
  retries: string;
  routeConfig: string;
}

export interface FormValues {
  name: string;
  namespace: string;
  owners: string;
  identity: string;
  description: string;
  dependsOn: string[];
  versions: VersionRow[];
  expose: ExposeRow[];
  /** The revision the form was loaded at (the compare-and-swap of the save); empty for a new service. */
  revision: string;
}

const BLANK_VERSION: VersionRow = { name: '', weight: '', endpoints: '', srv: '' };
const BLANK_EXPOSE: ExposeRow = { domains: '', prefix: '', timeout: '', retries: '', routeConfig: '' };

export function emptyForm(): FormValues {
  return {
    name: '',
    namespace: '',
    owners: '',
    identity: '',
    description: '',
    dependsOn: [],
    versions: [{ ...BLANK_VERSION, name: 'v1', weight: '100' }],
    expose: [],
    revision: '',
  };
}

export function formFromDocument(doc: ServiceDocument, revision: number): FormValues {
  return {
    name: doc.name,
    namespace: doc.namespace,
    owners: doc.owners.join(', '),
    identity: doc.identity ?? '',
    description: doc.description ?? '',
    dependsOn: [...doc.dependsOn],
    versions: doc.versions.map((v) => ({ name: v.name, weight: String(v.weight), endpoints: (v.endpoints ?? []).join(', '), srv: v.srv ?? '' })),
    expose: doc.expose.map((e) => ({
      domains: e.domains.join(', '),
      prefix: e.prefix,
      timeout: e.timeout ?? '',
      retries: e.retries ? String(e.retries.attempts) : '',
      routeConfig: e.routeConfig === 'gatehouse' ? '' : e.routeConfig,
    })),
    revision: String(revision),
  };
}

/** Form rows to show: the filled ones plus a few blank ones to add to. */
export function withBlankRows(values: FormValues): FormValues {
  return {
    ...values,
    versions: [...values.versions, ...Array.from({ length: EXTRA_ROWS }, () => ({ ...BLANK_VERSION }))],
    expose: [...values.expose, ...Array.from({ length: EXTRA_ROWS }, () => ({ ...BLANK_EXPOSE }))],
  };
}

type Posted = Record<string, string | string[] | undefined>;

function one(p: Posted, key: string): string {
  const v = p[key];
  return (Array.isArray(v) ? (v[0] ?? '') : (v ?? '')).trim();
}

function many(p: Posted, key: string): string[] {
  const v = p[key];
  return (Array.isArray(v) ? v : v === undefined ? [] : [v]).map((s) => s.trim()).filter((s) => s !== '');
}

function list(text: string): string[] {
  return text.split(/[\s,]+/).filter((s) => s !== '');
}

/** The posted fields (application/x-www-form-urlencoded, parsed) → form values. */
export function formFromPost(p: Posted): FormValues {
  const rows = <T>(prefix: string, pick: (i: number) => T, isBlank: (row: T) => boolean): T[] => {
    const out: T[] = [];
    for (let i = 0; i < 200; i++) {
      if (!Object.keys(p).some((k) => k.startsWith(`${prefix}${i}.`))) break;
      const row = pick(i);
      if (!isBlank(row)) out.push(row);
    }
    return out;
  };
  return {
    name: one(p, 'name'),
    namespace: one(p, 'namespace'),
    owners: one(p, 'owners'),
    identity: one(p, 'identity'),
    description: one(p, 'description'),
    dependsOn: [...new Set([...many(p, 'dependsOn'), ...list(one(p, 'dependsOnOther'))])],
    versions: rows(
      'v',
      (i) => ({ name: one(p, `v${i}.name`), weight: one(p, `v${i}.weight`), endpoints: one(p, `v${i}.endpoints`), srv: one(p, `v${i}.srv`) }),
      (r) => Object.values(r).every((s) => s === ''),
    ),
    expose: rows(
      'e',
      (i) => ({
        domains: one(p, `e${i}.domains`),
        prefix: one(p, `e${i}.prefix`),
        timeout: one(p, `e${i}.timeout`),
        retries: one(p, `e${i}.retries`),
        routeConfig: one(p, `e${i}.routeConfig`),
      }),
      (r) => Object.values(r).every((s) => s === ''),
    ),
    revision: one(p, 'revision'),
  };
}

/** Form values → a raw document for the validator (numbers parsed where they look like numbers). */
export function documentFromForm(f: FormValues): Record<string, unknown> {
  const num = (s: string): unknown => (s !== '' && Number.isFinite(Number(s)) ? Number(s) : s);
  const doc: Record<string, unknown> = {
    name: f.name,
    owners: list(f.owners),
    dependsOn: f.dependsOn,
    versions: f.versions.map((v) => ({
      name: v.name,
      ...(v.weight !== '' ? { weight: num(v.weight) } : {}),
      ...(v.endpoints !== '' ? { endpoints: list(v.endpoints) } : {}),
      ...(v.srv !== '' ? { srv: v.srv } : {}),
    })),
    expose: f.expose.map((e) => ({
      domains: list(e.domains),
      ...(e.prefix !== '' ? { prefix: e.prefix } : {}),
      ...(e.timeout !== '' ? { timeout: e.timeout } : {}),
      ...(e.retries !== '' ? { retries: { attempts: num(e.retries) } } : {}),
      ...(e.routeConfig !== '' ? { routeConfig: e.routeConfig } : {}),
    })),
  };
  if (f.namespace !== '') doc.namespace = f.namespace;
  if (f.identity !== '') doc.identity = f.identity;
  if (f.description !== '') doc.description = f.description;
  return doc;
}
