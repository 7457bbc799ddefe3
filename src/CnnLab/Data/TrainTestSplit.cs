namespace CnnLab.Data;

/// <summary>A dataset's training and test parts (same image size and classes).</summary>
/// <remarks>PyTorch: the pair <c>FashionMNIST(root, train=True)</c> / <c>FashionMNIST(root, train=False)</c>.</remarks>
public sealed record TrainTestSplit(ImageDataset Train, ImageDataset Test);
