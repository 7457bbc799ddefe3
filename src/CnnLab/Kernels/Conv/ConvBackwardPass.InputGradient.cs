using System.Buffers;
using System.Runtime.InteropServices;

namespace CnnLab.Kernels;

internal sealed unsafe partial class ConvBackwardPass
{
    private void AddInputGradient(ChunkBuffers b, float* dx, long xOff, ReadOnlySpan<float> dyg, int n, int grp, int slot, float* nextDx)
    {
        var g = _g;
        int r = g.ColRows, p = g.ColCols;
        if (_directDx is not null)
        {
            fixed (float* dys = dyg, pd = b.DyPadded, po = b.PhaseOut)
                _directDx[grp].Image(dys, dx + xOff, !_overwriteDx, pd, po);
            return;
        }
        if (_rowsDx is not null)
        {
            fixed (float* dys = dyg, pd = b.DyPadded) _rowsDx.Group(grp, dys, dx + xOff, !_overwriteDx, pd, nextDx);
            return;
        }
        if (_winogradDx is not null)
        {
            fixed (float* planes = dyg)
                _winogradDx.TransformInput(b.WinogradDx!, planes, g.OCg, DxFirstChannel(grp), slot);
            return;
        }
        if (_gemmDx is not null)
        {
            fixed (float* planes = dyg) _gemmDx.TransformInputs(b.WinogradGemmDx!, grp, planes, slot);
            return;
        }
        if (_dxImages > 1)
        {
            // Collected into the block's dY [OC, images·P]; FinishBlock multiplies them together.
            for (int o = 0; o < g.OC; o++)
                dyg.Slice(o * p, p).CopyTo(b.DyBlock.AsSpan(o * _dxStride + slot * p, p));
            return;
        }
        var dxg = new Span<float>(dx + xOff, g.Cg * g.H * g.W);
        var wTg = _packedWT[grp];
        float beta = _overwriteDx ? 0f : 1f;
        if (g.IsPointwise)
        {
            // dx_g [Cg, P] (+)= W_gᵀ [Cg, OCg] · dY_g [OCg, P], dY_g's rows read in place as the forward reads x's.
            bool rowsInPlace = p % 16 == 0 && p % 1024 != 0;
            Gemm.SgemmPackedA(wTg, p, 1f, false, dyg, p, beta, dxg, p, GemmEpilogue.None, rowsInPlace);
            return;
        }
        // dcol [R, P] = W_gᵀ [R, OCg] · dY_g [OCg, P]; dx_g (+)= col2im(dcol). dY_g is read in place where its last
        // row's padding is readable (see ConvOutputGradient.ForImage).
        bool inPlace = dyg.Length >= (long)(g.OCg - 1) * p + (p + 15) / 16 * 16;
        var col = b.Columns.AsSpan(0, r * b.ColumnStride);
        Gemm.SgemmPackedA(wTg, p, 1f, false, dyg, p, 0f, col, b.ColumnStride, GemmEpilogue.None, inPlace);
        ConvColumns.Col2Im(col, g.Cg, g.H, g.W, g.KH, g.KW, g.SH, g.SW, g.PH, g.PW, g.DH, g.DW, g.OH, g.OW,
            dxg, b.ColumnStride, accumulate: !_overwriteDx);
    }

