using CnnLab.Benchmarks;
using CnnLab.Kernels;
using CnnLab.Lab;
using CnnLab.Viz;
using CnnLab.Web;
using Mono.Cecil;
using Xunit;

namespace CnnLab.Tests.Architecture;

/// <summary>
/// The layers of ARCHITECTURE.md, read from the compiled assemblies: every type a namespace's code mentions (in
/// signatures, fields, method bodies, generic arguments) must come from its own layer or one below, and no two
/// namespaces may depend on each other through any path. A new namespace must be given a layer here.
/// </summary>
public class LayeringTests
{
    // Lowest first. A namespace may use its own layer and the layers before it; IO is usable from anywhere.
    private static readonly string[][] Layers =
    [
        ["CnnLab.IO"],
        ["CnnLab.Kernels"],
        ["CnnLab.Tensors"],
        ["CnnLab.Init"],
        ["CnnLab.Nn", "CnnLab.Nn.Models"],
        ["CnnLab.Init.Networks", "CnnLab.Optim", "CnnLab.Optim.Schedules"],
        ["CnnLab.Data"],
        ["CnnLab.Serialization", "CnnLab.Serialization.Onnx", "CnnLab.Serialization.PyTorch"],
        ["CnnLab.Training", "CnnLab.Training.TensorBoard"],
        ["CnnLab.Training.PyTorch"],
        ["CnnLab.Benchmarks"],
        ["CnnLab.Viz"],
        ["CnnLab.Lab", "CnnLab.Lab.Sweeps", "CnnLab.Lab.Experiments"],
        ["CnnLab.Web"],
        ["CnnLab.Cli.Support"],
        ["CnnLab.Cli.Commands"],
        ["CnnLab.Cli"],
    ];

    private static readonly Lazy<Dictionary<string, Dictionary<string, string>>> Graph = new(ReadGraph);

    [Fact]
    public void EveryNamespaceHasALayer()
    {
        var known = Layers.SelectMany(l => l).ToHashSet();
        var all = Graph.Value.Keys.Concat(Graph.Value.Values.SelectMany(d => d.Keys)).Distinct();
        Assert.Empty(all.Where(n => !known.Contains(n)).Order());
    }

    [Fact]
    public void NoNamespaceUsesALayerAboveIt()
    {
        var rank = new Dictionary<string, int>();
        for (int i = 0; i < Layers.Length; i++)
            foreach (var ns in Layers[i]) rank[ns] = i;
        var upward = new List<string>();
        foreach (var (from, uses) in Graph.Value)
            foreach (var (to, example) in uses)
                if (rank.TryGetValue(from, out int a) && rank.TryGetValue(to, out int b) && b > a)
                    upward.Add($"{from} uses {to} above it ({example})");
        Assert.Empty(upward);
    }

    [Fact]
    public void NoCycleBetweenNamespaces()
    {
        // A cycle passes through some edge a → b with b reaching a back.
        var cycles = new List<string>();
        foreach (var (from, uses) in Graph.Value)
            foreach (var (to, example) in uses)
                if (Reaches(to, from)) cycles.Add($"{from} → {to} ({example}) and back");
        Assert.Empty(cycles);
    }

    [Fact]
    public void TheReaderSeesReferencesInsideMethodBodies()
    {
        // The test itself must be able to fail: Kernels are used by Nn's method bodies, not only in signatures.
        Assert.True(Graph.Value["CnnLab.Nn"].ContainsKey("CnnLab.Kernels"));
        Assert.True(Graph.Value["CnnLab.Cli.Commands"].ContainsKey("CnnLab.Lab"));
        Assert.True(Graph.Value["CnnLab.Cli.Commands"].ContainsKey("CnnLab.Web"));
        Assert.True(Graph.Value["CnnLab.Web"].ContainsKey("CnnLab.Lab"));
    }

    private static bool Reaches(string start, string target)
    {
        var seen = new HashSet<string> { start };
        var stack = new Stack<string>([start]);
        while (stack.TryPop(out var n))
        {
            if (n == target) return true;
            if (!Graph.Value.TryGetValue(n, out var next)) continue;
            foreach (var m in next.Keys)
                if (seen.Add(m)) stack.Push(m);
        }
        return false;
    }

    // namespace → (namespace it uses → one example "Type -> Type").
    private static Dictionary<string, Dictionary<string, string>> ReadGraph()
    {
        var graph = new Dictionary<string, Dictionary<string, string>>();
        var assemblies = new[] { typeof(Parallelism), typeof(BarCharts), typeof(LabRunner), typeof(ThroughputBenchmark), typeof(WebServer) }
            .Select(t => t.Assembly.Location)
            .Append(Path.Combine(AppContext.BaseDirectory, "cnnlab.dll"))
            .Distinct();
        foreach (var path in assemblies)
        {
            using var module = ModuleDefinition.ReadModule(path);
            foreach (var type in module.GetTypes())
            {
                string from = NamespaceOf(type);
                if (!from.StartsWith("CnnLab", StringComparison.Ordinal)) continue;
                foreach (var used in TypesUsedBy(type))
                {
                    string to = NamespaceOf(used);
                    if (to == from || !to.StartsWith("CnnLab", StringComparison.Ordinal)) continue;
                    if (!graph.TryGetValue(from, out var uses)) graph[from] = uses = [];
                    uses.TryAdd(to, $"{Outer(type).FullName} -> {Outer(used).FullName}");
                }
            }
        }
        return graph;
    }

    private static IEnumerable<TypeReference> TypesUsedBy(TypeDefinition type)
    {
        var found = new List<TypeReference>();
        void Add(TypeReference? t)
        {
            if (t is null or GenericParameter) return;
            if (t is GenericInstanceType g) foreach (var a in g.GenericArguments) Add(a);
            if (t is TypeSpecification s) { Add(s.ElementType); return; }
            found.Add(t);
        }
        Add(type.BaseType);
        foreach (var i in type.Interfaces) Add(i.InterfaceType);
        foreach (var f in type.Fields) Add(f.FieldType);
        foreach (var p in type.Properties) Add(p.PropertyType);
        foreach (var m in type.Methods)
        {
            Add(m.ReturnType);
            foreach (var p in m.Parameters) Add(p.ParameterType);
            if (!m.HasBody) continue;
            foreach (var v in m.Body.Variables) Add(v.VariableType);
            foreach (var instruction in m.Body.Instructions)
            {
                switch (instruction.Operand)
                {
                    case TypeReference t: Add(t); break;
                    case FieldReference f: Add(f.DeclaringType); Add(f.FieldType); break;
                    case MethodReference r:
                        Add(r.DeclaringType);
                        Add(r.ReturnType);
                        foreach (var p in r.Parameters) Add(p.ParameterType);
                        if (r is GenericInstanceMethod gm) foreach (var a in gm.GenericArguments) Add(a);
                        break;
                }
            }
        }
        return found;
    }

    private static TypeReference Outer(TypeReference t)
    {
        while (t.DeclaringType is not null) t = t.DeclaringType;
        return t;
    }

    private static string NamespaceOf(TypeReference t) => Outer(t).Namespace;
}
