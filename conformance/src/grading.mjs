// Grades, how they add up, and the runner's exit codes.

export const GRADES = ["PASS", "NON_STRICT", "FAIL", "UNSUPPORTED", "ERROR"];

/** Exit codes of qwh-conformance. */
export const EXIT = { OK: 0, FAILED: 1, HARNESS: 2, EMPTY: 3 };

/** Counts of each grade over results ({grade}). */
export function countGrades(results) {
  const counts = Object.fromEntries(GRADES.map((g) => [g, 0]));
  for (const r of results) counts[r.grade]++;
  return counts;
}

/** Whether a grade fails the run: FAIL always, NON_STRICT with --strict, UNSUPPORTED when `unsupportedFails`. */
export function isFailure(grade, { strict = false, unsupportedFails = false } = {}) {
  return grade === "FAIL" || (strict && grade === "NON_STRICT") || (unsupportedFails && grade === "UNSUPPORTED");
}

/**
 * The exit code of a run: 3 when nothing ran, 1 when a case failed, 2 when only the harness or an
 * adapter broke (ERROR), 0 otherwise. A failure outranks an error: it is a finding about the
 * implementation, which the errors do not hide.
 */
export function exitCodeFor(results, options) {
  if (results.length === 0) return EXIT.EMPTY;
  if (results.some((r) => isFailure(r.grade, options))) return EXIT.FAILED;
  if (results.some((r) => r.grade === "ERROR")) return EXIT.HARNESS;
  return EXIT.OK;
}
