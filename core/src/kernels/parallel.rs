//! Work split for the kernels: a few contiguous groups of tiles, one per thread, each with its own
//! scratch buffer that lives as long as the thread (rayon's workers natively, the page's single
//! thread in wasm32), so no tile buffer is allocated or zero-filled per call.

use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::ops::Range;

/// Threads the kernels split their tiles over.
pub fn threads() -> usize {
    #[cfg(not(target_arch = "wasm32"))]
    {
        rayon::current_num_threads().max(1)
    }
    #[cfg(target_arch = "wasm32")]
    {
        1
    }
}

/// Runs `f` on `groups` contiguous ranges covering `0..items`, in parallel where threads exist,
/// and returns the results in order.
pub fn map_groups<T: Send>(
    items: usize,
    groups: usize,
    f: impl Fn(Range<usize>) -> T + Sync,
) -> Vec<T> {
    let groups = groups.clamp(1, items.max(1));
    let range = |g: usize| (g * items / groups)..((g + 1) * items / groups);
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        if groups > 1 {
            return (0..groups).into_par_iter().map(|g| f(range(g))).collect();
        }
    }
    (0..groups).map(|g| f(range(g))).collect()
}

thread_local! {
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Calls `f` with this thread's scratch buffer of at least `len` floats (contents unspecified).
///
/// # Panics
/// If `f` itself asks for scratch (the buffer is already lent out).
pub fn with_scratch<T>(len: usize, f: impl FnOnce(&mut [f32]) -> T) -> T {
    SCRATCH.with(|cell| {
        let mut buf = cell.borrow_mut();
        if buf.len() < len {
            buf.resize(len, 0.0);
        }
        f(&mut buf[..len])
    })
}

/// A raw pointer that tiles writing disjoint parts of one output may share across threads.
#[derive(Clone, Copy)]
pub struct SharedMut(pub *mut f32);
// SAFETY: every user writes only its own tile's elements; the tiles never overlap.
unsafe impl Send for SharedMut {}
unsafe impl Sync for SharedMut {}

/// A vector of `n` floats that `fill` writes completely through the pointer it is given, and
/// what `fill` returns: outputs are not zero-filled first (that was 5% of training time).
///
/// # Safety
/// `fill` must initialise all `n` elements.
pub unsafe fn written_by<T>(n: usize, fill: impl FnOnce(SharedMut) -> T) -> (Vec<f32>, T) {
    // SAFETY: forwarded from the caller.
    let (mut v, out) = unsafe { written_by_parts(&[n], |dst| fill(dst[0])) };
    (v.pop().unwrap_or_default(), out)
}

/// [`written_by`] for several vectors at once, of `lens[i]` floats each.
///
/// # Safety
/// `fill` must initialise every element of every vector.
pub unsafe fn written_by_parts<T>(lens: &[usize], fill: impl FnOnce(&[SharedMut]) -> T) -> (Vec<Vec<f32>>, T) {
    let mut vs: Vec<Vec<f32>> = lens.iter().map(|&n| Vec::with_capacity(n)).collect();
    let ptrs: Vec<SharedMut> = vs.iter_mut().map(|v| SharedMut(v.spare_capacity_mut().as_mut_ptr().cast::<f32>())).collect();
    let out = fill(&ptrs);
    for (v, &n) in vs.iter_mut().zip(lens) {
        // SAFETY: the caller guarantees every element was written.
        unsafe { v.set_len(n) };
    }
    (vs, out)
}

/// Elements `start..start + len` behind `ptr`, to be written.
///
/// # Safety
/// The range must lie in the allocation behind `ptr`, and no one else may use it meanwhile.
pub unsafe fn uninit_slice<'a>(
    ptr: SharedMut,
    start: usize,
    len: usize,
) -> &'a mut [MaybeUninit<f32>] {
    // SAFETY: forwarded from the caller; `MaybeUninit` makes no claim about the contents.
    unsafe { std::slice::from_raw_parts_mut(ptr.0.add(start).cast::<MaybeUninit<f32>>(), len) }
}
