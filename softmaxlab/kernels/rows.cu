// softmaxlab: fused softmax / cross-entropy kernels (one row per warp or block).
// MODE 0: cross-entropy row loss + gradient; 1: softmax; 2: log_softmax.

// Hooks a CPU emulation of CUDA may define before including this file
// (tests/test_cuda_kernels.py does); the defaults are CUDA's.
#ifndef SL_H2F  // float16 bits -> float
#define SL_H2F(h, f) asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h))
#endif
#ifndef SL_F2H  // float -> float16 bits, rounded to nearest
#define SL_F2H(a, h) asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(a))
#endif
#ifndef SL_DYN_SMEM_DECL  // the dynamic shared memory of a block
#define SL_DYN_SMEM_DECL extern __shared__ __align__(16) unsigned char sl_dyn_smem[]
#endif

struct F16 { typedef unsigned short S; typedef float A; };
struct F32 { typedef float S; typedef float A; };
struct F64 { typedef double S; typedef double A; };

__device__ __forceinline__ float sl_to_acc(float x) { return x; }
__device__ __forceinline__ double sl_to_acc(double x) { return x; }
__device__ __forceinline__ float sl_to_acc(unsigned short h) {
    float f;
    SL_H2F(h, f);
    return f;
}
__device__ __forceinline__ void sl_store(float a, float& o) { o = a; }
__device__ __forceinline__ void sl_store(double a, double& o) { o = a; }
__device__ __forceinline__ void sl_store(float a, unsigned short& o) {
    unsigned short h;
    SL_F2H(a, h);
    o = h;
}

__device__ __forceinline__ float sl_exp(float x) { return expf(x); }
__device__ __forceinline__ double sl_exp(double x) { return exp(x); }
__device__ __forceinline__ float sl_log(float x) { return logf(x); }
__device__ __forceinline__ double sl_log(double x) { return log(x); }

template <typename A> __device__ __forceinline__ A sl_ninf();
template <> __device__ __forceinline__ float sl_ninf<float>() { return __int_as_float(0xff800000); }
template <> __device__ __forceinline__ double sl_ninf<double>() {
    return __longlong_as_double((long long)0xfff0000000000000ULL);
}
template <typename A> __device__ __forceinline__ A sl_nan();
template <> __device__ __forceinline__ float sl_nan<float>() { return __int_as_float(0x7fc00000); }
template <> __device__ __forceinline__ double sl_nan<double>() {
    return __longlong_as_double((long long)0x7ff8000000000000ULL);
}

// Maximum that propagates NaN (a NaN anywhere in the row makes lse NaN).
template <typename A> __device__ __forceinline__ A sl_max(A a, A b) {
    return (b > a || b != b) ? b : a;
}

// Merge two online-softmax states (m, d): d = sum exp(z - m).
// Symmetric in its two arguments, bit for bit, so a butterfly reduction
// leaves every lane with the same result.
template <typename A> __device__ __forceinline__ void sl_merge(A& m, A& d, A m2, A d2) {
    const A mn = sl_max(m, m2);
    if (mn == sl_ninf<A>()) {  // both parts hold only -inf: d = 0 + 0
        d = d + d2;
    } else {
        d = d * sl_exp(m - mn) + d2 * sl_exp(m2 - mn);
    }
    m = mn;
}

// 16-byte (or element-wide when VEC == 1) load/store unit.
template <typename S, int VEC> struct alignas(sizeof(S) * VEC) SlPack { S v[VEC]; };

// Reduce (m, d) over the RT threads of a row.  RT == 32: one warp per row
// (no shared memory); RT > 32: the whole block is one row.
template <typename A, int RT>
__device__ __forceinline__ void sl_reduce_md(A& m, A& d, A* sm, A* sd) {
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) {
        const A m2 = __shfl_xor_sync(0xffffffffu, m, off);
        const A d2 = __shfl_xor_sync(0xffffffffu, d, off);
        sl_merge(m, d, m2, d2);
    }
    if (RT > 32) {
        const int w = threadIdx.x >> 5;
        if ((threadIdx.x & 31) == 0) { sm[w] = m; sd[w] = d; }
        __syncthreads();
        m = sm[0];
        d = sd[0];
#pragma unroll
        for (int i = 1; i < RT / 32; ++i) sl_merge(m, d, sm[i], sd[i]);
    }
}

template <typename A, int RT>
__device__ __forceinline__ A sl_reduce_sum(A s, A* ss) {
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) s += __shfl_xor_sync(0xffffffffu, s, off);
    if (RT > 32) {
        const int w = threadIdx.x >> 5;
        if ((threadIdx.x & 31) == 0) ss[w] = s;
        __syncthreads();
        s = ss[0];
#pragma unroll
        for (int i = 1; i < RT / 32; ++i) s += ss[i];
    }
    return s;
}

