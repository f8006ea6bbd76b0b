//! Independent CPU work around the network (decoding slices, augmenting a batch) spread over the
//! cores: scoped threads over contiguous chunks, results in input order.

/// `f(index, item)` for every item, on up to one thread per core; the results in item order.
pub fn map_indexed<T: Sync, R: Send>(items: &[T], f: impl Fn(usize, &T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(items.len()).max(1);
    let chunk = items.len().div_ceil(threads).max(1);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| s.spawn(move || part.iter().enumerate().map(|(i, item)| f(c * chunk + i, item)).collect::<Vec<_>>()))
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("worker thread")).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_items_order_and_indices() {
        let items: Vec<u32> = (0..101).collect();
        let out = map_indexed(&items, |i, &v| (i, v * 2));
        assert_eq!(out, (0..101).map(|v| (v as usize, v * 2)).collect::<Vec<_>>());
        assert!(map_indexed(&[] as &[u32], |_, &v| v).is_empty());
    }
}
