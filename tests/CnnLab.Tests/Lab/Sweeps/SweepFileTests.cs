using CnnLab.IO;
using CnnLab.Lab.Sweeps;
using Xunit;

namespace CnnLab.Tests;

public class SweepFileTests
{
    private const string Budget = "\"budget\": { \"steps\": 10, \"checkpoints\": 2 }";

    [Fact]
    public void GridIsTheProductOfItsAxes_LastAxisFastest_FixedAxesEverywhere()
    {
        var spec = SweepFile.Parse("""
            { "name": "n", "budget": { "steps": 10, "checkpoints": 2, "schedule": "cosine" },
              "fixed": { "model": "lenet5" }, "grid": { "optimizer": ["sgd", "adam"], "lr": [0.1, 0.01], "seed": [0, 1, 2] } }
            """, "g.json");
        Assert.Equal(12, spec.Cells.Count);
        Assert.All(spec.Cells, c => Assert.Equal("lenet5", c.Model));
        Assert.Equal(("sgd", 0.1, 0L), (spec.Cells[0].Optimizer, spec.Cells[0].Lr, spec.Cells[0].Seed));
        Assert.Equal(("sgd", 0.1, 1L), (spec.Cells[1].Optimizer, spec.Cells[1].Lr, spec.Cells[1].Seed));
        Assert.Equal(("adam", 0.01, 2L), (spec.Cells[11].Optimizer, spec.Cells[11].Lr, spec.Cells[11].Seed));
        Assert.Equal(["optimizer", "lr"], spec.Factors);
        Assert.Equal(4, spec.Groups().Count);
        Assert.All(spec.Groups(), g => Assert.Equal(3, g.Count));
        Assert.Equal([5, 10], spec.Budget.CheckpointSteps);
        Assert.Equal(12, spec.Cells.Select(c => c.Id(spec.Budget)).Distinct().Count());
    }

    [Fact]
    public void AListOfCellsWorksToo_AndBatchNormSwitchesCnnSmall()
    {
        var spec = SweepFile.Parse("""{ "cells": [ { "batch_norm": true }, { "batch_norm": false, "lr": 0.01 } ] }""", "g.json");
        Assert.Equal(["cnn-bn", "cnn-small"], spec.Cells.Select(c => c.BuiltModel));
        Assert.Equal("g", spec.Name);
    }

    [Theory]
    [InlineData("{ \"grid\": { \"lr\": [0.1] }, \"steps\": 3 }", "field 'steps' is unknown")]
    [InlineData("{ \"grid\": { \"learning_rate\": [0.1] } }", "field 'grid.learning_rate' is unknown")]
    [InlineData("{ \"grid\": { \"lr\": [0.1, -1] } }", "field 'grid.lr[1] (lr)': must be a positive number, got -1")]
    [InlineData("{ \"grid\": { \"lr\": [] } }", "field 'grid.lr': must be a non-empty array")]
    [InlineData("{ \"grid\": {} }", "field 'grid': names no axis")]
    [InlineData("{ \"cells\": [] }", "field 'cells': must be a non-empty array")]
    [InlineData("{ }", "give exactly one of 'grid'")]
    [InlineData("{ \"grid\": { \"optimizer\": [\"adamm\"] } }", "field 'grid.optimizer[0] (optimizer)': 'adamm' is not valid")]
    [InlineData("{ \"grid\": { \"model\": [\"resnet-huge\"] } }", "field 'grid.model[0] (model)'")]
    [InlineData("{ \"grid\": { \"init\": [\"kaiming\"] } }", "field 'grid.init[0] (init)': unknown init scheme")]
    [InlineData("{ \"grid\": { \"batch_size\": [0] } }", "field 'grid.batch_size[0] (batch_size)': must be an integer from 1")]
    [InlineData("{ \"grid\": { \"batch_norm\": [true] }, \"fixed\": { \"model\": \"lenet5\" } }", "batch_norm only with model cnn-small")]
    [InlineData("{ \"grid\": { \"lr\": [0.1] }, \"budget\": { \"steps\": 0 } }", "field 'budget.steps': must be an integer from 1")]
    [InlineData("{ \"grid\": { \"lr\": [0.1] }, \"budget\": { \"steps\": 2, \"checkpoints\": 3 } }", "field 'budget.checkpoints'")]
    [InlineData("{ \"grid\": { \"lr\": [0.1] }, \"budget\": { \"schedule\": \"cyclic\" } }", "field 'budget.schedule': 'cyclic' is unknown")]
    [InlineData("{ \"grid\": { \"lr\": [0.1, 0.1] } }", "field 'grid.lr[1]': the same cell as 'grid.lr[0]'")]
    [InlineData("{ \"grid\": { \"lr\": [0.1] }, \"fixed\": { \"lr\": 0.2 } }", "field 'grid.lr': also set in 'fixed'")]
    [InlineData("{ \"grid\": { \"lr\": [0.1] ", "not valid JSON")]
    [InlineData("[1, 2]", "must be a JSON object")]
    public void BadGridFiles_AreOneLineErrorsNamingTheFileAndField(string json, string expected)
    {
        var e = Assert.Throws<InvalidFileException>(() => SweepFile.Parse(json, "grid.json"));
        Assert.StartsWith("grid.json: ", e.Message);
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void TooManyCells_IsAnError()
    {
        var lrs = string.Join(", ", Enumerable.Range(1, 40).Select(i => (i / 1000.0).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var seeds = string.Join(", ", Enumerable.Range(0, 30));
        var e = Assert.Throws<InvalidFileException>(() => SweepFile.Parse($"{{ \"grid\": {{ \"lr\": [{lrs}], \"seed\": [{seeds}] }} }}", "g.json"));
        Assert.Contains($"more than {SweepSpec.MaxCells} cells", e.Message);
    }

    [Fact]
    public void TheCommand_RejectsABadGridWithExitCode2AndOneLine()
    {
        var dir = TinyData.TempDir("sweep-bad");
        var path = Path.Combine(dir, "bad.json");
        File.WriteAllText(path, "{ " + Budget + ", \"grid\": { \"lr\": [0.1], \"momentum\": [0.9] } }");
        var r = Cli.Run("sweep", path, "--out", Path.Combine(dir, "out"));
        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"cnnlab: {path}: field 'grid.momentum' is unknown; expected one of {string.Join(", ", SweepCell.Axes)}",
            r.Stderr.TrimEnd());
        var missing = Cli.Run("sweep", Path.Combine(dir, "none.json"));
        Assert.Equal(2, missing.ExitCode);
        Assert.Single(missing.Stderr.TrimEnd().Split('\n'));
        Assert.Equal(2, Cli.Run("sweep", path, "--jobs", "0").ExitCode);
    }
}