    // The images blockStart .. blockStart + count - 1 have given their dY: dx of the block from the collected dY
    // (one GEMM, or Winograd's), and their tiles' share of dU.
    private void FinishBlock(ChunkBuffers b, float* dx, int blockStart, int count, float[]? partial)
    {
        var g = _g;
        int p = g.ColCols, image = g.C * g.H * g.W;
        if (_needDx && _dxImages > 1)
        {
            // dcol [R, images·P] = Wᵀ [R, OC] · dY [OC, images·P]; dx of each image from its columns.
            Gemm.SgemmPackedA(_packedWT[0], count * p, 1f, false, b.DyBlock, _dxStride, 0f, b.DcolBlock, _dxStride,
                GemmEpilogue.None, bInPlace: true);
            for (int i = 0; i < count; i++)
                ConvColumns.Col2Im(b.DcolBlock.AsSpan(i * p), g.C, g.H, g.W, g.KH, g.KW, g.SH, g.SW, g.PH, g.PW, g.DH, g.DW,
                    g.OH, g.OW, new Span<float>(dx + (long)(blockStart + i) * image, image), _dxStride,
                    accumulate: !_overwriteDx);
        }
        for (int grp = 0; grp < g.G; grp++) FinishGroup(b, dx, blockStart, count, grp, partial);
    }

    // Group grp of FinishBlock: Winograd's dx of the block's images, and their tiles' share of dU.
    private void FinishGroup(ChunkBuffers b, float* dx, int blockStart, int count, int grp, float[]? partial)
    {
        var g = _g;
        _winogradDx?.MultiplyAndTransformOutput(b.WinogradDx!, _winogradWT!, grp, DxFirstChannel(grp), count,
            dx + ((long)blockStart * g.C + grp * g.Cg) * g.H * g.W, (long)g.C * g.H * g.W, null, false, accumulate: !_overwriteDx);
        _gemmDx?.MultiplyAndTransformOutputs(b.WinogradGemmDx!, grp, count, null, false, !_overwriteDx,
            dx + ((long)blockStart * g.C + grp * g.Cg) * g.H * g.W, (long)g.C * g.H * g.W);
        if (partial is not null) _winogradDw?.Accumulate(b.WinogradDw!, grp, count, partial);
        if (partial is not null) _gemmDw?.Accumulate(b.WinogradGemmDw!, grp, count, partial);
    }

    // Where group grp's transformed dY planes start in the dx block's V: group by group, every group's in the first OCg channels.
    private int DxFirstChannel(int grp) => _groupByGroup ? 0 : grp * _g.OCg;

    // db[o] += Σ_n Σ_pixels dY[n, o]: the per-(image, channel) sums of the chunks, over the images in order.
    private void AddBias(Span<float> db)
    {
        AddBias(_rowSums, _g.N, _g.OC, db);
        ArrayPool<float>.Shared.Return(_rowSums);
    }

    /// <summary>
    /// db[o] += Σ_n rowSums[n·OC + o], in double over the images in order: every path's db (each image's plane summed first,
    /// as the chunks sum it), so that they give the same bits.
    /// </summary>
    internal static void AddBias(ReadOnlySpan<float> rowSums, int images, int outputs, Span<float> db)
    {
        for (int o = 0; o < outputs; o++)
        {
            double sum = 0;
            for (int n = 0; n < images; n++) sum += rowSums[n * outputs + o];
            db[o] += (float)sum;
        }
    }

    // Floats of the partials' sum taken at a time (16 KB).
    private const int SumBlock = 4096;

    // The chunks' partials summed in chunk order, then added to dW (from dU for Winograd, from the channel-blocked
    // layout for the direct one).
    private void AddWeights(Span<float> dw)
    {
        // The partials in chunk order, a block of floats at a time so that its running sum stays in L1 (one read of each partial
        // instead of a pass over the sum per chunk); the same order per element, so the same bits for any split.
        var total = _partials[0].AsSpan(0, _partialLength);
        Parallelism.For((_partialLength + SumBlock - 1) / SumBlock, 1, (b0, b1) =>
        {
            for (int block = b0; block < b1; block++)
            {
                int start = block * SumBlock, length = Math.Min(SumBlock, _partialLength - start);
                var sum = _partials[0].AsSpan(start, length);
                for (int chunk = 1; chunk < _chunks; chunk++) TensorPrimitives.Add(sum, _partials[chunk].AsSpan(start, length), sum);
            }
        });
        if (_winogradDw is not null) _winogradDw.AddToWeights(total, dw);
        else if (_gemmDw is not null) _gemmDw.AddToWeights(total, dw);
        else if (_directDw is not null) _directDw.AddToWeights(total, dw);
        else
        {
            var target = dw[.._partialLength];
            TensorPrimitives.Add(target, total, target);
        }
        foreach (var partial in _partials) ArrayPool<float>.Shared.Return(partial);
    }

