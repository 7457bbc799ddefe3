using System.Buffers;

namespace CnnLab.Kernels;

// Legend: op(A) M x K, op(B) K x N, C M x N; the K axis cut into chunks of KChunk.

public static unsafe partial class Gemm
{
    // A product whose K dwarfs a small C (a weight gradient over a whole batch: M = 64, N = 288,
    // K = 25,088) has too few M x N tiles to keep two cores busy without each packing the same long A
    // or B rows again; its K is cut into chunks instead, each a whole product into its own partial C.
    private const int KChunk = 1536;

    private static bool SplitsK(int m, int n, int k, bool packedA, bool bInPlace) =>
        !packedA && !bInPlace && k >= 4 * KChunk && k >= 16L * Math.Max(m, n) && (long)m * n <= 1 << 18;

    // C = act(beta·C + Σ_chunks alpha·op(A)[:, chunk]·op(B)[chunk, :] + bias): the chunks' partials are
    // computed in any order on any thread and added in chunk order, then the epilogue as the kernels'
    // Store applies it, so C is the same for every thread count.
    private static void RunSplitK(MicroKernel[] kernels, bool transA, bool transB, int m, int n, int k,
        float* a, int lda, float* b, int ldb, float* c, int ldc, Tail* tail)
    {
        int chunks = (k + KChunk - 1) / KChunk, size = m * n;
        float[] partials = ArrayPool<float>.Shared.Rent(chunks * size);
        var plain = new Tail { Alpha = tail->Alpha };
        var final = *tail;
        final.Alpha = 1f;
        fixed (float* p = partials)
        {
            nint pa = (nint)a, pb = (nint)b, pp = (nint)p;
            Parallelism.For(chunks, 1, (c0, c1) =>
            {
                for (int chunk = c0; chunk < c1; chunk++)
                {
                    int k0 = chunk * KChunk, len = Math.Min(KChunk, k - k0);
                    float* aChunk = (float*)pa + (transA ? (long)k0 * lda : k0);
                    float* bChunk = (float*)pb + (transB ? k0 : (long)k0 * ldb);
                    var job = new Job(kernels, transA, transB, m, n, len, aChunk, lda, bChunk, ldb, (float*)pp + (long)chunk * size, n,
                        plain, 1, false, false);
                    job.RunTiles(0, job.Tiles);
                }
            });
            for (int i = 0; i < m; i++)
            {
                float* row = p + (long)i * n;
                for (int chunk = 1; chunk < chunks; chunk++)
                    TensorPrimitives.Add(new ReadOnlySpan<float>(row, n), new ReadOnlySpan<float>(row + (long)chunk * size, n),
                        new Span<float>(row, n));
                // The partials already carry alpha: the kernels' Store with alpha = 1 (exact) adds the rest.
                for (int j = 0; j < n; j++) StoreScalar(c + (long)i * ldc + j, row[j], i, j, &final);
            }
        }
        ArrayPool<float>.Shared.Return(partials);
    }
}
