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
    map_in_order_counted(items, threads_for(items.len()), f, |_| {})
}

/// [`map_in_order`] on `threads` threads (work that mostly waits, such as
/// helm calls, wants more than the cores), calling `each_done(done)` on the
/// calling thread as items finish (progress that is not `Sync` can draw it).
pub fn map_in_order_counted<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(usize, &T) -> R + Sync,
    mut each_done: impl FnMut(usize),
) -> Vec<R> {
    let threads = threads.clamp(1, items.len().max(1));
    if threads == 1 {
        return items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let result = f(i, item);
                each_done(i + 1);
                result
            })
            .collect();
    }
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new(items.iter().map(|_| None).collect());
    std::thread::scope(|scope| {
        let (finished, each_finished) = std::sync::mpsc::channel::<()>();
        for _ in 0..threads {
            let finished = finished.clone();
            let (next, results, f) = (&next, &results, &f);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let result = f(i, item);
                results.lock().unwrap_or_else(|poisoned| poisoned.into_inner())[i] = Some(result);
                let _ = finished.send(());
            });
        }
        drop(finished);
        // Ends early only when a thread panicked (the scope re-raises it).
        for done in 1..=items.len() {
            if each_finished.recv().is_err() {
                break;
            }
            each_done(done);
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

    #[test]
    fn each_finished_item_is_counted_on_the_calling_thread() {
        let items: Vec<u32> = (0..20).collect();
        let caller = std::thread::current().id();
        let mut counted = Vec::new();
        let squares = map_in_order_counted(
            &items,
            4,
            |_, n| n * n,
            |done| {
                assert_eq!(std::thread::current().id(), caller);
                counted.push(done);
            },
        );
        assert_eq!(squares, (0..20).map(|n| n * n).collect::<Vec<_>>());
        assert_eq!(counted, (1..=20).collect::<Vec<_>>());
    }
}