// Per-row constants of the cross-entropy gradient.
template <typename A> struct SlRow {
    long long y;   // label
    A cy;          // (1 - eps) * w_y
    A coef;        // (1 - eps) * w_y + eps * W / C
    A epsc;        // eps / C
    A gs;          // grad_scale
};

// Output value for element j (MODE 0: gradient; 1: softmax; 2: log_softmax);
// adds the label-smoothing term w_j * (lse - z_j) to *smooth.  The log-probability
// is (z_j - m) - log(d), not z_j - lse: z_j - m is exact for nearby values, so a
// row shifted by 1000 loses nothing to the rounding of lse.
template <typename A, int MODE>
__device__ __forceinline__ A sl_elem(A t, long long j, A m, A logd, const SlRow<A>& r, A eps,
                                     const A* __restrict__ weight, int has_weight, A* smooth) {
    // A row of only -inf (m == -inf; a NaN or +inf makes m NaN or +inf): every
    // class masked, so softmax 0 and log_softmax -inf, as the reference path gives.
    if (MODE != 0 && m == sl_ninf<A>()) return MODE == 1 ? A(0) : sl_ninf<A>();
    const A lp = (t - m) - logd;
    if (MODE == 1) return sl_exp(lp);
    if (MODE == 2) return lp;
    A g = sl_exp(lp) * r.coef;
    if (j == r.y) g -= r.cy;
    if (eps != A(0)) {
        const A wj = has_weight ? weight[j] : A(1);
        g -= r.epsc * wj;
        if (wj != A(0)) *smooth -= wj * lp;  // 0-weight classes add 0, even at -inf
    }
    return g * r.gs;
}

// The row loss, written by one thread once lse and the smoothing sum are known.
template <typename TR>
__device__ __forceinline__ void sl_finish_loss(const typename TR::S* __restrict__ xrow, bool bad,
                                               typename TR::A m, typename TR::A logd, typename TR::A smooth,
                                               const SlRow<typename TR::A>& r, typename TR::A eps,
                                               typename TR::A* out_loss) {
    typedef typename TR::A A;
    const A zy = bad ? sl_nan<A>() : sl_to_acc(xrow[r.y]);
    const A lse = m + logd;
    // cy == 0 (zero class weight, or eps == 1): the term is 0 * (lse - z_y); it is 0
    // for a finite lse even where z_y = -inf, and NaN for a NaN / all -inf row.
    A loss = (r.cy == A(0) && !bad) ? (lse - lse) : r.cy * ((m - zy) + logd);
    if (eps != A(0)) loss += r.epsc * smooth;
    *out_loss = loss;
}

// Read the label and fill the per-row constants; returns 1 for an ignored row.
template <typename A>
__device__ __forceinline__ int sl_row_setup(long long row, int n_cols, const long long* __restrict__ labels,
                                            const A* __restrict__ weight, int has_weight,
                                            long long ignore_index, int has_ignore, A eps, A gscale,
                                            const A* __restrict__ gscale_ptr, int has_gscale_ptr,
                                            const A* __restrict__ wsum_ptr, SlRow<A>& r, bool& bad) {
    const long long y = labels[row];
    r.y = y;
    if (has_ignore && y == ignore_index) { bad = false; return 1; }
    bad = (y < 0 || y >= (long long)n_cols);
    const A wy = bad ? sl_nan<A>() : (has_weight ? weight[y] : A(1));
    const A W = has_weight ? wsum_ptr[0] : A(n_cols);
    r.cy = (A(1) - eps) * wy;
    r.epsc = eps / A(n_cols);
    r.coef = r.cy + eps * W / A(n_cols);
    r.gs = has_gscale_ptr ? gscale_ptr[0] : gscale;
    return 0;
}

#define SL_ARGS                                                                              \
    const typename TR::S* __restrict__ x, long long n_rows, int n_cols,                      \
        const long long* __restrict__ labels, const typename TR::A* __restrict__ weight,      \
        int has_weight, long long ignore_index, int has_ignore, typename TR::A eps,           \
        typename TR::A gscale, const typename TR::A* __restrict__ gscale_ptr,                 \
        int has_gscale_ptr, const typename TR::A* __restrict__ wsum_ptr,                      \
        typename TR::S* __restrict__ out, int write_out, typename TR::A* __restrict__ row_loss

