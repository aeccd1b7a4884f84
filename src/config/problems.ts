/**
 * Config problems in one style: `admin.tokens[0].token_env (line 3): required`. Schema issues,
 * cross-field checks and warnings all go through here, so `spendgate validate`, the start and a
 * reload say the same thing the same way.
 */
import type { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';

export type Problem = { path: string; message: string };

type Document = ReturnType<typeof parseDocument>;
type Keys = readonly (string | number)[];

/** Fields that name the environment variable holding a secret; the secret never goes in the file. */
const SECRET_ENV_FIELDS = new Set([
  'api_key_env',
  'token_env',
  'hs256_secret_env',
  'webhook_url_env',
  'secret_env',
  'smtp_url_env',
]);

/** `admin.tokens[0].token_env`: names joined by dots, list positions in brackets. */
export function renderPath(keys: Keys): string {
  if (keys.length === 0) return '(root)';
  return keys.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
}

/**
 * A problem at `keys`, with the line of the deepest part of that path the file has (or of
 * `lineOf`, a path below it); a missing top-level section has no line.
 */
export function problemAt(
  keys: Keys,
  message: string,
  doc: Document,
  lineCounter: LineCounter,
  lineOf: Keys = keys,
): Problem {
  const offset = findNode(doc, lineOf);
  const at = offset === null ? null : lineCounter.linePos(offset);
  const path = renderPath(keys);
  return { path: at ? `${path} (line ${at.line})` : path, message };
}

/** Schema issues as problems, in plain words; `raw` is the file's data, to tell a missing field. */
export function describeIssues(
  issues: readonly z.core.$ZodIssue[],
  raw: unknown,
  doc: Document,
  lineCounter: LineCounter,
): Problem[] {
  const problems: Problem[] = [];
  for (const issue of issues) {
    const keys = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    if (issue.code === 'unrecognized_keys') {
      problems.push(...unknownFields(keys, issue.keys, doc, lineCounter));
      continue;
    }
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const fitting = fittingAlternative(issue.errors);
      if (fitting) {
        // The value has the shape of one alternative: what is wrong inside it is the problem.
        const inner = fitting.map((i) => ({ ...i, path: [...issue.path, ...i.path] }));
        problems.push(...describeIssues(inner, raw, doc, lineCounter));
        continue;
      }
    }
    problems.push(problemAt(keys, messageOf(issue, valueAt(raw, keys)), doc, lineCounter));
  }
  return unique(problems);
}

/**
 * Of a union's alternatives, the one whose issues are inside the value rather than about its
 * kind (a map of rates with one bad rate, not the string `reject`); undefined when none is.
 */
function fittingAlternative(
  alternatives: readonly (readonly z.core.$ZodIssue[])[],
): readonly z.core.$ZodIssue[] | undefined {
  const atRoot = (i: z.core.$ZodIssue): boolean =>
    i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value');
  const fitting = alternatives.filter((issues) => !issues.some(atRoot));
  return fitting.length === 1 ? fitting[0] : undefined;
}

/** What each alternative of a union takes, when the value fits none: `"reject" or a map`. */
function unionExpectation(alternatives: readonly (readonly z.core.$ZodIssue[])[]): string {
  const each = alternatives.flatMap((issues) =>
    issues
      .filter((i) => i.path.length === 0)
      .map((i) => {
        if (i.code === 'invalid_value') return i.values.map((v) => JSON.stringify(v)).join(' or ');
        if (i.code === 'invalid_type') return kindOf(i.expected);
        return null;
      })
      .filter((text): text is string => text !== null),
  );
  return [...new Set(each)].join(' or ');
}

