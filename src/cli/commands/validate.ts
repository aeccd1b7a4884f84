import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { checkConfigText, unreadable } from '../../config/load.js';

/** `spendgate validate <file>`: every problem with its path in the file; exit 1 on any error. */
export function runValidate(
  file: string,
  opts: { env: NodeJS.ProcessEnv; out: (line: string) => void },
): number {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    opts.out(`error   ${unreadable(file, err)}`);
    return 1;
  }

  const { config, problems, warnings } = checkConfigText(text, opts.env, dirname(resolve(file)));
  for (const p of problems) opts.out(`error   ${p.path}: ${p.message}`);
  for (const w of warnings) opts.out(`warning ${w.path}: ${w.message}`);
  if (!config) {
    opts.out(`${file}: invalid (${problems.length} error(s))`);
    return 1;
  }
  opts.out(
    `${file}: valid (${Object.keys(config.upstreams).length} upstream(s), ${warnings.length} warning(s))`,
  );
  return 0;
}