// ---------------------------------------------------------------------------
// Register-resident rows: each logit is read from global memory once.
// RT threads per row (32: a warp per row, 4 rows per 128-thread block;
// 128 or 512: a block per row), ITEMS elements per thread, VEC per load.
// ---------------------------------------------------------------------------
template <typename TR, int VEC, int RT, int ITEMS, int MODE>
__global__ void __launch_bounds__(RT == 32 ? 128 : RT) sl_rows_reg(SL_ARGS) {
    typedef typename TR::S S;
    typedef typename TR::A A;
    typedef SlPack<S, VEC> P;
    constexpr int NV = ITEMS / VEC;
    __shared__ A red[3][32];

    const int lane = (RT == 32) ? (threadIdx.x & 31) : threadIdx.x;
    const long long row = (RT == 32) ? (long long)blockIdx.x * 4 + (threadIdx.x >> 5) : (long long)blockIdx.x;
    if (RT == 32 && row >= n_rows) return;  // a whole warp leaves; no block barrier in this path
    const long long base = row * (long long)n_cols;
    const int nvec = n_cols / VEC;
    const P* __restrict__ xv = reinterpret_cast<const P*>(x + base);
    P* __restrict__ ov = reinterpret_cast<P*>(out + base);

    SlRow<A> r = {0, A(0), A(0), A(0), A(0)};
    bool bad = false;
    if (MODE == 0) {
        if (sl_row_setup<A>(row, n_cols, labels, weight, has_weight, ignore_index, has_ignore, eps, gscale,
                            gscale_ptr, has_gscale_ptr, wsum_ptr, r, bad)) {
            if (write_out) {
                P zero;
#pragma unroll
                for (int v = 0; v < VEC; ++v) sl_store(A(0), zero.v[v]);
#pragma unroll
                for (int k = 0; k < NV; ++k) {
                    const int idx = k * RT + lane;
                    if (idx < nvec) ov[idx] = zero;
                }
            }
            if (lane == 0) row_loss[row] = A(0);
            return;  // uniform over the row's threads
        }
    }

    P buf[NV];
#pragma unroll
    for (int k = 0; k < NV; ++k) {
        const int idx = k * RT + lane;
        if (idx < nvec) buf[k] = xv[idx];
    }
    A m = sl_ninf<A>();
#pragma unroll
    for (int k = 0; k < NV; ++k) {
        if (k * RT + lane < nvec) {
#pragma unroll
            for (int v = 0; v < VEC; ++v) m = sl_max(m, sl_to_acc(buf[k].v[v]));
        }
    }
    A d = A(0);
    if (m != sl_ninf<A>()) {
#pragma unroll
        for (int k = 0; k < NV; ++k) {
            if (k * RT + lane < nvec) {
#pragma unroll
                for (int v = 0; v < VEC; ++v) d += sl_exp(sl_to_acc(buf[k].v[v]) - m);
            }
        }
    }
    sl_reduce_md<A, RT>(m, d, red[0], red[1]);
    const A logd = sl_log(d);

    A smooth = A(0);
    if (write_out || (MODE == 0 && eps != A(0))) {
#pragma unroll
        for (int k = 0; k < NV; ++k) {
            const int idx = k * RT + lane;
            if (idx < nvec) {
                P o;
#pragma unroll
                for (int v = 0; v < VEC; ++v) {
                    const A g = sl_elem<A, MODE>(sl_to_acc(buf[k].v[v]), (long long)idx * VEC + v, m, logd, r, eps,
                                                 weight, has_weight, &smooth);
                    sl_store(g, o.v[v]);
                }
                if (write_out) ov[idx] = o;
            }
        }
    }
    if (MODE == 0) {
        if (eps != A(0)) smooth = sl_reduce_sum<A, RT>(smooth, red[2]);
        if (lane == 0) sl_finish_loss<TR>(x + base, bad, m, logd, smooth, r, eps, row_loss + row);
    }
}

