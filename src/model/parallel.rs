//! Work spread over the machine's cores, results in input order: loading
//! many inputs (a corpus, a fleet) is one parse per input, independent of
//! the others.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The threads to use: the cores this process may run on (Linux counts the
/// CPU affinity, so `taskset -c 0` means one), at most `items`.
pub fn threads_for(items: usize) -> usize {
    std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1)
        .min(items)
        .max(1)
}

/// `f(index, item)` for every item, on up to [`threads_for`] threads (each
/// takes the next item when it is done with one, so a large item does not
/// hold up the rest), the results in the items' order.
pub fn map_in_order<T: Sync, R: Send>(items: &[T], f: impl Fn(usize, &T) -> R + Sync) -> Vec<R> {
    let threads = threads_for(items.len());
    if threads == 1 {
        return items.iter().enumerate().map(|(i, item)| f(i, item)).collect();
    }
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new(items.iter().map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let result = f(i, item);
                results.lock().unwrap_or_else(|poisoned| poisoned.into_inner())[i] = Some(result);
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .into_iter()
        // Every index below items.len() was taken by a thread, and a scope
        // joins its threads (a panic in `f` is re-raised by the scope).
        .map(|r| r.expect("every item was mapped"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_the_items_order_whatever_finishes_first() {
        let items: Vec<u64> = (0..50).collect();
        let doubled = map_in_order(&items, |i, n| {
            // Early items take longest.
            std::thread::sleep(std::time::Duration::from_micros(50 * (50 - i as u64)));
            n * 2
        });
        assert_eq!(doubled, (0..50).map(|n| n * 2).collect::<Vec<_>>());
        assert!(map_in_order(&[] as &[u8], |_, n| *n).is_empty());
    }
}
