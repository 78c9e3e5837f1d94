//! Limited-memory BFGS minimisation of a smooth convex function (the router's training loss).
//!
//! Hand-written (about eighty lines) rather than taken from `argmin`: the
//! router needs one deterministic, single-threaded minimiser over a flat
//! `f64` slice, and `argmin`'s generic solver framework would add a dozen
//! crates to the classifier for it.

/// When to stop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Stop {
    pub max_iterations: usize,
    /// Stop when the largest gradient component falls below this.
    pub gradient_tolerance: f64,
    /// Stop when an iteration lowers the loss by less than this fraction.
    pub relative_decrease: f64,
}

/// What the minimiser reached.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Outcome {
    pub iterations: usize,
    pub loss: f64,
    pub gradient_max: f64,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn max_abs(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m, v| m.max(v.abs()))
}

/// Minimises `loss`, which writes the gradient at `x` into its second
/// argument and returns the value, starting from `x` and leaving the
/// minimiser in it. `memory` correction pairs are kept.
pub(crate) fn minimize(
    x: &mut [f64],
    memory: usize,
    stop: Stop,
    mut loss: impl FnMut(&[f64], &mut [f64]) -> f64,
) -> Outcome {
    let n = x.len();
    let mut gradient = vec![0.0; n];
    let mut value = loss(x, &mut gradient);
    let mut s_pairs: Vec<Vec<f64>> = Vec::with_capacity(memory);
    let mut y_pairs: Vec<Vec<f64>> = Vec::with_capacity(memory);
    let mut rho: Vec<f64> = Vec::with_capacity(memory);
    let mut direction = vec![0.0; n];
    let mut candidate = vec![0.0; n];
    let mut candidate_gradient = vec![0.0; n];
    let mut alpha = vec![0.0; memory];
    let mut iterations = 0;
    while iterations < stop.max_iterations && max_abs(&gradient) > stop.gradient_tolerance {
        iterations += 1;
        // Two-loop recursion: direction = -H·gradient.
        direction.copy_from_slice(&gradient);
        for i in (0..s_pairs.len()).rev() {
            alpha[i] = rho[i] * dot(&s_pairs[i], &direction);
            for (d, y) in direction.iter_mut().zip(&y_pairs[i]) {
                *d -= alpha[i] * y;
            }
        }
        let scale = match (s_pairs.last(), y_pairs.last()) {
            (Some(s), Some(y)) => dot(s, y) / dot(y, y),
            // First step: a unit step along the normalised gradient.
            _ => 1.0 / dot(&gradient, &gradient).sqrt().max(1e-12),
        };
        direction.iter_mut().for_each(|d| *d *= scale);
        for i in 0..s_pairs.len() {
            let beta = rho[i] * dot(&y_pairs[i], &direction);
            for (d, s) in direction.iter_mut().zip(&s_pairs[i]) {
                *d += s * (alpha[i] - beta);
            }
        }
        direction.iter_mut().for_each(|d| *d = -*d);
        let mut slope = dot(&gradient, &direction);
        if slope >= 0.0 {
            // Not a descent direction (curvature lost to rounding): restart from the gradient.
            s_pairs.clear();
            y_pairs.clear();
            rho.clear();
            let norm = dot(&gradient, &gradient).sqrt().max(1e-12);
            for (d, g) in direction.iter_mut().zip(&gradient) {
                *d = -g / norm;
            }
            slope = dot(&gradient, &direction);
        }
        // Backtracking line search with the Armijo condition.
        let mut step = 1.0;
        let mut next = value;
        let mut accepted = false;
        for _ in 0..40 {
            for ((c, xi), d) in candidate.iter_mut().zip(x.iter()).zip(&direction) {
                *c = xi + step * d;
            }
            next = loss(&candidate, &mut candidate_gradient);
            if next <= value + 1e-4 * step * slope {
                accepted = true;
                break;
            }
            step *= 0.5;
        }
        if !accepted {
            break;
        }
        let s: Vec<f64> = candidate
            .iter()
            .zip(x.iter())
            .map(|(c, xi)| c - xi)
            .collect();
        let y: Vec<f64> = candidate_gradient
            .iter()
            .zip(&gradient)
            .map(|(a, b)| a - b)
            .collect();
        let sy = dot(&s, &y);
        if sy > 1e-12 {
            if s_pairs.len() == memory {
                s_pairs.remove(0);
                y_pairs.remove(0);
                rho.remove(0);
            }
            s_pairs.push(s);
            y_pairs.push(y);
            rho.push(1.0 / sy);
        }
        x.copy_from_slice(&candidate);
        gradient.copy_from_slice(&candidate_gradient);
        let decrease = value - next;
        value = next;
        if decrease <= stop.relative_decrease * value.abs().max(1e-12) {
            break;
        }
    }
    Outcome {
        iterations,
        loss: value,
        gradient_max: max_abs(&gradient),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ill-conditioned quadratic: L-BFGS must reach its minimum, where
    /// plain gradient steps of the same count would not.
    #[test]
    fn finds_the_minimum_of_an_ill_conditioned_quadratic() {
        let scales = [1.0, 10.0, 100.0, 1000.0];
        let target = [3.0, -2.0, 0.5, 7.0];
        let mut x = vec![0.0; 4];
        let stop = Stop {
            max_iterations: 200,
            gradient_tolerance: 1e-6,
            relative_decrease: 0.0,
        };
        let outcome = minimize(&mut x, 5, stop, |x, g| {
            let mut f = 0.0;
            for i in 0..4 {
                let d = x[i] - target[i];
                f += 0.5 * scales[i] * d * d;
                g[i] = scales[i] * d;
            }
            f
        });
        for i in 0..4 {
            assert!((x[i] - target[i]).abs() < 1e-6, "{x:?} after {outcome:?}");
        }
        assert!(outcome.iterations < 60, "{outcome:?}");
    }
}
