//! Each CPU kernel alone at the compact U-Net's shapes (256x256 input, batch 4): milliseconds and
//! GFLOP/s for the 3x3 convolution's forward (as run: Winograd where it pays; and as im2col),
//! input gradient and weight gradient, and for the fused GroupNorm + ReLU and 2x2 max pooling;
//! with the machine's GEMM peak (a large square product on every thread) for scale. GFLOP/s
//! count a direct convolution's arithmetic, so Winograd's figure is an effective rate.
//! `cargo bench -p brainseg --bench kernels [-- --batch N] [--base-channels 32]`. Not a test.

use std::time::Instant;

use brainseg_core::kernels::raw;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn median_ms(reps: usize, mut f: impl FnMut()) -> f64 {
    f(); // warm-up: scratch buffers, page faults
    let mut times: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Deterministic values in [-1, 1): the kernels' speed does not depend on them.
fn values(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761).max(1);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s as f32 / u32::MAX as f32) * 2.0 - 1.0
        })
        .collect()
}

fn main() {
    brainseg_trainer::alloc::keep_freed_memory();
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: usize| args.windows(2).find(|w| w[0] == name).and_then(|w| w[1].parse().ok()).unwrap_or(default);
    let batch = arg("--batch", 4);
    // Every width scales with the network's base width (16 for the compact U-Net).
    let base = arg("--base-channels", 16);
    let scale = |c: usize| if c == 3 { 3 } else { c * base / 16 };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let n = 1024;
    let (a, b) = (values(n * n, 1), values(n * n, 2));
    let ms = median_ms(5, || {
        std::hint::black_box(raw::matmul(&a, &b, n));
    });
    println!("GEMM peak: {n}x{n}x{n} sgemm {:.1} GFLOP/s on {threads} threads", 2.0 * (n * n * n) as f64 / ms / 1e6);
    println!("3x3 conv, batch {batch}: ms and GFLOP/s");
    println!("{:<22} {:>14} {:>14} {:>14} {:>14}", "shape (in->out @ side)", "forward", "fwd im2col", "input grad", "weight grad");
    // Every distinct 3x3 convolution of the compact U-Net at 256x256.
    let shapes = [
        (3, 16, 256), (16, 16, 256), (16, 32, 128), (32, 32, 128), (32, 64, 64), (64, 64, 64),
        (64, 128, 32), (128, 128, 32), (128, 256, 16), (256, 256, 16), (256, 128, 32),
        (128, 64, 64), (64, 32, 128), (32, 16, 256),
    ];
    let mut totals = [0.0f64; 4];
    for (c_in, c_out, side) in shapes.map(|(i, o, s)| (scale(i), scale(o), s)) {
        let d = raw::Dims { batch, c_in, c_out, h: side, w: side };
        let x = values(batch * c_in * side * side, 3);
        let w = values(c_out * c_in * 9, 4);
        let g = values(batch * c_out * side * side, 5);
        let gflop = 2.0 * (batch * c_out * c_in * 9 * side * side) as f64 / 1e9;
        let times = [
            median_ms(5, || drop(std::hint::black_box(raw::conv3x3_forward(&x, &w, d)))),
            median_ms(5, || drop(std::hint::black_box(raw::conv3x3_forward_im2col(&x, &w, d)))),
            median_ms(5, || drop(std::hint::black_box(raw::conv3x3_input_grad(&g, &w, d)))),
            median_ms(5, || drop(std::hint::black_box(raw::conv3x3_weight_grad(&x, &g, d)))),
        ];
        let cell = |ms: f64| format!("{ms:6.1} {:6.1}", gflop / ms * 1e3);
        let cells = times.map(cell);
        println!("{:<22} {:>14} {:>14} {:>14} {:>14}", format!("{c_in}->{c_out} @ {side}"), cells[0], cells[1], cells[2], cells[3]);
        totals.iter_mut().zip(times).for_each(|(t, ms)| *t += ms);
    }
    println!("{:<22} {:>14.1} {:>14.1} {:>14.1} {:>14.1}  (ms, all shapes)", "total", totals[0], totals[1], totals[2], totals[3]);
    println!("GroupNorm(8) + ReLU, batch {batch}: ms forward / backward");
    for (c, side) in [(16, 256), (32, 128), (64, 64), (128, 32), (256, 16)] {
        let d = raw::NormDims { batch, channels: c, plane: side * side, groups: 8 };
        let x = values(batch * c * side * side, 6);
        let (gamma, beta) = (values(c, 7), values(c, 8));
        let g = values(x.len(), 9);
        let (_, stats) = raw::group_norm_relu_forward(&x, &gamma, &beta, 1e-5, d);
        let f = median_ms(5, || drop(std::hint::black_box(raw::group_norm_relu_forward(&x, &gamma, &beta, 1e-5, d))));
        let b = median_ms(5, || drop(std::hint::black_box(raw::group_norm_relu_backward(&x, &gamma, &beta, &stats, &g, d))));
        println!("{:<22} {f:>8.2} {b:>8.2}", format!("{c} @ {side}"));
    }
    println!("2x2 max pooling, batch {batch}: ms forward / backward");
    for (c, side) in [(16, 256), (32, 128), (64, 64), (128, 32)] {
        let d = raw::PoolDims { planes: batch * c, h: side, w: side };
        let x = values(batch * c * side * side, 10);
        let g = values(x.len() / 4, 11);
        let f = median_ms(5, || drop(std::hint::black_box(raw::max_pool2x2_forward(&x, d))));
        let b = median_ms(5, || drop(std::hint::black_box(raw::max_pool2x2_backward(&x, &g, d))));
        println!("{:<22} {f:>8.2} {b:>8.2}", format!("{c} @ {side}"));
    }
}
