namespace CnnLab.Lab.Experiments;

// The captions and verdict sentences of InitDepthExperiment, built from its measurements: prose kept apart from the
// code that measures.
public sealed partial class InitDepthExperiment
{
    private static string ForwardCaption(Budget b) =>
        "0 = the last hidden layer's activations have the first's spread; -3 = a thousand times smaller. "
        + FormattableString.Invariant($"Width {b.Width}, batch of {b.StatsBatch} images.");

    private const string BackwardCaption =
        "The gradient reaching the first hidden layer relative to the one at the last: negative = vanishing towards the input, "
        + "positive = exploding.";

    private const string ReluRatioCaption =
        "Only Kaiming keeps the ratio near 1 at every depth; Xavier/LeCun lose a factor √2 per layer, "
        + "PyTorch's default (Var = 1/(3·fan_in)) √6, and N(0, 0.01²) about 12.";

    private static string CnnDescription(Budget b) =>
        FormattableString.Invariant($"plain ReLU CNNs of {string.Join(" and ", b.CnnDepths)} 3x3 conv layers with {b.CnnChannels} channels ")
        + "(first conv stride 2: 28x28 → 14x14; max-pool after layers ⌈D/3⌉ and ⌈2D/3⌉; global average pooling; "
        + FormattableString.Invariant($"Linear({b.CnnChannels}, 10); zero biases, no BatchNorm), SGD momentum 0.9, lr {b.CnnLr}, ")
        + FormattableString.Invariant($"batch {b.CnnBatch}, {b.CnnSteps} steps");

    private static string CnnCurvesCaption(string cnnDesc, double threshold) =>
        cnnDesc + ". Same data order for every run. 2.30 = ln 10, the loss of a uniform guess; "
        + FormattableString.Invariant($"\"converged\" = the 10-step average loss reaches {threshold}.");

    private static string DeepCnnOutcome(int dDeep, bool he30, int? k30) =>
        he30 ? FormattableString.Invariant($" — the {dDeep}-layer net trains with Kaiming and stalls with Xavier, as in the paper")
        : k30 is null
            ? FormattableString.Invariant($" — the {dDeep}-layer net did not leave the plateau with Kaiming either in this budget, ")
                + "so the paper's deep result was not reproduced here"
        : FormattableString.Invariant($" — the {dDeep}-layer net trained with Xavier too, ")
            + "so the paper's deep result was not reproduced here";

    private static string ShallowCnnOutcome(Budget b, int dShallow, bool he22, bool shallowKaimingOnly,
        Dictionary<string, double> cnnForward) =>
        he22 ? FormattableString.Invariant($"; the {dShallow}-layer net trains with both, Kaiming first, as in the paper")
        : shallowKaimingOnly
            ? FormattableString.Invariant($"; the {dShallow}-layer net trains with Kaiming, Kaiming first, ")
                + FormattableString.Invariant($"but unlike the paper it also stalls with Xavier within {b.CnnSteps} steps: ")
                + FormattableString.Invariant($"at init its last ReLU's output is {cnnForward[$"{dShallow}-xavier-normal"]:G2}× the first's ")
                + "with Xavier "
                + FormattableString.Invariant($"(Xavier's halved variance alone predicts (1/√2)^{dShallow - 1} = ")
                + FormattableString.Invariant($"{Math.Pow(0.5, (dShallow - 1) / 2.0):G2}), ")
                + "the weight gradients are scaled down by a factor of that order, and the plateau outlasts this budget "
                + "(He et al.'s 22-layer Xavier net left it only after far more iterations on ImageNet) — "
                + "Xavier is worse here than in the paper, which strengthens the notes' point"
        : FormattableString.Invariant($"; the {dShallow}-layer net did not train with Kaiming within {b.CnnSteps} steps, ")
            + "so the paper's 22-layer comparison was not reproduced here";

    private static string KeepsIntro(int deepest, int width) =>
        FormattableString.Invariant($"At init, depth {deepest}, width {width}: the inits that keep both the forward ratio ")
        + FormattableString.Invariant($"std(h_{deepest})/std(h_1) and the backward ratio std(dL/dh_1)/std(dL/dh_{deepest}) ")
        + "within [0.5, 2] are — ";

    private static string ReluSentence(Dictionary<(string, string, int), double> fwd, Dictionary<(string, string, int), double> bwd,
        int deepest) =>
        FormattableString.Invariant($"ReLU: Kaiming keeps {fwd[("relu", "kaiming-normal", deepest)]:G3} forward / ")
        + FormattableString.Invariant($"{bwd[("relu", "kaiming-normal", deepest)]:G3} backward, ")
        + FormattableString.Invariant($"Xavier {fwd[("relu", "xavier-normal", deepest)]:G2} / {bwd[("relu", "xavier-normal", deepest)]:G2}, ")
        + FormattableString.Invariant($"naive N(0, 0.01²) {fwd[("relu", "normal:0.01", deepest)]:G2}. ");

    private static string TanhSentence(Dictionary<(string, string, int), double> fwd, Dictionary<(string, string, int), double> bwd,
        int deepest, double gF, double gB) =>
        FormattableString.Invariant($"tanh + Xavier (gain 1, as Glorot & Bengio): {fwd[("tanh", "xavier-normal", deepest)]:G3} / ")
        + FormattableString.Invariant($"{bwd[("tanh", "xavier-normal", deepest)]:G3}; ")
        + FormattableString.Invariant($"with PyTorch's calculate_gain('tanh') = 5/3: {gF:G3} / {gB:G3} ")
        + "(the gain offsets tanh's contraction away from 0). ";

    private static string SigmoidSentence(bool sigmoidXavier, Dictionary<(string, string, int), double> fwd,
        Dictionary<(string, string, int), double> bwd, int deepest) => sigmoidXavier
        ? FormattableString.Invariant($"sigmoid + Xavier: {fwd[("sigmoid", "xavier-normal", deepest)]:G3} / ")
            + FormattableString.Invariant($"{bwd[("sigmoid", "xavier-normal", deepest)]:G3}. ")
        : FormattableString.Invariant($"sigmoid + Xavier does not: forward {fwd[("sigmoid", "xavier-normal", deepest)]:G3} ")
            + FormattableString.Invariant($"but backward {bwd[("sigmoid", "xavier-normal", deepest)]:G2} — ")
            + "sigmoid's slope is 1/4 at 0 and its outputs are not centred, so Xavier's linear-regime argument "
            + "(made for symmetric, slope-1 units) does not hold for it and its gradients vanish with depth "
            + "(Glorot & Bengio's own finding); the notes' \"sigmoid → Xavier\" is a simplification. ";

    private static string GradientSentence(double kDeep, double xDeep, int dDeep, int dShallow, Dictionary<string, double> cnnBackward,
        double xOverK, double predicted) =>
        FormattableString.Invariant($". At init the gradient reaching the first conv layer is {kDeep:G3}× the last conv layer's ")
        + FormattableString.Invariant($"with Kaiming and {xDeep:G3}× with Xavier at depth {dDeep} ")
        + FormattableString.Invariant($"({cnnBackward[$"{dShallow}-kaiming-normal"]:G3} vs {cnnBackward[$"{dShallow}-xavier-normal"]:G3} ")
        + FormattableString.Invariant($"at depth {dShallow}): Xavier's is {xOverK:G3}× Kaiming's, ")
        + FormattableString.Invariant($"(1/√2)^{dDeep - 1} = {predicted:G3} predicted — He et al.'s mechanism ")
        + "(the factor both share comes from the max-pool and ReLU masks, which zero part of the gradient whatever the init). ";
}
