//! Backend selection over the backends a request may use (`eligible`:
//! indexes into a pool), kept free of I/O so each rule is tested alone.
//!
//! pingora-load-balancing has round robin, random and hashing, but no
//! least-request; the three used here are written over the pool's own list.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The next backend in turn.
pub fn round_robin(counter: &AtomicUsize, eligible: &[usize]) -> Option<usize> {
    if eligible.is_empty() {
        return None;
    }
    let n = counter.fetch_add(1, Ordering::Relaxed);
    Some(eligible[n % eligible.len()])
}

/// Least outstanding requests by "power of two choices": two backends
/// picked at random, the less loaded wins. Near least-request's balance
/// without scanning the pool or herding every request onto one backend.
pub fn power_of_two(
    eligible: &[usize],
    outstanding: impl Fn(usize) -> usize,
    mut random: impl FnMut(usize) -> usize,
) -> Option<usize> {
    match eligible.len() {
        0 => None,
        1 => Some(eligible[0]),
        n => {
            let a = random(n);
            // a second, different index
            let b = (a + 1 + random(n - 1)) % n;
            let (a, b) = (eligible[a], eligible[b]);
            Some(if outstanding(b) < outstanding(a) {
                b
            } else {
                a
            })
        }
    }
}

/// Rendezvous (highest random weight) hashing of `key`: the same key maps
/// to the same backend while it is eligible, and only the keys of a backend
/// that leaves move.
pub fn consistent_hash(eligible: &[usize], ids: &[String], key: &[u8]) -> Option<usize> {
    eligible
        .iter()
        .copied()
        .max_by_key(|&i| fnv1a(&[ids[i].as_bytes(), b"\0", key]))
}

/// FNV-1a over several slices, then mixed (FNV alone clusters on short keys).
pub fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in *part {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    // splitmix64 finaliser
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// Index of the weighted target `point` (in `0..sum(weights)`) falls in.
pub fn weighted(weights: &[u32], point: u64) -> usize {
    let mut acc = 0u64;
    for (i, &w) in weights.iter().enumerate() {
        acc += u64::from(w);
        if point < acc {
            return i;
        }
    }
    weights.len().saturating_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_cycles_over_eligible() {
        let c = AtomicUsize::new(0);
        let picks: Vec<_> = (0..4).filter_map(|_| round_robin(&c, &[1, 3])).collect();
        assert_eq!(picks, [1, 3, 1, 3]);
        assert_eq!(round_robin(&c, &[]), None);
    }

    #[test]
    fn power_of_two_prefers_the_less_loaded_and_never_picks_the_same_twice() {
        let load = |i: usize| [5, 0, 9][i];
        // every pair of distinct indexes: the lower load wins
        for a in 0..3 {
            for r in 0..2 {
                let mut seq = [a, r].into_iter();
                let pick = power_of_two(&[0, 1, 2], load, |_| seq.next().unwrap_or(0));
                let b = (a + 1 + r) % 3;
                assert_ne!(a, b);
                let want = if load(b) < load(a) { b } else { a };
                assert_eq!(pick, Some(want));
            }
        }
        assert_eq!(power_of_two(&[7], load, |_| 0), Some(7));
        assert_eq!(power_of_two(&[], load, |_| 0), None);
    }

    #[test]
    fn consistent_hash_moves_only_the_keys_of_a_removed_backend() {
        let ids: Vec<String> = (0..4).map(|i| format!("10.0.0.{i}:80")).collect();
        let all = [0, 1, 2, 3];
        let without_2 = [0, 1, 3];
        let mut moved = 0;
        for k in 0..1000 {
            let key = format!("user-{k}");
            let before = consistent_hash(&all, &ids, key.as_bytes()).unwrap();
            let after = consistent_hash(&without_2, &ids, key.as_bytes()).unwrap();
            assert_eq!(before, consistent_hash(&all, &ids, key.as_bytes()).unwrap());
            if before != 2 {
                assert_eq!(before, after, "key {key} moved");
            } else {
                moved += 1;
            }
        }
        // about a quarter of the keys were on backend 2
        assert!((150..350).contains(&moved), "{moved}");
    }

    #[test]
    fn weighted_points() {
        assert_eq!(weighted(&[90, 10], 0), 0);
        assert_eq!(weighted(&[90, 10], 89), 0);
        assert_eq!(weighted(&[90, 10], 90), 1);
        assert_eq!(weighted(&[0, 10], 0), 1);
    }
}
