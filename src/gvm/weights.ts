/**
 * The GVM weight and objective (SPEC §1.3, the paper's Proposition 1).
 *
 * The variance proxy of prompt i with n_i samples is
 *   G_i^2 / (n_i p_i (1 + alpha / p_i^beta)) = c_i / n_i,
 *   c_i = G_i^2 / (p_i + alpha p_i^(1-beta)),
 * and minimising sum_i c_i / n_i subject to sum_i n_i = N gives
 * n_i proportional to sqrt(c_i) = w_i = G_i / sqrt(p_i + alpha / p_i^(beta-1)).
 */

/** w_i; 0 when G_i or p_i is 0 (no accepted sample carries no gradient signal). */
export function gvmWeight(p: number, g: number, alpha: number, beta: number): number {
  if (g === 0 || p === 0) return 0;
  return g / Math.sqrt(p + alpha / Math.pow(p, beta - 1));
}

/** c_i = w_i^2: the numerator of prompt i's variance term. */
export function gvmCost(p: number, g: number, alpha: number, beta: number): number {
  const w = gvmWeight(p, g, alpha, beta);
  return w * w;
}

/**
 * The objective sum_i c_i / n_i over the prompts with c_i > 0 (`include`
 * restricts it further, e.g. to the prompts the filters kept). Infinity when
 * such a prompt gets no samples.
 */
export function gvmObjective(
  n: ArrayLike<number>,
  p: ArrayLike<number>,
  g: ArrayLike<number>,
  alpha: number,
  beta: number,
  include?: (i: number) => boolean,
): number {
  let total = 0;
  for (let i = 0; i < n.length; i++) {
    if (include && !include(i)) continue;
    const c = gvmCost(p[i] as number, g[i] as number, alpha, beta);
    if (c === 0) continue;
    total += c / (n[i] as number);
  }
  return total;
}