/** Zod's own texts ("Too small: expected number to be >0") said as a person would. */
function messageOf(issue: z.core.$ZodIssue, value: unknown): string {
  // Messages a schema wrote itself are kept: they already say what is expected.
  const zodDefault = /^(Invalid input|Invalid option|Too small|Too big)/.test(issue.message);
  switch (issue.code) {
    case 'invalid_key':
      // A bad map key (an upstream name) says only "Invalid key in record"; its own issues say why.
      return issue.issues.map((i) => i.message).join('; ');
    case 'invalid_type':
      if (!zodDefault) return issue.message;
      if (value === undefined) return 'required';
      return `expected ${kindOf(issue.expected)}, got ${kindOfValue(value)}`;
    case 'invalid_value':
      if (!zodDefault) return issue.message;
      return issue.values.length === 1
        ? `must be ${JSON.stringify(issue.values[0])}`
        : `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      if (!zodDefault) return issue.message;
      return bound(issue.origin, issue.minimum, issue.inclusive !== false, 'least');
    case 'too_big':
      if (!zodDefault) return issue.message;
      return bound(issue.origin, issue.maximum, issue.inclusive !== false, 'most');
    case 'invalid_union': {
      // A discriminated union names its options; a plain one says what each alternative takes.
      const options = (issue as { options?: unknown[] }).options;
      if (options && options.length > 0) {
        return `must be one of ${options.map((o) => JSON.stringify(o)).join(', ')}`;
      }
      const expected = unionExpectation(issue.errors);
      return expected ? `must be ${expected}, got ${kindOfValue(value)}` : issue.message;
    }
    default:
      return issue.message;
  }
}

function bound(
  origin: string,
  limit: number | bigint,
  inclusive: boolean,
  side: 'least' | 'most',
): string {
  const n = Number(limit);
  if (origin === 'array' || origin === 'set') return `needs at ${side} ${n} item(s)`;
  if (origin === 'string') {
    return side === 'least' && n === 1 && inclusive
      ? 'must not be empty'
      : `needs at ${side} ${n} character(s)`;
  }
  if (inclusive) return `must be at ${side} ${n}`;
  return side === 'least' ? `must be above ${n}` : `must be below ${n}`;
}

const KINDS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a map',
  record: 'a map',
  tuple: 'a list',
};

function kindOf(expected: string): string {
  return KINDS[expected] ?? expected;
}

// The value itself is never repeated: a misplaced one may be a secret.
function kindOfValue(value: unknown): string {
  if (value === null) return 'nothing (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'boolean') return 'true or false';
  return kindOf(typeof value);
}

/**
 * Unknown fields of one map. A secret written where its `_env` field belongs gets a problem of
 * its own that says so; the others are listed together.
 */
function unknownFields(
  keys: Keys,
  names: readonly string[],
  doc: Document,
  lineCounter: LineCounter,
): Problem[] {
  const problems: Problem[] = [];
  const others: string[] = [];
  for (const name of names) {
    if (SECRET_ENV_FIELDS.has(`${name}_env`)) {
      problems.push(
        problemAt(
          [...keys, name],
          `unknown field; secrets never go in this file: write ${name}_env: <VARIABLE> ` +
            'and put the secret in that environment variable',
          doc,
          lineCounter,
        ),
      );
    } else {
      others.push(name);
    }
  }
  if (others.length > 0) {
    const message = `unknown field(s): ${others.join(', ')}`;
    problems.unshift(problemAt(keys, message, doc, lineCounter, [...keys, others[0] ?? '']));
  }
  return problems;
}

function valueAt(raw: unknown, keys: Keys): unknown {
  let value = raw;
  for (const key of keys) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}

/** The source offset of the deepest node of `keys` present in the document, the root aside. */
function findNode(doc: Document, keys: Keys): number | null {
  for (let depth = keys.length; depth >= 1; depth--) {
    const node = doc.getIn(keys.slice(0, depth), true) as
      { range?: [number, number, number] } | undefined;
    if (node && node.range) return node.range[0];
  }
  return null;
}

/** The same problem reported twice (by a field check and a cross-field check) is said once. */
function unique(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
