namespace CnnLab.Tensors;

// Legend: a, b inputs; out the broadcast result; all row-major and contiguous.

/// <summary>
/// Index arithmetic for NumPy-style broadcasting, and the reduction that undoes it in backward
/// (the gradient of a broadcast input is the sum over the axes it was repeated along).
/// </summary>
public static class Broadcasting
{
    /// <summary>
    /// For each flat index of <paramref name="outShape"/>, the flat index into a tensor of <paramref name="inShape"/> that broadcasts to it.
    /// </summary>
    public static int[] SourceIndices(ReadOnlySpan<int> inShape, ReadOnlySpan<int> outShape)
    {
        int rank = outShape.Length;
        var inStrides = new int[rank];
        int stride = 1;
        for (int i = rank - 1; i >= 0; i--)
        {
            int inAxis = i - (rank - inShape.Length);
            int dim = inAxis >= 0 ? inShape[inAxis] : 1;
            inStrides[i] = dim == 1 ? 0 : stride;
            stride *= dim;
        }
        int n = Shape.Numel(outShape);
        var map = new int[n];
        var idx = new int[rank];
        int src = 0;
        for (int flat = 0; flat < n; flat++)
        {
            map[flat] = src;
            for (int ax = rank - 1; ax >= 0; ax--)
            {
                idx[ax]++;
                src += inStrides[ax];
                if (idx[ax] < outShape[ax]) break;
                src -= inStrides[ax] * idx[ax];
                idx[ax] = 0;
            }
        }
        return map;
    }

    /// <summary>
    /// True when <paramref name="inner"/> equals the trailing dims of <paramref name="outer"/>
    /// (after dropping leading 1s), the common bias/residual case handled without index maps.
    /// </summary>
    public static bool IsSuffix(ReadOnlySpan<int> inner, ReadOnlySpan<int> outer)
    {
        int lead = 0;
        while (lead < inner.Length && inner[lead] == 1 && inner.Length - lead > 0) lead++;
        var trimmed = inner[lead..];
        if (trimmed.Length > outer.Length) return false;
        return trimmed.SequenceEqual(outer[(outer.Length - trimmed.Length)..]);
    }

    /// <summary>Sums <paramref name="grad"/> (shaped <paramref name="outShape"/>) down to <paramref name="inShape"/>.</summary>
    public static void SumTo(ReadOnlySpan<float> grad, ReadOnlySpan<int> outShape, Span<float> result, ReadOnlySpan<int> inShape)
    {
        result.Clear();
        if (IsSuffix(inShape, outShape))
        {
            int inner = result.Length;
            if (inner == 0) return;
            for (int off = 0; off < grad.Length; off += inner)
                TensorPrimitives.Add(result, grad.Slice(off, inner), result);
            return;
        }
        var map = SourceIndices(inShape, outShape);
        for (int i = 0; i < grad.Length; i++) result[map[i]] += grad[i];
    }
}
