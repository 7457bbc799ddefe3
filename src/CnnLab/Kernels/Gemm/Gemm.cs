using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// Legend: C is M x N, op(A) is M x K, op(B) is K x N; all row-major with leading dimensions lda/ldb/ldc.
// MR x NR: the register tile of C; MC x NC: a tile of C given to one thread; KC x NC: the packed block of op(B).

/// <summary>
/// Single-precision matrix multiply, C = alpha·op(A)·op(B) + beta·C (BLAS sgemm, row-major), with an
/// optional fused bias/ReLU epilogue. Written by hand because no managed library ships a fast sgemm
/// and CnnLab has no native dependency.
/// <para>
/// Design (Goto &amp; van de Geijn, "Anatomy of high-performance matrix multiplication", ACM TOMS 2008;
/// Van Zee &amp; van de Geijn, "BLIS", ACM TOMS 2015): C is cut into MC x NC tiles, handed out
/// dynamically to the threads (<see cref="Parallelism.For"/>), numbered down each column of tiles. For
/// each KC slice of K a thread packs the KC x NC block of op(B) into NR-wide panels (kept in L2) once
/// for the run of tiles it holds in that column, then each MR x KC panel of op(A) in turn (kept in
/// L1), reading transposed operands in place. The micro-kernel then holds an MR x NR tile
/// of C in registers (AVX-512: 6 x 64 or 8 x 48, 24 zmm accumulators; AVX2: 6 x 16; else 4 x 4
/// scalar) while one A panel sits in L1 and B panels stream from L2. Each element of C is computed by
/// one thread in a fixed k order, so results do not depend on the thread count.
/// </para>
/// <see cref="Reference"/> is the plain twin and the specification the tests hold it to.
/// </summary>
/// <remarks>PyTorch: <c>torch.addmm</c> / BLAS <c>sgemm</c> as called by <c>torch.mm</c>.</remarks>
public static unsafe partial class Gemm
{
    // Block sizes, chosen by measurement on Zen 5 (48 KB L1D, 1 MB L2): KC·NC·4 B ≈ 768 KB of packed B
    // stays in L2, an MR·KC A panel (9-12 KB) in L1.
    internal const int KcMax = 384;
    internal const int McMax = 576;
    internal const int NcMax = 512;

    // Below this many multiply-adds a call runs on the calling thread alone.
    internal const long ParallelThreshold = 1L << 20;

    // What the micro-kernel applies when it writes a tile (see the kernels' Store).
    internal struct Tail
    {
        public float Alpha, Beta;
        public float* RowBias, ColBias;
        public bool Relu;
        // Floats from one k row of the B panel to the next: the panel's width when packed, ldb when B is read in place.
        public nint BStride;
    }

    internal readonly struct MicroKernel(int mr, int nr, delegate*<int, float*, float*, float*, nint, Tail*, void> run,
        delegate*<int, float*, float*, float*, nint, Tail*, void>[]? tails = null)
    {
        public readonly int MR = mr, NR = nr;
        public readonly delegate*<int, float*, float*, float*, nint, Tail*, void> Run = run;

        // Narrower kernels with the same MR for a last column panel with fewer than NR columns:
        // Tails[v − 1] is 16·v columns wide. Null: the last panel runs the full NR.
        private readonly delegate*<int, float*, float*, float*, nint, Tail*, void>[]? _tails = tails;

        /// <summary>The packed width of a column panel with <paramref name="validCols"/> columns.</summary>
        public int PanelWidth(int validCols) => validCols >= NR || _tails is null ? NR : (validCols + 15) / 16 * 16;

        public delegate*<int, float*, float*, float*, nint, Tail*, void> ForWidth(int width) => width == NR ? Run : _tails![width / 16 - 1];
    }