// ---------------------------------------------------------------------------
// Long rows: one block of BT threads per row, online (m, d) over the row in
// chunks of U vectors per thread, then a second sweep.  The first cache_vecs
// vectors of the row stay in dynamic shared memory between the sweeps; the
// rest is read again (first, while it is still in L2).
// ---------------------------------------------------------------------------
template <typename TR, int VEC, int BT, int MODE>
__global__ void __launch_bounds__(BT, (BT <= 512 && sizeof(typename TR::S) < 8) ? 2 : 1)
    sl_rows_big(SL_ARGS, int cache_vecs) {
    typedef typename TR::S S;
    typedef typename TR::A A;
    typedef SlPack<S, VEC> P;
    constexpr int U = sizeof(S) == 8 ? 2 : 4;  // 1024 threads leave 64 registers each
    __shared__ A red[3][32];
    SL_DYN_SMEM_DECL;
    P* cache = reinterpret_cast<P*>(sl_dyn_smem);

    const int tid = threadIdx.x;
    const long long row = (long long)blockIdx.x;
    const long long base = row * (long long)n_cols;
    const int nvec = n_cols / VEC;
    const int ncache = cache_vecs < nvec ? cache_vecs : nvec;
    const P* __restrict__ xv = reinterpret_cast<const P*>(x + base);
    P* __restrict__ ov = reinterpret_cast<P*>(out + base);

    SlRow<A> r = {0, A(0), A(0), A(0), A(0)};
    bool bad = false;
    if (MODE == 0) {
        if (sl_row_setup<A>(row, n_cols, labels, weight, has_weight, ignore_index, has_ignore, eps, gscale,
                            gscale_ptr, has_gscale_ptr, wsum_ptr, r, bad)) {
            if (write_out) {
                P zero;
#pragma unroll
                for (int v = 0; v < VEC; ++v) sl_store(A(0), zero.v[v]);
                for (int idx = tid; idx < nvec; idx += BT) ov[idx] = zero;
            }
            if (tid == 0) row_loss[row] = A(0);
            return;  // uniform over the block
        }
    }

    // Sweep 1: online max and rescaled sum.
    A m = sl_ninf<A>();
    A d = A(0);
    for (int b = tid; b < nvec; b += BT * U) {
        P buf[U];
#pragma unroll
        for (int u = 0; u < U; ++u) {
            const int idx = b + u * BT;
            if (idx < nvec) buf[u] = xv[idx];
        }
        A cm = sl_ninf<A>();
#pragma unroll
        for (int u = 0; u < U; ++u) {
            const int idx = b + u * BT;
            if (idx < nvec) {
                if (idx < ncache) cache[idx] = buf[u];  // read back by this same thread
#pragma unroll
                for (int v = 0; v < VEC; ++v) cm = sl_max(cm, sl_to_acc(buf[u].v[v]));
            }
        }
        const A mn = sl_max(m, cm);
        if (mn != sl_ninf<A>()) {
            A acc = d * sl_exp(m - mn);  // d == 0 while m == -inf
#pragma unroll
            for (int u = 0; u < U; ++u) {
                if (b + u * BT < nvec) {
#pragma unroll
                    for (int v = 0; v < VEC; ++v) acc += sl_exp(sl_to_acc(buf[u].v[v]) - mn);
                }
            }
            d = acc;
            m = mn;
        }
    }
    sl_reduce_md<A, BT>(m, d, red[0], red[1]);
    const A logd = sl_log(d);

    // Sweep 2: the uncached tail from global memory (first), then the cached head.
    A smooth = A(0);
    if (write_out || (MODE == 0 && eps != A(0))) {
        const int first_tail = ncache + ((tid - ncache % BT + BT) % BT);  // keeps idx % BT == tid
        for (int b = first_tail; b < nvec; b += BT * U) {
            P buf[U];
#pragma unroll
            for (int u = 0; u < U; ++u) {
                const int idx = b + u * BT;
                if (idx < nvec) buf[u] = xv[idx];
            }
#pragma unroll
            for (int u = 0; u < U; ++u) {
                const int idx = b + u * BT;
                if (idx < nvec) {
                    P o;
#pragma unroll
                    for (int v = 0; v < VEC; ++v) {
                        const A g = sl_elem<A, MODE>(sl_to_acc(buf[u].v[v]), (long long)idx * VEC + v, m, logd,
                                                     r, eps, weight, has_weight, &smooth);
                        sl_store(g, o.v[v]);
                    }
                    if (write_out) ov[idx] = o;
                }
            }
        }
        for (int idx = tid; idx < ncache; idx += BT) {
            const P in = cache[idx];
            P o;
#pragma unroll
            for (int v = 0; v < VEC; ++v) {
                const A g = sl_elem<A, MODE>(sl_to_acc(in.v[v]), (long long)idx * VEC + v, m, logd, r, eps, weight,
                                             has_weight, &smooth);
                sl_store(g, o.v[v]);
            }
            if (write_out) ov[idx] = o;
        }
    }
    if (MODE == 0) {
        if (eps != A(0)) smooth = sl_reduce_sum<A, BT>(smooth, red[2]);
        if (tid == 0) sl_finish_loss<TR>(x + base, bad, m, logd, smooth, r, eps, row_loss + row);
    }
}
