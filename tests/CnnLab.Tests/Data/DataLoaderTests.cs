using CnnLab.Data;
using Xunit;

namespace CnnLab.Tests;

public class DataLoaderTests
{
    /// <summary>n images of 1 x h x w; pixel j of image i is (31 i + 7 j) mod 256, label i mod 10.</summary>
    private static ImageDataset Synthetic(int n, int h = 4, int w = 5)
    {
        var pixels = new byte[n * h * w];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < h * w; j++)
                pixels[i * h * w + j] = (byte)(31 * i + 7 * j);
        var labels = Enumerable.Range(0, n).Select(i => i % 10).ToArray();
        return new ImageDataset("synthetic", "test", pixels, labels, 1, h, w, FashionMnist.ClassNames);
    }

    private static List<(float[] X, int[] Y, int[] Indices)> Collect(DataLoader loader, int epoch, int start = 0) =>
        loader.Epoch(epoch, start).Select(b => (b.X.ToArray(), b.Y.ToArray(), b.Indices.ToArray())).ToList();

    [Fact]
    public void DefaultsMatchPyTorchAndFashionMnist()
    {
        var loader = new DataLoader(Synthetic(3));
        Assert.Equal(1, loader.BatchSize);     // torch DataLoader batch_size=1
        Assert.False(loader.Shuffle);          // shuffle=False
        Assert.False(loader.DropLast);         // drop_last=False
        Assert.Equal(0.2860f, loader.Normalize.Mean);
        Assert.Equal(0.3530f, loader.Normalize.Std);
        Assert.Null(loader.Augmentation);
        Assert.True(loader.Prefetch);
        Assert.Equal(0.5f, new Augmentation(4).FlipProbability); // RandomHorizontalFlip p=0.5
        Assert.Equal(3, loader.Count);
    }

    [Fact]
    public void EachSampleOncePerEpochWithoutDropLast()
    {
        var data = Synthetic(103);
        var loader = new DataLoader(data, batchSize: 10, shuffle: true, seed: 5);
        Assert.Equal(11, loader.Count);
        foreach (int epoch in new[] { 0, 1 })
        {
            var batches = Collect(loader, epoch);
            Assert.Equal([10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 3], batches.Select(b => b.Y.Length));
            var seen = batches.SelectMany(b => b.Indices).ToArray();
            Assert.Equal(Enumerable.Range(0, 103), seen.Order());
            Assert.Equal(loader.EpochOrder(epoch), seen);
            foreach (var b in batches)
                for (int i = 0; i < b.Y.Length; i++)
                {
                    Assert.Equal(data.Label(b.Indices[i]), b.Y[i]);
                    Assert.Equal(Normalize.FashionMnist.Apply(data.ImageBytes(b.Indices[i])[3]), b.X[i * 20 + 3]);
                }
        }
    }

    [Fact]
    public void DropLastDropsTheRemainder()
    {
        var loader = new DataLoader(Synthetic(103), batchSize: 10, shuffle: true, dropLast: true, seed: 5);
        Assert.Equal(10, loader.Count);
        var batches = Collect(loader, 0);
        Assert.Equal(10, batches.Count);
        Assert.All(batches, b => Assert.Equal(10, b.Y.Length));
        Assert.Equal(loader.EpochOrder(0)[..100], batches.SelectMany(b => b.Indices));
        Assert.Empty(new DataLoader(Synthetic(9), batchSize: 10, dropLast: true).Epoch(0));
    }

    [Fact]
    public void WithoutShuffleTheOrderIsTheDatasetOrder()
    {
        var loader = new DataLoader(Synthetic(7), batchSize: 3);
        Assert.Equal([0, 1, 2, 3, 4, 5, 6], Collect(loader, 4).SelectMany(b => b.Indices));
        var shapes = loader.Epoch(0).Select(b => string.Join("x", b.X.Shape)).ToArray();
        Assert.Equal(["3x1x4x5", "3x1x4x5", "1x1x4x5"], shapes);
    }

    [Fact]
    public void SameSeedSameBatchesDifferentSeedOrEpochDifferentBatches()
    {
        var aug = new Augmentation(2);
        var a = Collect(new DataLoader(Synthetic(50), 8, shuffle: true, seed: 11, augmentation: aug), 3);
        var b = Collect(new DataLoader(Synthetic(50), 8, shuffle: true, seed: 11, augmentation: aug), 3);
        var otherSeed = Collect(new DataLoader(Synthetic(50), 8, shuffle: true, seed: 12, augmentation: aug), 3);
        var otherEpoch = Collect(new DataLoader(Synthetic(50), 8, shuffle: true, seed: 11, augmentation: aug), 4);
        Assert.Equal(a.Count, b.Count);
        for (int i = 0; i < a.Count; i++)
        {
            Assert.Equal(a[i].X, b[i].X);
            Assert.Equal(a[i].Y, b[i].Y);
        }
        Assert.NotEqual(a.SelectMany(x => x.Indices), otherSeed.SelectMany(x => x.Indices));
        Assert.NotEqual(a.SelectMany(x => x.Indices), otherEpoch.SelectMany(x => x.Indices));
    }

    [Fact]
    public void PrefetchDoesNotChangeTheBatches()
    {
        var aug = new Augmentation(1, 0.5f);
        var with = Collect(new DataLoader(Synthetic(64), 5, shuffle: true, seed: 2, augmentation: aug, prefetch: true), 1);
        var without = Collect(new DataLoader(Synthetic(64), 5, shuffle: true, seed: 2, augmentation: aug, prefetch: false), 1);
        Assert.Equal(without.Count, with.Count);
        for (int i = 0; i < with.Count; i++)
        {
            Assert.Equal(without[i].X, with[i].X);
            Assert.Equal(without[i].Y, with[i].Y);
        }
    }

    [Fact]
    public void ResumingMidEpochGivesTheSameRemainingBatches()
    {
        var loader = new DataLoader(Synthetic(40), 6, shuffle: true, seed: 9, augmentation: new Augmentation(2));
        var full = Collect(loader, 2);
        var resumed = Collect(loader, 2, start: 4);
        Assert.Equal(full.Count - 4, resumed.Count);
        for (int i = 0; i < resumed.Count; i++)
        {
            Assert.Equal(full[i + 4].X, resumed[i].X);
            Assert.Equal(full[i + 4].Y, resumed[i].Y);
        }
        Assert.Empty(loader.Epoch(2, loader.Count));
        Assert.Throws<ArgumentOutOfRangeException>(() => loader.Epoch(2, loader.Count + 1));
    }

    [Fact]
    public void NormalizationValues()
    {
        // (0/255 - 0.2860)/0.3530 = -0.81020, (255/255 - 0.2860)/0.3530 = 2.02266
        Assert.Equal(-0.810198f, Normalize.FashionMnist.Apply(0), 5);
        Assert.Equal(2.022663f, Normalize.FashionMnist.Apply(255), 5);
        var pixels = new byte[] { 0, 51, 255, 128 };
        var data = new ImageDataset("four", "test", pixels, [1], 1, 2, 2, FashionMnist.ClassNames);
        var x = new DataLoader(data).Epoch(0).Single().X.ToArray();
        Assert.Equal(pixels.Select(p => (p / 255f - 0.2860f) / 0.3530f), x);
        var half = new DataLoader(data, normalize: new Normalize(0.5f, 0.5f)).Epoch(0).Single().X.ToArray();
        Assert.Equal([-1f, -0.6f, 1f, 0.003921628f], half, new FloatTolerance(1e-6f));
        var none = new DataLoader(data, normalize: Normalize.None).Epoch(0).Single().X.ToArray();
        Assert.Equal(pixels.Select(p => p / 255f), none);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Normalize(0.5f, 0f));
    }

    [Fact]
    public void FlipWithProbabilityOneMirrorsEachRow()
    {
        var data = Synthetic(3);
        var x = new DataLoader(data, 3, augmentation: new Augmentation(0, 1f)).Epoch(0).Single().X;
        for (int i = 0; i < 3; i++)
            for (int r = 0; r < 4; r++)
                for (int c = 0; c < 5; c++)
                    Assert.Equal(Normalize.FashionMnist.Apply(data.ImageBytes(i)[r * 5 + 4 - c]), x[i, 0, r, c]);
    }

    [Fact]
    public void RandomCropIsAShiftWithinThePaddingAndKeepsTheShape()
    {
        const int p = 2;
        var data = Synthetic(30, 6, 6);
        var loader = new DataLoader(data, 30, seed: 1, augmentation: new Augmentation(p, 0f));
        var batch = loader.Epoch(0).Single();
        Assert.Equal([30, 1, 6, 6], batch.X.Shape);
        float pad = Normalize.FashionMnist.Apply(0);
        var shifts = new HashSet<(int, int)>();
        for (int i = 0; i < 30; i++)
        {
            var img = batch.X.Data.Slice(i * 36, 36).ToArray();
            var src = data.ImageBytes(i).ToArray();
            var match = (from dy in Enumerable.Range(-p, 2 * p + 1)
                         from dx in Enumerable.Range(-p, 2 * p + 1)
                         where Enumerable.Range(0, 36).All(k =>
                         {
                             int sy = k / 6 + dy, sx = k % 6 + dx;
                             float expected = sy is >= 0 and < 6 && sx is >= 0 and < 6 ? Normalize.FashionMnist.Apply(src[sy * 6 + sx]) : pad;
                             return img[k] == expected;
                         })
                         select (dy, dx)).ToList();
            Assert.NotEmpty(match);
            shifts.Add(match[0]);
        }
        Assert.True(shifts.Count > 5, $"only {shifts.Count} distinct crops in 30 images");
    }

    [Fact]
    public void BatchStaysValidUntilTheNextButOneIsRequested()
    {
        var loader = new DataLoader(Synthetic(60), 4, shuffle: true, seed: 3);
        float[]? previousCopy = null;
        Batch? previous = null;
        foreach (var batch in loader.Epoch(0))
        {
            if (previous is not null) Assert.Equal(previousCopy, previous.X.ToArray());
            previous = batch;
            previousCopy = batch.X.ToArray();
            Thread.Sleep(1); // give the prefetch worker time to run ahead if it wrongly could
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SteadyStateAllocatesNothingPerBatch(bool prefetch)
    {
        // Per epoch: the iterator, the shuffle's generator and (with prefetch) the worker task and
        // its two semaphores — a few hundred bytes. Any per-batch object would exceed the bound.
        var loader = new DataLoader(Synthetic(1001), 4, shuffle: true, seed: 3, augmentation: new Augmentation(1), prefetch: prefetch);
        foreach (var _ in loader.Epoch(0)) { } // the first epoch makes the partial last batch
        // A per-batch allocation shows in every epoch; a one-off (e.g. the runtime's first blocking wait
        // on a heavily loaded machine) does not, so the least-allocating of three epochs is the measure.
        long allocated = long.MaxValue;
        for (int epoch = 1; epoch <= 3; epoch++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            int batches = 0;
            foreach (var _ in loader.Epoch(epoch)) batches++;
            allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
            Assert.Equal(251, batches);
        }
        Assert.True(allocated < 2_500, $"{allocated} bytes allocated over 251 batches");
    }

    [Fact]
    public void BreakingOffAnEpochReleasesTheLoaderAndTwoAtOnceIsAnError()
    {
        var loader = new DataLoader(Synthetic(50), 5, shuffle: true);
        Assert.Equal(3, loader.Epoch(0).Take(3).Count());
        Assert.Equal(10, loader.Epoch(1).Count());
        using var first = loader.Epoch(0).GetEnumerator();
        Assert.True(first.MoveNext());
        using var second = loader.Epoch(0).GetEnumerator();
        Assert.Throws<InvalidOperationException>(() => second.MoveNext());
    }

    [Fact]
    public void IteratesTheEmbeddedSubset()
    {
        var train = FashionMnist.LoadEmbeddedSubset().Train.Take(1000);
        var loader = new DataLoader(train, 128, shuffle: true, seed: 0, augmentation: new Augmentation(2));
        int seen = 0;
        foreach (var (x, y) in loader.Epoch(0))
        {
            Assert.Equal([y.Length, 1, 28, 28], x.Shape);
            seen += y.Length;
        }
        Assert.Equal(1000, seen);
    }

    [Fact]
    public void ArgumentsAreChecked()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(Synthetic(3), batchSize: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Augmentation(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Augmentation(1, 1.5f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(Synthetic(3)).Epoch(-1));
    }

    private sealed class FloatTolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= tolerance;

        public int GetHashCode(float value) => 0;
    }
}
