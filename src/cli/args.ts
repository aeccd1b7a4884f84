import { parseArgs, type ParseArgsConfig } from 'node:util';

/** The options of one command, in `parseArgs` form. */
export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** Bad command-line input: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** What a command line parsed into. */
export type ParsedArgs = {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
};

/**
 * Parses one command's arguments strictly: an option the command does not take, a missing
 * value or a stray argument throws {@link UsageError} with a one-line reason.
 */
export function parseCommandArgs(
  args: readonly string[],
  options: OptionSpec,
  maxPositionals: number,
): ParsedArgs {
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(describeArgsError(err));
  }
  const extra = parsed.positionals[maxPositionals];
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
  return parsed as ParsedArgs;
}

/**
 * Node's parseArgs errors as one short line. Its texts run on with advice about `--` that
 * does not apply here, so only the option it names is kept.
 */
export function describeArgsError(err: unknown): string {
  const message = (err as Error).message ?? String(err);
  const code = (err as { code?: string }).code;
  const named = /'([^']+)'/.exec(message)?.[1] ?? '';
  const option = named.split(' ')[0] ?? named;
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /does not take an argument/.test(message)
        ? `${option} takes no value`
        : `${option} needs a value`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument "${option}"`;
    default:
      return message.split('\n')[0] ?? message;
  }
}

/** A string option's value, or undefined when it was not given. */
export function text(values: ParsedArgs['values'], name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/** A whole-number option at least `min`, or `fallback` when it was not given. */
export function wholeNumber(
  values: ParsedArgs['values'],
  name: string,
  fallback: number,
  min = 0,
): number {
  const given = text(values, name);
  if (given === undefined) return fallback;
  const n = Number(given);
  if (given.trim() === '' || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`--${name} must be a whole number of at least ${min}, got "${given}"`);
  }
  return n;
}
