using CnnLab.Nn;

namespace CnnLab.Lab.Experiments;

/// <summary>
/// Which input pixels one output pixel of a layer sees: its receptive field's side <see cref="Size"/>, the distance
/// between neighbouring output pixels' fields in input pixels (<see cref="Jump"/>), and the input coordinate of output pixel
/// 0's centre (<see cref="Start"/>). Through a layer of kernel k (dilated: (k − 1)·d + 1), stride s and padding p:
/// size += (k − 1)·jump, start += ((k − 1)/2 − p)·jump, jump *= s (Araujo, Norris and Sim, "Computing receptive fields
/// of convolutional neural networks", Distill 2019). Layers that act pixel by pixel (BatchNorm, ReLU) change nothing.
/// </summary>
internal readonly record struct ReceptiveField(int Size, int Jump, double Start)
{
    /// <summary>The field after each of the first <paramref name="count"/> modules of <paramref name="model"/>.</summary>
    public static ReceptiveField[] Of(Sequential model, int count)
    {
        var field = new ReceptiveField(1, 1, 0);
        var result = new ReceptiveField[count];
        for (int i = 0; i < count; i++)
        {
            (int k, int s, int p) = model[i] switch
            {
                Conv2d c => ((c.KernelSize.H - 1) * c.Dilation.H + 1, c.Stride.H, c.Padding.H),
                MaxPool2d m => (m.KernelSize.H, m.Stride.H, m.Padding.H),
                AvgPool2d a => (a.KernelSize.H, a.Stride.H, a.Padding.H),
                _ => (1, 1, 0),
            };
            field = new ReceptiveField(field.Size + (k - 1) * field.Jump, field.Jump * s, field.Start + ((k - 1) / 2.0 - p) * field.Jump);
            result[i] = field;
        }
        return result;
    }

    /// <summary>
    /// Top-left corner and side of the input window seen by output pixel (<paramref name="y"/>, <paramref name="x"/>), cut to
    /// an image of <paramref name="imageSize"/> pixels: a field larger than the image is the whole image.
    /// </summary>
    public (int Top, int Left, int Side) Window(int y, int x, int imageSize)
    {
        int side = Math.Min(Size, imageSize);
        double start = Start;
        int jump = Jump;
        int Corner(int pos) => Math.Clamp((int)Math.Round(start + pos * jump - (side - 1) / 2.0), 0, imageSize - side);
        return (Corner(y), Corner(x), side);
    }
}
