using CnnLab.Tensors;

namespace CnnLab.Optim;

/// <summary>
/// What an optimizer remembers about one parameter: the number of steps taken and its buffers,
/// under PyTorch's names (<c>momentum_buffer</c>; <c>exp_avg</c>, <c>exp_avg_sq</c>, <c>max_exp_avg_sq</c>;
/// <c>square_avg</c>, <c>grad_avg</c>).
/// </summary>
/// <remarks>PyTorch: <c>optimizer.state[p]</c>. PyTorch's SGD keeps no step count; CnnLab keeps one for every optimizer.</remarks>
public sealed class ParamState
{
    /// <summary>Steps taken on this parameter (PyTorch's <c>state["step"]</c>).</summary>
    public long Step { get; set; }

    /// <summary>The buffers, each shaped like the parameter, in creation order.</summary>
    public OrderedDictionary<string, Tensor> Buffers { get; } = new();

    /// <summary>The buffer <paramref name="name"/>, created zero-filled like <paramref name="param"/> if absent.</summary>
    public Tensor Buffer(string name, Tensor param)
    {
        if (!Buffers.TryGetValue(name, out var t))
        {
            t = param.ZerosLike();
            Buffers.Add(name, t);
        }
        return t;
    }

    /// <summary>A deep copy.</summary>
    public ParamState Clone()
    {
        var s = new ParamState { Step = Step };
        foreach (var (k, v) in Buffers) s.Buffers.Add(k, v.Clone());
        return s;
    }
}
