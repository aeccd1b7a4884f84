/**
 * Zod skips a refinement once any part of the value failed, so a cross-field check (a
 * duplicate name, stages out of order) would only be reported after every other mistake was
 * fixed. Passed as a refinement's `when`, this runs it as soon as the fields it reads are
 * valid, whatever else failed: `spendgate validate` then reports every problem in one run.
 */
export function whenValid(...fields: string[]) {
  return (payload: { value: unknown; issues: readonly { path?: readonly PropertyKey[] }[] }) =>
    typeof payload.value === 'object' &&
    payload.value !== null &&
    !payload.issues.some((i) => i.path !== undefined && fields.includes(String(i.path[0])));
}

/** For checks over a whole list: run whenever the value is a list (its items are checked apart). */
export function whenList(payload: { value: unknown }): boolean {
  return Array.isArray(payload.value);
}
