using System.Runtime.ExceptionServices;
using CnnLab.Tensors;

namespace CnnLab.Data;

/// <summary>
/// Cuts an <see cref="ImageDataset"/> into mini-batches of normalized float32 images
/// [B, C, H, W] and labels, epoch by epoch.
/// <list type="bullet">
/// <item>Order: with <c>shuffle</c>, epoch e visits the images in a permutation drawn from a
/// generator seeded by (seed, e) — a pure function of the two, so a resumed run passes the epoch
/// (and the batch to start at) and gets exactly the batches an uninterrupted run would.</item>
/// <item>Augmentation (optional): per image, from a generator seeded by (seed, epoch, batch).</item>
/// <item>Prefetch: while the caller works on batch k, a worker task fills batch k+1. Because every
/// batch depends only on (seed, epoch, batch index), results are identical with and without it.</item>
/// <item>Memory: a ring of three batch buffers allocated once; steady-state iteration allocates
/// nothing per batch. A yielded batch stays valid until the next-but-one batch is requested
/// (and never past the start of another epoch).</item>
/// </list>
/// One epoch is iterated at a time per loader.
/// </summary>
/// <remarks>PyTorch: <c>torch.utils.data.DataLoader(dataset, batch_size=1, shuffle=False,
/// drop_last=False, generator=...)</c> with the same defaults; normalization and augmentation are
/// what torchvision's transforms do per item. Differences: the epoch is explicit (PyTorch advances
/// a generator), prefetch is one batch on one worker, and the default normalization is
/// Fashion-MNIST's (0.2860, 0.3530).</remarks>
public sealed partial class DataLoader
{
    private const int RingSize = 3;

    private readonly ImageDataset _dataset;
    private readonly int[] _order;
    private readonly float[] _table;   // [channel, byte] → normalized value
    private readonly Slot[] _ring = new Slot[RingSize];
    private readonly Generator _augmentGenerator = new();
    private int _active;

