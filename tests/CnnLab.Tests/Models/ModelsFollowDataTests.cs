using CnnLab.Nn;
using CnnLab.Nn.Models;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

public class ModelsFollowDataTests
{
    [Theory]
    [InlineData("lenet5")]
    [InlineData("cnn-small")]
    [InlineData("cnn-bn")]
    [InlineData("mlp")]
    [InlineData("mlp-2-16-tanh")]
    [InlineData("plain-cnn-4")]
    [InlineData("resnet-mini")]
    public void EveryZooModelTakesRgbImagesOfAnySizeAndAnyClassCount(string name)
    {
        foreach (var (c, h, w) in new[] { (3, 32, 32), (3, 20, 36), (1, 28, 28) })
        {
            var options = ModelOptions.Default.ForData([c, h, w], 7);
            var model = ModelZoo.Create(name, new Generator(1), options);
            using var _ = Autograd.NoGrad();
            var y = model.Forward(Tensor.Zeros([2, c, h, w]));
            Assert.Equal([2, 7], y.Shape);
        }
    }

    [Fact]
    public void TheCommandShowsTheShapesForAnInput()
    {
        var r = Cli.Run("models", "cnn-small", "--input", "3x32x32", "--classes", "100");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("[1, 4096]", r.Stdout);
        Assert.Contains("[1, 100]", r.Stdout);
        var small = Cli.Run("models", "lenet5", "--input", "3x8x8");
        Assert.Equal(2, small.ExitCode);
        Assert.Contains("needs images of at least 12x12", small.Stderr);
        Assert.Equal(2, Cli.Run("models", "cnn-small", "--input", "4x32x32").ExitCode);
    }
}
