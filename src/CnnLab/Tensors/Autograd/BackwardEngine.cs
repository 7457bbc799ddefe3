using CnnLab.Tensors;

namespace CnnLab.Tensors;

/// <summary>
/// Reverse-mode differentiation: sorts the graph below a root topologically, then walks it once
/// from the root down, summing the gradient that reaches each tensor before passing it on.
/// </summary>
internal static class BackwardEngine
{
    public static void Run(Tensor root, Tensor seed, bool retainGraph = false)
    {
        var order = TopologicalOrder(root);
        var pending = new Dictionary<Tensor, Tensor>(ReferenceEqualityComparer.Instance) { [root] = seed };
        using var _ = Autograd.NoGrad();
        for (int i = order.Count - 1; i >= 0; i--)
        {
            var t = order[i];
            if (!pending.Remove(t, out var grad)) continue;
            grad = t.RunHooks(grad);
            var node = t.GradFn;
            if (node is null)
            {
                t.AccumulateGrad(grad);
                continue;
            }
            if (t.RetainsGrad) t.AccumulateGrad(grad);
            var backward = node.BackwardFunction ?? throw new InvalidOperationException(
                $"Trying to backward through the graph a second time ({node.Name}'s saved tensors were freed by the first Backward); "
                + "call Backward(retainGraph: true) the first time if you need to backward twice");
            var inputs = node.Inputs;
            var addends = Addends(inputs, pending);
            var inputGrads = backward(grad, addends);
            // The backward read dy through spans: its tensor (and so its recyclable buffer) must outlive the call.
            GC.KeepAlive(grad);
            if (!retainGraph) node.Release();
            for (int k = 0; k < inputs.Count; k++)
            {
                var input = inputs[k];
                var g = inputGrads[k];
                if (g is null || !input.RequiresGrad) continue;
                if (!Shape.Equal(g.Shape, input.Shape))
                    throw new InvalidOperationException(
                        $"{node.Name} returned a gradient of shape {Shape.Format(g.Shape)} for an input of shape {Shape.Format(input.Shape)}");
                if (addends.Taken(k)) pending[input] = g;   // the op added the pending gradient in
                else if (pending.TryGetValue(input, out var existing))
                {
                    // Sum into a fresh buffer: either term may alias a tensor an op still holds.
                    var sum = Tensor.ForOp(input.Shape);
                    TensorPrimitives.Add(existing.Elements, g.Elements, sum.Elements);
                    // A sum stays masked only where both terms were (masked + unmasked must be masked again).
                    if (existing.PremaskedFor is { } masked && ReferenceEquals(masked, g.PremaskedFor)) sum.PremaskedFor = masked;
                    GC.KeepAlive(existing);
                    GC.KeepAlive(g);
                    pending[input] = sum;
                }
                else pending[input] = g;
            }
        }
    }

    // The gradients pending for a node's inputs, offered to its backward; none for a tensor that is more than one of its inputs
    // (the op would add the same pending gradient into each).
    private static InputGradientAddends Addends(IReadOnlyList<Tensor> inputs, Dictionary<Tensor, Tensor> pending)
    {
        Tensor?[]? found = null;
        for (int k = 0; k < inputs.Count; k++)
        {
            if (!pending.TryGetValue(inputs[k], out var existing) || !OnlyOnce(inputs, k)) continue;
            found ??= new Tensor?[inputs.Count];
            found[k] = existing;
        }
        return found is null ? InputGradientAddends.None : new InputGradientAddends(found);
    }

    private static bool OnlyOnce(IReadOnlyList<Tensor> inputs, int k)
    {
        for (int j = 0; j < inputs.Count; j++)
            if (j != k && ReferenceEquals(inputs[j], inputs[k])) return false;
        return true;
    }

    // Iterative DFS (deep nets would overflow a recursive one); children before parents.
    private static List<Tensor> TopologicalOrder(Tensor root)
    {
        var order = new List<Tensor>();
        var visited = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(Tensor Tensor, int NextInput)>();
        stack.Push((root, 0));
        visited.Add(root);
        while (stack.Count > 0)
        {
            var (t, next) = stack.Pop();
            var inputs = t.GradFn?.Inputs;
            if (inputs is not null && next < inputs.Count)
            {
                stack.Push((t, next + 1));
                var child = inputs[next];
                if (child.RequiresGrad && visited.Add(child)) stack.Push((child, 0));
            }
            else order.Add(t);
        }
        return order;
    }
}
