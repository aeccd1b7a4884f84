import { ConfigError } from '../errors.js';

/**
 * A command's failure as the lines it prints on stderr: one `error:` line, and for a config
 * with mistakes every problem under it. A missing file is one problem, said in one line.
 */
export function describeFailure(err: unknown): string[] {
  if (err instanceof ConfigError) {
    const [only] = err.problems;
    if (err.problems.length === 1 && only?.path === '(file)') return [`error: ${only.message}`];
    const [first = '', ...rest] = err.message.split('\n');
    return [`error: ${first}`, ...rest];
  }
  return [`error: ${err instanceof Error ? err.message : String(err)}`];
}