    // The register tiles this machine can run, chosen once at start-up; per call the one that
    // wastes the fewest padded rows and columns wins.
    private static readonly MicroKernel[] s_kernels512 =
        [new(6, 64, &Kernel6x64, [&Tail6x16, &Tail6x32, &Tail6x48]), new(8, 48, &Kernel8x48, [&Tail8x16, &Tail8x32])];
    private static readonly MicroKernel[] s_kernels256 = [new(6, 16, &Kernel6x16)];
    private static readonly MicroKernel[] s_kernelsScalar = [new(4, 4, &Kernel4x4)];
    private static readonly MicroKernel[] s_kernels =
        Vector512.IsHardwareAccelerated ? s_kernels512 : Vector256.IsHardwareAccelerated ? s_kernels256 : s_kernelsScalar;

    /// <summary>C = alpha·op(A)·op(B) + beta·C. op(X) is X or Xᵀ as the flags say.</summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
        => Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, GemmEpilogue.None);

    /// <summary>
    /// C = act(alpha·op(A)·op(B) + beta·C + bias), the bias and activation given by
    /// <paramref name="epilogue"/> and applied while the tile is in registers. beta = 0 never reads C.
    /// </summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc,
        GemmEpilogue epilogue)
        => Run(s_kernels, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epilogue);

    /// <summary>
    /// Sgemm with the micro-kernels of a given vector width (512, 256, or 0 for scalar), so the tests
    /// reach the fallbacks too. The width must be supported by this machine. <paramref name="bInPlace"/>
    /// as in <see cref="SgemmPackedA"/>.
    /// </summary>
    internal static void SgemmWithWidth(int vectorBits, bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc,
        GemmEpilogue epilogue, bool bInPlace = false)
    {
        if ((vectorBits == 512 && !Vector512.IsHardwareAccelerated) || (vectorBits == 256 && !Vector256.IsHardwareAccelerated))
            throw new PlatformNotSupportedException($"{vectorBits}-bit vectors are not accelerated here");
        var kernels = vectorBits switch
            { 512 => s_kernels512, 256 => s_kernels256, 0 => s_kernelsScalar, _ => throw new ArgumentOutOfRangeException(nameof(vectorBits)) };
        Run(kernels, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epilogue, bInPlace);
    }

    private static void Run(MicroKernel[] kernels, bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc,
        GemmEpilogue epilogue, bool bInPlace = false, PackedA? packedA = null, PrefetchStream ahead = default)
    {
        // A packed beforehand was checked when it was packed.
        Validate(transA, transB, m, n, k, packedA is null ? a.Length : m * k, packedA is null ? lda : k, b.Length, ldb, c.Length, ldc);
        if (bInPlace)
        {
            long readable = (n + 15) / 16 * 16;
            if (transB) throw new ArgumentException("B read in place cannot be transposed");
            if (k > 0 && (long)(k - 1) * ldb + readable > b.Length)
                throw new ArgumentException(
                    $"B read in place needs {readable} readable floats from its last row's start (ldb {ldb}, {k} rows), has {b.Length} elements");
        }
        epilogue.Validate(m, n);
        if (m == 0 || n == 0) return;
        fixed (float* pa = packedA is null ? a : packedA.Data)
        fixed (float* pb = b)
        fixed (float* pc = c)
        fixed (float* rowBias = epilogue.RowBias)
        fixed (float* colBias = epilogue.ColBias)
        {
            var tail = new Tail { Alpha = alpha, Beta = beta, RowBias = rowBias, ColBias = colBias, Relu = epilogue.Relu };
            if (k == 0 || alpha == 0f)
            {
                // Nothing to multiply (BLAS does not read A or B when alpha = 0): C = act(beta·C + bias).
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++)
                        StoreScalar(pc + (long)i * ldc + j, 0f, i, j, &tail);
                return;
            }
            if (SplitsK(m, n, k, packedA is not null, bInPlace))
            {
                RunSplitK(kernels, transA, transB, m, n, k, pa, lda, pb, ldb, pc, ldc, &tail);
                return;
            }
            // A call from inside a parallel loop (a convolution's per-image GEMMs) runs on its thread alone:
            // cut for more threads, its tiles would only pack the same blocks again (at 2 threads the weight
            // gradient's transposed B was packed twice per image, 2.7x the packing time).
            int threads = Parallelism.InParallelBody ? 1 : Parallelism.MaxThreads;
            var job = new Job(kernels, transA, transB, m, n, k, pa, lda, pb, ldb, pc, ldc, tail, threads, bInPlace, packedA is not null);
            if (job.Tiles == 1 || threads == 1 || (long)m * n * k < ParallelThreshold) job.RunTiles(0, job.Tiles, ahead);
            else Parallelism.For(job.Tiles, 1, new SharedJob(job).RunTiles);
        }
    }

    // A job the threads share (a struct cannot give a delegate); only the calls cut for several threads make one.
    private sealed class SharedJob(Job job)
    {
        public void RunTiles(int start, int end) => job.RunTiles(start, end);
    }

    // One sgemm call cut into tiles; immutable after construction. A struct: most calls run on one thread
    // (a convolution's per-image products, inside a parallel loop), about a thousand per training step of
    // cnn-small, and a class made each of them allocate 160 bytes, three quarters of the step's garbage.
    private readonly struct Job
    {
        private readonly bool _transA, _transB, _bInPlace, _aPacked;
        private readonly int _m, _n, _k, _lda, _ldb;
        private readonly nint _ldc;
        private readonly float* _a, _b, _c;
        private readonly Tail _tail;
        private readonly MicroKernel _kernel;
        private readonly int _kc, _mc, _nc, _mBlocks, _nBlocks;

        public readonly int Tiles;

        public Job(MicroKernel[] kernels, bool transA, bool transB, int m, int n, int k, float* a, int lda, float* b, int ldb, float* c, int ldc,
            Tail tail, int threads, bool bInPlace, bool aPacked)
        {
            (_bInPlace, _aPacked) = (bInPlace, aPacked);
            (_transA, _transB, _m, _n, _k, _lda, _ldb, _ldc, _tail) = (transA, transB, m, n, k, lda, ldb, ldc, tail);
            _a = a; _b = b; _c = c;
            _kernel = PickKernel(kernels, m, n);
            int mr = _kernel.MR, nr = _kernel.NR;

            _kc = SliceLength(k);

            int mPanels = (m + mr - 1) / mr, nPanels = (n + nr - 1) / nr;
            int mBlocks = Math.Max(1, (mPanels * mr + McMax - 1) / McMax);
            int nBlocks = Math.Max(1, (nPanels * nr + NcMax - 1) / NcMax);
            // With several threads, cut finer until each has a few tiles to take turns on, so a core
            // the host steals for a while only delays its current tile. Each extra column block packs
            // the A block again (M·K floats), each extra row block the B block (N·K): cut the cheaper.
            // When a side is small the packing is a large share of the work, so fewer tiles pay more.
            int target = (Math.Min(m, n) < 512 ? 2 : 4) * threads;
            if (threads > 1 && (long)m * n * k >= ParallelThreshold)
                while (mBlocks * nBlocks < target)
                {
                    bool canN = nPanels >= 2 * (nBlocks + 1), canM = mPanels >= 2 * (mBlocks + 1);
                    if (canN && (!canM || m <= n)) nBlocks++;
                    else if (canM) mBlocks++;
                    else break;
                }
            _mc = (mPanels + mBlocks - 1) / mBlocks * mr;
            _nc = (nPanels + nBlocks - 1) / nBlocks * nr;
            _nBlocks = (n + _nc - 1) / _nc;
            _mBlocks = (m + _mc - 1) / _mc;
            Tiles = _mBlocks * _nBlocks;
        }

        internal static MicroKernel PickKernel(MicroKernel[] kernels, int m, int n)
        {
            var best = kernels[0];
            long bestArea = long.MaxValue;
            foreach (var kernel in kernels)
            {
                int rest = n % kernel.NR;
                long area = (long)((m + kernel.MR - 1) / kernel.MR * kernel.MR) * (n - rest + (rest == 0 ? 0 : kernel.PanelWidth(rest)));
                if (area < bestArea) (best, bestArea) = (kernel, area);
            }
            return best;
        }

        // Tiles are numbered down each column block (tile = column block · row blocks + row block), so a run of
        // them usually shares its column block: for each KC slice its B block is packed once for all of them
        // (a tile packing its own repacked B once per row block: 7.8 % of a 2048² product on one core).
        // `ahead` (a run on one thread only): what the caller reads next, asked for after each micro-kernel call, as many lines
        // each as cover it by the last call (at most 64: a call of a few k steps cannot wait on more).
        public void RunTiles(int start, int end, PrefetchStream ahead = default)
        {
            var buffers = t_buffers ??= new PackBuffers();
            float* packA = buffers.A((long)_kernel.MR * _kc), packB = _bInPlace ? null : buffers.B((long)_nc * _kc);
            int asks = 0;
            if (ahead.At != null)
            {
                long calls = (long)((_m + _kernel.MR - 1) / _kernel.MR) * ((_n + _kernel.NR - 1) / _kernel.NR) * ((_k + _kc - 1) / _kc);
                asks = (int)Math.Min(64, ((ahead.End - ahead.At) / ahead.Step + calls - 1) / calls);
            }
            for (int tile = start; tile < end;)
            {
                int columnBlock = tile / _mBlocks, groupEnd = Math.Min(end, (columnBlock + 1) * _mBlocks);
                RunTiles(columnBlock, tile % _mBlocks, groupEnd - tile, packA, packB, ref ahead, asks);
                tile = groupEnd;
            }
        }

        // Row blocks firstRow … firstRow + count − 1 of one column block.
        private void RunTiles(int columnBlock, int firstRow, int count, float* packA, float* packB, ref PrefetchStream ahead, int asks)
        {
            int mr = _kernel.MR, nr = _kernel.NR;
            int j0 = columnBlock * _nc, cols = Math.Min(_nc, _n - j0);
            float* edge = stackalloc float[8 * 64];
            float* edgeBias = stackalloc float[8 + 64];
            for (int k0 = 0; k0 < _k; k0 += _kc)
            {
                int kc = Math.Min(_kc, _k - k0);
                if (!_bInPlace) PackB(_b, _ldb, _transB, j0, cols, k0, kc, _kernel, packB);
                // The first slice applies beta, later ones accumulate; the last applies the epilogue.
                bool last = k0 + kc >= _k;
                var tail = new Tail { Alpha = _tail.Alpha, Beta = k0 == 0 ? _tail.Beta : 1f, Relu = last && _tail.Relu };
                for (int rowBlock = firstRow; rowBlock < firstRow + count; rowBlock++)
                {
                    int i0 = rowBlock * _mc, rows = Math.Min(_mc, _m - i0);
                    for (int ir = 0; ir < rows; ir += mr)
                    {
                        // Each A panel is used by one pass over the B block, so it is packed just before,
                        // into an L1-sized buffer: the L2 then holds the B block and little else.
                        int validRows = Math.Min(mr, rows - ir);
                        float* aPanel = packA;
                        if (_aPacked) aPanel = _a + PanelOffset(_m, mr, k0, kc, i0 + ir);
                        else PackA(_a, _lda, _transA, i0 + ir, validRows, k0, kc, mr, aPanel);
                        tail.RowBias = last && _tail.RowBias != null ? _tail.RowBias + i0 + ir : null;
                        for (int jr = 0; jr < cols; jr += nr)
                        {
                            int validCols = Math.Min(nr, cols - jr);
                            // The last panel may be packed narrower (see PanelWidth); every earlier one is NR wide.
                            int width = _kernel.PanelWidth(validCols);
                            var run = _kernel.ForWidth(width);
                            float* bPanel = _bInPlace ? _b + (long)k0 * _ldb + j0 + jr : packB + (long)jr * kc;
                            tail.BStride = _bInPlace ? _ldb : width;
                            float* cTile = _c + (i0 + ir) * _ldc + j0 + jr;
                            tail.ColBias = last && _tail.ColBias != null ? _tail.ColBias + j0 + jr : null;
                            if (validRows == mr && validCols == width)
                                run(kc, aPanel, bPanel, cTile, _ldc, &tail);
                            else EdgeTile(run, kc, aPanel, bPanel, cTile, validRows, validCols, width, tail, edge, edgeBias);
                            if (asks > 0) ahead = ahead.AskLines(asks);
                            if (ir + mr < rows) AskForTile(cTile + mr * _ldc, _ldc, Math.Min(mr, rows - ir - mr), validCols);
                        }
                    }
                }
            }
        }

        // The C tile below this one (the next row panel's, the same columns), asked for while this panel's calls run: a store to
        // a line not in cache first waits for it, and C's rows of an image's output are usually not (BLIS asks for C too).
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void AskForTile(float* c, nint ldc, int rows, int cols)
        {
            if (!Sse.IsSupported) return;
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < cols; j += 16) Sse.Prefetch0(c + r * ldc + j);
        }

        // A tile past C's edge in rows or columns: the whole tile, epilogue included, on a copy of its valid C rows (the lanes
        // and rows past the edge compute on whatever is there and are dropped; rows and columns past the edge take a zero bias
        // from `edgeBias`, MR + 64 floats, so no bias is read past the matrix), then the valid part copied back. The vector
        // epilogue's operations are the scalar one's, in the same order: the same values as element by element.
        private void EdgeTile(delegate*<int, float*, float*, float*, nint, Tail*, void> run, int kc, float* aPanel, float* bPanel,
            float* cTile, int validRows, int validCols, int width, Tail tail, float* edge, float* edgeBias)
        {
            int mr = _kernel.MR;
            long bytes = validCols * 4L;
            if (tail.RowBias != null && validRows < mr)
            {
                for (int r = 0; r < mr; r++) edgeBias[r] = r < validRows ? tail.RowBias[r] : 0f;
                tail.RowBias = edgeBias;
            }
            if (tail.ColBias != null && validCols < width)
            {
                float* columns = edgeBias + mr;
                for (int j = 0; j < width; j++) columns[j] = j < validCols ? tail.ColBias[j] : 0f;
                tail.ColBias = columns;
            }
            if (tail.Beta != 0f)
                for (int r = 0; r < validRows; r++) Buffer.MemoryCopy(cTile + r * _ldc, edge + r * width, bytes, bytes);
            run(kc, aPanel, bPanel, edge, width, &tail);
            for (int r = 0; r < validRows; r++) Buffer.MemoryCopy(edge + r * width, cTile + r * _ldc, bytes, bytes);
        }
    }

    private static void Validate(bool transA, bool transB, int m, int n, int k, int aLen, int lda, int bLen, int ldb, int cLen, int ldc)
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentException($"negative GEMM size m={m} n={n} k={k}");
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        if (lda < Math.Max(1, aCols) || ldb < Math.Max(1, bCols) || ldc < Math.Max(1, n))
            throw new ArgumentException(
                $"GEMM leading dimensions too small: lda={lda} (cols {aCols}), ldb={ldb} (cols {bCols}), ldc={ldc} (cols {n})");
        if (aRows > 0 && aCols > 0 && (long)(aRows - 1) * lda + aCols > aLen)
            throw new ArgumentException($"A has {aLen} elements, needs {aRows}x{aCols} with lda {lda}");
        if (bRows > 0 && bCols > 0 && (long)(bRows - 1) * ldb + bCols > bLen)
            throw new ArgumentException($"B has {bLen} elements, needs {bRows}x{bCols} with ldb {ldb}");
        if (m > 0 && n > 0 && (long)(m - 1) * ldc + n > cLen) throw new ArgumentException($"C has {cLen} elements, needs {m}x{n} with ldc {ldc}");
    }

    /// <summary>The plain triple loop: the specification the fast path is tested against.</summary>
    public static void Reference(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++)
                {
                    float av = transA ? a[p * lda + i] : a[i * lda + p];
                    float bv = transB ? b[j * ldb + p] : b[p * ldb + j];
                    sum += (double)av * bv;
                }
                float prior = beta == 0f ? 0f : beta * c[i * ldc + j];
                c[i * ldc + j] = (float)(alpha * sum) + prior;
            }
    }
}
