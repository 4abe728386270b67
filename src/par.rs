//! Work split over the host's cores: reading and parsing thousands of manifest files is
//! independent per file, and a plan over 10,000 objects spends most of its time there.

/// Below this many items the work runs on the calling thread: starting threads costs more
/// than a few files take.
const MIN_PARALLEL: usize = 64;

/// `f` over contiguous chunks of `items`, one chunk per core, results in the order of the
/// chunks (so the concatenation keeps the order of `items`).
pub fn chunks<T: Sync, R: Send>(items: &[T], f: impl Fn(&[T]) -> R + Sync) -> Vec<R> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores < 2 || items.len() < MIN_PARALLEL {
        return vec![f(items)];
    }
    let size = items.len().div_ceil(cores);
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = items.chunks(size).map(|chunk| scope.spawn(move || f(chunk))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    })
}

/// `f` of every item, in the order of `items`.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    chunks(items, |chunk| chunk.iter().map(&f).collect::<Vec<R>>())
        .into_iter()
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_order_of_the_items() {
        for n in [0, 1, 63, 64, 65, 1000] {
            let items: Vec<usize> = (0..n).collect();
            assert_eq!(map(&items, |i| i * 2), items.iter().map(|i| i * 2).collect::<Vec<_>>());
            let sizes: usize = chunks(&items, |c| c.len()).into_iter().sum();
            assert_eq!(sizes, n);
        }
    }
}
