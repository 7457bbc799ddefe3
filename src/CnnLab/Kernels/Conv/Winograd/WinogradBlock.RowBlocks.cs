using System.Buffers;

namespace CnnLab.Kernels;

// A chunk of tile rows times a block of 8 output channels: the unit MultiplyAndTransformOutput works in, on one thread or
// (a single image's block, ThreadSplit) with its blocks of output channels spread over the threads.
internal sealed unsafe partial class WinogradBlock
{
    // What one MultiplyAndTransformOutput call multiplies and where it stores: V from the call's first channel, its weights'
    // group, the tile rows, and y's planes with their epilogue.
    private readonly struct Call(float* v, WinogradWeights u, int group, int rows, int tileRows, int tileColumns, float* y,
        long imageStride, float* bias, bool relu, bool accumulate)
    {
        public readonly float* V = v, Y = y, Bias = bias;
        public readonly WinogradWeights U = u;
        public readonly int Group = group, Rows = rows, TileRows = tileRows, TileColumns = tileColumns;
        public readonly long ImageStride = imageStride;
        public readonly bool Relu = relu, Accumulate = accumulate;
    }

    // Output channels [8·rb, 8·rb + 8) of the chunk of tile rows from r0: M_ξ = U_ξ · V_ξ for every position into m (this
    // thread's M chunk), then the planes' tiles transformed back from it. Each tile's sums do not depend on the thread.
    private void RowBlock(in Call c, float* pu, float* m, int rb, int r0, ref RegionStream ahead, int asks)
    {
        int side = TileSide, th = c.TileRows, tw = c.TileColumns, k = c.U.K, block = WinogradWeights.BlockRows, positions = Positions;
        long plane = (long)H * W, mRow = (long)positions * ChunkWidth, vChannel = (long)positions * Ldv;
        int rEnd = Math.Min(c.Rows, r0 + ChunkRows);
        // A chunk that ends the block early (a single image's last tile rows) is multiplied only as wide as its tiles,
        // rounded up to a vector: the output transform reads no lane past them for a value it stores.
        int width = Math.Min(ChunkWidth, ((rEnd - r0) * tw + 15) / 16 * 16), whole = width / MultiplyColumns * MultiplyColumns;
        var outputs = new OutputRows(c.Y, c.ImageStride, H, W, side, rb * block, Math.Min(c.U.Rows, (rb + 1) * block), r0, rEnd, th);
        for (int xi = 0; xi < positions; xi++)
        {
            // The output rows this block of channels stores next, asked for a share per position while the products
            // run: a store to a line not in cache first reads it from memory.
            AskFor(outputs, xi, positions);
            if (asks > 0) ahead.Ask(asks);
            float* ux = pu + c.U.Offset(c.Group, xi, rb), vx = c.V + (long)xi * Ldv + r0 * tw, mx = m + (long)xi * ChunkWidth;
            for (int pass = 0; pass < whole; pass += MultiplyColumns)
                Multiply<ThreeVectors>(k, ux, vx + pass, vChannel, mx + pass, mRow);
            if (whole < width) MultiplyNarrow(k, ux, vx + whole, vChannel, mx + whole, mRow, (width - whole) / 16);
        }
        int oEnd = Math.Min(c.U.Rows, (rb + 1) * block);
        if (_tiny && r0 % th == 0 && rEnd % th == 0)
        {
            // Whole images: 4 at a time.
            for (int o = rb * block; o < oEnd; o++)
                Winograd4x4.TransformTinyOutputs(m + (o - rb * block) * mRow, ChunkWidth, H, W, (rEnd - r0) / th,
                    c.Bias != null ? c.Bias + o : null, c.Relu, c.Accumulate, c.Y + r0 / th * c.ImageStride + o * plane, c.ImageStride);
            return;
        }
        for (int o = rb * block; o < oEnd; o++)
            for (int s = r0 / th; s * th < rEnd; s++)
            {
                // Image s's tile rows in this chunk, read where its tile (0, 0) would lie in the chunk.
                int first0 = Math.Max(r0, s * th) - s * th, end = Math.Min(rEnd, (s + 1) * th) - s * th;
                float* at = m + (o - rb * block) * mRow + ((long)s * th - r0) * tw;
                float* yPlane = c.Y + s * c.ImageStride + o * plane, planeBias = c.Bias != null ? c.Bias + o : null;
                if (side == 4) Winograd4x4.TransformOutput(at, ChunkWidth, H, W, planeBias, c.Relu, c.Accumulate, yPlane, first0, end);
                else if (KernelSide == 5)
                    Winograd5x5.TransformOutput(at, ChunkWidth, H, W, planeBias, c.Relu, c.Accumulate, yPlane, first0, end);
                else if (_small && first0 == 0 && end == th)
                    Winograd3x3.TransformSmallOutput(at, ChunkWidth, H, W, planeBias, c.Relu, c.Accumulate, yPlane);
                else Winograd3x3.TransformOutput(at, ChunkWidth, H, W, planeBias, c.Relu, c.Accumulate, yPlane, first0, end);
            }
    }

    // The call's blocks of output channels on the threads, each share with an M chunk of its own (64-byte aligned, as the
    // buffers' own: up to 15 floats skipped, and the transforms read up to 15 past the chunk), every chunk of tile rows in order.
    private void SplitRowBlocks(Call call, int minChunk)
    {
        int mLength = WinogradWeights.BlockRows * Positions * ChunkWidth + 32;
        Parallelism.For(call.U.RowBlocks, minChunk, (start, end) =>
        {
            float[] chunk = ArrayPool<float>.Shared.Rent(mLength);
            fixed (float* pm = chunk, pu = call.U.Data)
            {
                float* m = CacheLines.LineStart(pm);
                var none = default(RegionStream);
                for (int rb = start; rb < end; rb++)
                    for (int r0 = 0; r0 < call.Rows; r0 += ChunkRows) RowBlock(call, pu, m, rb, r0, ref none, 0);
            }
            ArrayPool<float>.Shared.Return(chunk);
        });
    }
}