    // One thread's scratch for its chunks, rented once per loop call and returned after it.
    private sealed class ChunkBuffers : IDisposable
    {
        public readonly int ColumnStride;
        public readonly float[] Columns, Scratch, DyBlock, DcolBlock;
        public readonly float[]? Padded, DyTransposed, DyPadded, PhaseOut;
        public readonly WinogradBlock.Buffers? WinogradDx, WinogradDw;
        public readonly WinogradGemm.Buffers? WinogradGemmDx, WinogradGemmDw;
        private GCHandle _paddedPin;

        public ChunkBuffers(ConvBackwardPass pass)
        {
            var g = pass._g;
            var pool = ArrayPool<float>.Shared;
            // Rows ColumnStride apart, off 1 KB multiples (see Conv2dKernel.RowStride): the dW and the dx column matrix.
            ColumnStride = Conv2dKernel.ColumnStride(g);
            Columns = pool.Rent(g.ColRows * ColumnStride);
            // A block's dY [OC, images·P] and dcol [R, images·P], rows _dxStride apart (dY's padding columns, read by
            // the GEMM's last panel, zeroed once).
            DyBlock = pass._dxImages > 1 ? pool.Rent(g.OC * pass._dxStride) : [];
            DcolBlock = pass._dxImages > 1 ? pool.Rent(g.ColRows * pass._dxStride) : [];
            Array.Clear(DyBlock);
            Scratch = pool.Rent(g.OCg * g.ColCols + 16);
            WinogradDx = pass._winogradDx?.Rent(pass._groupByGroup ? g.OCg : g.OC);
            WinogradDw = pass._winogradDw?.Rent();
            WinogradGemmDx = pass._gemmDx?.Rent();
            WinogradGemmDw = pass._gemmDw?.Rent();
            if (pass._directDx is not null)
            {
                var direct = pass._directDx[0];   // every group's is the same size
                DyPadded = pool.Rent(direct.PaddedLength);
                Array.Clear(DyPadded, 0, direct.PaddedLength);
                PhaseOut = pool.Rent(direct.PhaseOutLength);
            }
            if (pass._rowsDx is not null)
            {
                int length = Math.Max(1, pass._rowsDx.PaddedLength);
                DyPadded = pool.Rent(length);
                Array.Clear(DyPadded, 0, length);
            }
            if (pass._directDw is not null)
            {
                Padded = pool.Rent(Math.Max(1, pass._directDw.RunPaddedLength));
                Array.Clear(Padded);
                // Pinned while the chunks run: a run may lay its images out from the buffer's first cache-line boundary
                // (ChannelBlockedConv.InputLanes), which must stay where it was from one image to the next.
                _paddedPin = GCHandle.Alloc(Padded, GCHandleType.Pinned);
                DyTransposed = pool.Rent(pass._directDw.TransposedLength);
            }
        }

        public void Dispose()
        {
            if (_paddedPin.IsAllocated) _paddedPin.Free();
            var pool = ArrayPool<float>.Shared;
            pool.Return(Columns);
            pool.Return(Scratch);
            if (DyBlock.Length > 0) pool.Return(DyBlock);
            if (DcolBlock.Length > 0) pool.Return(DcolBlock);
            foreach (var array in (float[]?[])[Padded, DyTransposed, DyPadded, PhaseOut])
                if (array is not null) pool.Return(array);
            WinogradDx?.Dispose();
            WinogradDw?.Dispose();
            WinogradGemmDx?.Dispose();
            WinogradGemmDw?.Dispose();
        }
    }
}