    public DataLoader(ImageDataset dataset, int batchSize = 1, bool shuffle = false, bool dropLast = false, long seed = 0,
        Normalize? normalize = null, Augmentation? augmentation = null, bool prefetch = true)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be positive");
        _dataset = dataset;
        BatchSize = batchSize;
        Shuffle = shuffle;
        DropLast = dropLast;
        Seed = seed;
        Normalize = normalize ?? Normalize.FashionMnist;
        Augmentation = augmentation;
        Prefetch = prefetch;
        _order = new int[dataset.Count];
        Normalize.CheckChannels(dataset.Channels);
        _table = new float[256 * dataset.Channels];
        for (int c = 0; c < dataset.Channels; c++)
            for (int v = 0; v < 256; v++) _table[c * 256 + v] = Normalize.Apply((byte)v, c);
        int capacity = Math.Min(batchSize, Math.Max(dataset.Count, 1)); // no buffer bigger than the dataset
        for (int i = 0; i < RingSize; i++) _ring[i] = new Slot(capacity, dataset);
    }

    public ImageDataset Dataset => _dataset;

    public int BatchSize { get; }

    public bool Shuffle { get; }

    public bool DropLast { get; }

    public long Seed { get; }

    public Normalize Normalize { get; }

    public Augmentation? Augmentation { get; }

    public bool Prefetch { get; }

    /// <summary>Batches per epoch: ⌊N/B⌋ with drop-last, ⌈N/B⌉ without.</summary>
    public int Count => DropLast ? _dataset.Count / BatchSize : (_dataset.Count + BatchSize - 1) / BatchSize;

    /// <summary>The dataset indices in the order epoch <paramref name="epoch"/> visits them (all N, before drop-last).</summary>
    public int[] EpochOrder(int epoch)
    {
        var order = new int[_dataset.Count];
        FillOrder(epoch, order);
        return order;
    }

    /// <summary>
    /// The batches of epoch <paramref name="epoch"/>, starting at batch <paramref name="startBatch"/>
    /// (to resume mid-epoch). See the class remarks for how long a batch stays valid.
    /// </summary>
    public IEnumerable<Batch> Epoch(int epoch, int startBatch = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        if (startBatch < 0 || startBatch > Count)
            throw new ArgumentOutOfRangeException(nameof(startBatch), startBatch, $"start batch must be in [0, {Count}]");
        return Iterate(epoch, startBatch);
    }

    private IEnumerable<Batch> Iterate(int epoch, int startBatch)
    {
        if (Interlocked.Exchange(ref _active, 1) != 0)
            throw new InvalidOperationException("this DataLoader is already iterating an epoch; finish or dispose that enumeration first");
        try
        {
            FillOrder(epoch, _order);
            int end = Count;
            if (!Prefetch)
            {
                for (int b = startBatch; b < end; b++)
                    yield return Fill(epoch, b, (b - startBatch) % RingSize);
                yield break;
            }
            using var worker = new PrefetchWorker(this, epoch, startBatch, end);
            for (int b = startBatch; b < end; b++)
                yield return worker.Take(b);
        }
        finally
        {
            Volatile.Write(ref _active, 0);
        }
    }

    private void FillOrder(int epoch, int[] order)
    {
        for (int i = 0; i < order.Length; i++) order[i] = i;
        if (Shuffle) new Generator(SeedFor(Seed, epoch, -1)).Shuffle(order.AsSpan());
    }

    /// <summary>Writes batch <paramref name="b"/> of <paramref name="epoch"/> into ring slot <paramref name="slot"/>.</summary>
    private Batch Fill(int epoch, int b, int slot)
    {
        int start = b * BatchSize;
        int count = Math.Min(BatchSize, _dataset.Count - start);
        var batch = _ring[slot].Get(count);
        var x = batch.X.Buffer;
        var y = batch.Y;
        var pixels = _dataset.Pixels;
        var labels = _dataset.Labels;
        int size = _dataset.ImageSize;
        var aug = Augmentation;
        if (aug is not null) _augmentGenerator.ManualSeed(SeedFor(Seed, epoch, b));
        for (int i = 0; i < count; i++)
        {
            int index = _order[start + i];
            y[i] = labels[index];
            var src = pixels.Slice(index * size, size);
            var dst = x.AsSpan(i * size, size);
            if (aug is null) Convert(src, dst);
            else Augment(src, dst, aug);
        }
        batch.Epoch = epoch;
        batch.Index = b;
        batch.Indices = new ReadOnlyMemory<int>(_order, start, count);
        return batch;
    }

    private void Convert(ReadOnlySpan<byte> src, Span<float> dst)
    {
        int plane = _dataset.Height * _dataset.Width;
        for (int c = 0; c < _dataset.Channels; c++)
        {
            var table = _table.AsSpan(c * 256, 256);
            var s = src.Slice(c * plane, plane);
            var d = dst.Slice(c * plane, plane);
            for (int j = 0; j < s.Length; j++) d[j] = table[s[j]];
        }
    }

    // src, dst: [C, H, W]. cropped(y, x) = padded(y + dy, x + dx) = src(y + dy − p, x + dx − p);
    // flipped(y, x) = cropped(y, W − 1 − x).
    private void Augment(ReadOnlySpan<byte> src, Span<float> dst, Augmentation aug)
    {
        if (aug.NeedsFloat)
        {
            AugmentInFloat(src, dst, aug);
            return;
        }
        int c = _dataset.Channels, h = _dataset.Height, w = _dataset.Width, p = aug.Padding;
        var gen = _augmentGenerator;
        int dy = p > 0 ? gen.NextInt(2 * p + 1) - p : 0;
        int dx = p > 0 ? gen.NextInt(2 * p + 1) - p : 0;
        bool flip = gen.NextFloat() < aug.FlipProbability;
        for (int ch = 0; ch < c; ch++)
        {
            var table = _table.AsSpan(ch * 256, 256);
            float padValue = table[0];
            var plane = src.Slice(ch * h * w, h * w);
            for (int yy = 0; yy < h; yy++)
            {
                var row = dst.Slice((ch * h + yy) * w, w);
                int sy = yy + dy;
                if ((uint)sy >= (uint)h)
                {
                    row.Fill(padValue);
                    continue;
                }
                var srcRow = plane.Slice(sy * w, w);
                for (int xx = 0; xx < w; xx++)
                {
                    int sx = (flip ? w - 1 - xx : xx) + dx;
                    row[xx] = (uint)sx < (uint)w ? table[srcRow[sx]] : padValue;
                }
            }
        }
    }

    /// <summary>A 64-bit seed that depends on all of (seed, epoch, batch): SplitMix64's finalizer chained.</summary>
    internal static long SeedFor(long seed, int epoch, int batch)
    {
        ulong h = Mix(unchecked((ulong)seed));
        h = Mix(h ^ unchecked((ulong)epoch + 0x9E3779B97F4A7C15UL));
        h = Mix(h ^ unchecked((ulong)(long)batch + 0xD1B54A32D192ED03UL));
        return unchecked((long)h);
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>One ring buffer: the full-size batch, and (made once, on first use) the last partial batch.</summary>
    private sealed class Slot(int capacity, ImageDataset d)
    {
        private readonly Batch _full = new(new Tensor(new float[capacity * d.ImageSize], capacity, d.Channels, d.Height, d.Width), new int[capacity]);
        private Batch? _partial;

        public Batch Get(int count)
        {
            if (count == _full.Size) return _full;
            if (_partial is null || _partial.Size != count)
                _partial = new Batch(new Tensor(_full.X.Buffer, count, d.Channels, d.Height, d.Width), new int[count]);
            return _partial;
        }
    }

    /// <summary>
    /// Fills batches one ahead of the consumer on a worker task. Batch k (counted from the start
    /// batch) goes to ring slot k mod 3; the worker may fill k+1 once the consumer has asked for k,
    /// because slot (k+1) mod 3 last held batch k−2, which stopped being valid at that request.
    /// </summary>
    private sealed class PrefetchWorker : IDisposable
    {
        private readonly DataLoader _loader;
        private readonly int _start;
        private readonly SemaphoreSlim _permits = new(2, RingSize + 1); // batches the worker may fill
        private readonly SemaphoreSlim _ready = new(0, RingSize + 1);   // batches filled, not yet taken
        private readonly Batch?[] _filled = new Batch?[RingSize];
        private readonly Task _task;
        private volatile bool _stop;
        private Exception? _error;
        private int _errorBatch = -1;

        public PrefetchWorker(DataLoader loader, int epoch, int start, int end)
        {
            _loader = loader;
            _start = start;
            _task = Task.Run(() => Run(epoch, start, end));
        }

        private void Run(int epoch, int start, int end)
        {
            for (int b = start; b < end; b++)
            {
                _permits.Wait();
                if (_stop) return;
                try
                {
                    int slot = (b - start) % RingSize;
                    _filled[slot] = _loader.Fill(epoch, b, slot);
                }
                catch (Exception e)
                {
                    _error = e;
                    _errorBatch = b;
                    _ready.Release();
                    return;
                }
                _ready.Release();
            }
        }

        public Batch Take(int b)
        {
            int k = b - _start;
            if (k >= 1) _permits.Release(); // batch k−2 is now invalid: its slot may take batch k+1
            _ready.Wait();
            if (_errorBatch == b) ExceptionDispatchInfo.Capture(_error!).Throw();
            return _filled[k % RingSize]!;
        }

        public void Dispose()
        {
            _stop = true;
            _permits.Release();
            _task.Wait();
            _permits.Dispose();
            _ready.Dispose();
        }
    }
}
