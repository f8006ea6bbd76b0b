//! Wider vectors for the kernels' own loops where the CPU has them.
//!
//! Native builds target baseline x86-64, so loops the compiler vectorises use 4-wide SSE: in a
//! profile of one-thread inference, GroupNorm's loops ran as SSE and scalar code while the CPU had
//! AVX-512. [`simd_fn!`] compiles a function body twice, for the baseline and for AVX2 + FMA, and
//! picks at run time (the check is a cached atomic load). Results are bit-identical either way:
//! Rust never fuses a multiply and an add on its own. The page's wasm build has one variant,
//! SIMD128 where it is built with it.

/// `simd_fn! { /// docs  fn name(args) -> ret { body } }`: `name` runs `body` compiled with
/// AVX2 + FMA where the CPU has them, as built otherwise.
macro_rules! simd_fn {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn body($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                unsafe fn wide($($arg: $ty),*) $(-> $ret)? {
                    body($($arg),*)
                }
                if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                    // SAFETY: the CPU has the features `wide` is compiled for.
                    return unsafe { wide($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}

pub(super) use simd_fn;
