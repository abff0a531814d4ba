/**
 * Exact-match checking for the built-in suite: the answer is the content of
 * the last \boxed{...} in the response, compared with the gold string after
 * trimming whitespace. (Math answers in general go through src/verify; this
 * suite's answers are plain integers, so exact match is the right check.)
 */

const OPEN = "\\boxed{";

/** Content of the last \boxed{...} (braces balanced), or null if there is none or it never closes. */
export function extractLastBoxed(text: string): string | null {
  const start = text.lastIndexOf(OPEN);
  if (start < 0) return null;
  let depth = 1;
  for (let i = start + OPEN.length; i < text.length; i++) {
    const c = text[i];
    if (c === "{") depth++;
    else if (c === "}") {
      depth--;
      if (depth === 0) return text.slice(start + OPEN.length, i);
    }
  }
  return null;
}

/** True when the last boxed answer equals the gold answer exactly (whitespace-trimmed). */
export function checkAnswer(response: string, gold: string): boolean {
  const got = extractLastBoxed(response);
  return got !== null && got.trim() === gold.trim();
}

/** The RL reward: 1 for an exact match, 0 otherwise. */
export function exactMatchReward(response: string, gold: string): 0 | 1 {
  return checkAnswer(response, gold) ? 1 : 0;
}
