namespace CnnLab.Data;

/// <summary>An image that could not be decoded: its position in the file list and why.</summary>
public sealed record BadImage(int Index, string Message)
{
    public override string ToString() => Message;
}
