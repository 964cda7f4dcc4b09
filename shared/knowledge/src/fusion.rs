//! Reciprocal rank fusion: each list ranks candidates from 1; a candidate's score is the sum
//! over lists of 1 / (k + rank). Pure.

use std::collections::HashMap;
use std::hash::Hash;

/// The constant of the original paper (Cormack et al., 2009), which the issue asks for.
pub const RRF_K: f64 = 60.0;

/// Fuses ranked lists (best first) into one, best first; ties keep first-seen order.
pub fn reciprocal_rank_fusion<T: Clone + Eq + Hash>(lists: &[Vec<T>], k: f64) -> Vec<(T, f64)> {
    let mut scores: HashMap<T, (f64, usize)> = HashMap::new();
    let mut seen = 0usize;
    for list in lists {
        for (i, item) in list.iter().enumerate() {
            let entry = scores.entry(item.clone()).or_insert_with(|| {
                seen += 1;
                (0.0, seen)
            });
            entry.0 += 1.0 / (k + (i + 1) as f64);
        }
    }
    let mut fused: Vec<(T, f64, usize)> = scores.into_iter().map(|(t, (s, o))| (t, s, o)).collect();
    fused.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
    fused.into_iter().map(|(t, s, _)| (t, s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agreement_beats_a_single_first_place() {
        let fts = vec!["a", "b", "c"];
        let vec = vec!["b", "d", "a"];
        let fused = reciprocal_rank_fusion(&[fts, vec], RRF_K);
        let order: Vec<_> = fused.iter().map(|(t, _)| *t).collect();
        assert_eq!(order, vec!["b", "a", "d", "c"]);
        assert!((fused[0].1 - (1.0 / 62.0 + 1.0 / 61.0)).abs() < 1e-12);
    }

    #[test]
    fn empty_lists_fuse_to_nothing() {
        assert!(reciprocal_rank_fusion::<u32>(&[vec![], vec![]], RRF_K).is_empty());
    }
}
