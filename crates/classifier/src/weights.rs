//! The model's weight matrix (feature × class), laid out for scoring.
//!
//! Scoring a letter reads one row per feature it contains, hundreds of rows
//! scattered over a matrix of several megabytes: the reads miss the cache,
//! and their number is what routing costs. A row of 14 classes in `f32` is
//! 56 bytes, so packed rows straddle two 64-byte cache lines most of the
//! time; here each row is padded to whole, aligned lines of 16 classes, and
//! a feature costs one line for up to 16 classes.

/// How many classes' weights share one cache line.
const LANE: usize = 16;

/// Sixteen weights on one aligned cache line.
#[derive(Debug, Clone, Copy, Default)]
#[repr(C, align(64))]
struct Lane([f32; LANE]);

impl Lane {
    /// `self += v · other`, written over the whole array so that it
    /// compiles to vector instructions (four or eight classes at once).
    #[inline]
    fn add_scaled(&mut self, v: f32, other: &Lane) {
        self.0 = std::array::from_fn(|i| self.0[i] + v * other.0[i]);
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Weights {
    lanes: Vec<Lane>,
    /// Lanes per feature: the classes divided by 16, rounded up.
    per_feature: usize,
    classes: usize,
    /// Each feature's weights summed over the classes, once at load: every
    /// routing's explanation needs the sum of each row it explains, and
    /// summing the row's lanes each time cost more than reading one value
    /// (BENCHMARKS.md, stop 31).
    row_sums: Vec<f32>,
}

impl Weights {
    /// From the row-major matrix a model file holds, `classes` per feature.
    pub fn from_rows(rows: &[f32], classes: usize) -> Weights {
        debug_assert_eq!(rows.len() % classes.max(1), 0);
        let per_feature = classes.div_ceil(LANE).max(1);
        let features = rows.len() / classes.max(1);
        let mut lanes = vec![Lane::default(); features * per_feature];
        for (f, row) in rows.chunks_exact(classes.max(1)).enumerate() {
            for (c, &w) in row.iter().enumerate() {
                lanes[f * per_feature + c / LANE].0[c % LANE] = w;
            }
        }
        let mut weights = Weights {
            lanes,
            per_feature,
            classes,
            row_sums: Vec::new(),
        };
        weights.row_sums = (0..features as u32)
            .map(|f| weights.summed_row(f))
            .collect();
        weights
    }

    /// The row-major matrix again, as a model file holds it.
    pub fn to_rows(&self) -> Vec<f32> {
        let features = self.lanes.len() / self.per_feature.max(1);
        (0..features)
            .flat_map(|f| (0..self.classes).map(move |c| self.get(f as u32, c)))
            .collect()
    }

    /// The weight of `feature` for `class`.
    pub fn get(&self, feature: u32, class: usize) -> f32 {
        self.lanes[feature as usize * self.per_feature + class / LANE].0[class % LANE]
    }

    /// The sum of a feature's weights over all classes, added in class
    /// order (summed once, when the weights are built).
    pub fn row_sum(&self, feature: u32) -> f32 {
        self.row_sums[feature as usize]
    }

    fn summed_row(&self, feature: u32) -> f32 {
        self.lanes[feature as usize * self.per_feature..][..self.per_feature]
            .iter()
            .flat_map(|lane| lane.0)
            .take(self.classes)
            .sum()
    }

    /// The scores `start + Σ value · row(feature)` over a sparse vector, one
    /// per class. Each class adds its terms in the vector's order, as a loop
    /// over a packed row would, so scores do not depend on the layout.
    pub fn scores(&self, start: &[f32], vector: &[(u32, f32)]) -> Vec<f32> {
        let mut sums = vec![Lane::default(); self.per_feature];
        for (c, &s) in start.iter().enumerate().take(self.classes) {
            sums[c / LANE].0[c % LANE] = s;
        }
        for &(f, v) in vector {
            let row = &self.lanes[f as usize * self.per_feature..][..self.per_feature];
            for (sum, lane) in sums.iter_mut().zip(row) {
                sum.add_scaled(v, lane);
            }
        }
        (0..self.classes)
            .map(|c| sums[c / LANE].0[c % LANE])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Any number of classes, fewer or more than a lane holds, round-trips
    /// and scores as the packed row-major loop does, bit for bit.
    #[test]
    fn padded_rows_score_as_packed_rows_do() {
        for classes in [1, 3, 14, 16, 17, 40] {
            let features = 7;
            let rows: Vec<f32> = (0..features * classes)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
                .collect();
            let weights = Weights::from_rows(&rows, classes);
            assert_eq!(weights.to_rows(), rows, "{classes} classes");
            let start: Vec<f32> = (0..classes).map(|c| c as f32 * 0.1).collect();
            let vector = [(0u32, 0.3f32), (3, 0.9), (6, 0.01)];
            let mut packed = start.clone();
            for &(f, v) in &vector {
                let row = &rows[f as usize * classes..(f as usize + 1) * classes];
                for (s, w) in packed.iter_mut().zip(row) {
                    *s += v * w;
                }
            }
            assert_eq!(weights.scores(&start, &vector), packed, "{classes} classes");
            assert_eq!(weights.get(3, classes - 1), rows[3 * classes + classes - 1]);
            for (f, row) in rows.chunks_exact(classes).enumerate() {
                let sum: f32 = row.iter().sum();
                assert_eq!(weights.row_sum(f as u32), sum, "{classes} classes");
            }
        }
    }
}
