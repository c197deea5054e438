"""c2c_analysis.plotting: the data on the artists, never pixels."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from c2c_analysis.plotting import plot_trends, plot_turn_the_curve
from c2c_analysis.trends import project_baseline, rates


@pytest.fixture
def two_groups() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "year": [2014, 2015, 2016] * 2,
            "group": ["Black"] * 3 + ["White"] * 3,
            "numerator": [300, 310, 330, 700, 705, 720],
            "denominator": [400, 400, 400, 840, 840, 840],
        }
    )


def test_trend_plot_draws_one_line_per_group_with_the_rates(two_groups):
    ax = plot_trends(two_groups)
    assert [line.get_label() for line in ax.lines] == ["Black", "White"]
    assert ax.lines[0].get_ydata() == pytest.approx([0.75, 0.775, 0.825])
    assert len(ax.collections) == 2  # one confidence band per group


def test_trend_plot_band_is_the_wilson_interval(two_groups):
    ax = plot_trends(two_groups.query("group == 'Black'"))
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    expected = rates(two_groups.query("group == 'Black'"))
    assert band.max() == pytest.approx(expected["ci_upper"].max())
    assert band.min() == pytest.approx(expected["ci_lower"].min())


def test_turn_the_curve_chart_shows_baseline_forecast_and_actual():
    data = pd.DataFrame(
        {
            "year": np.arange(2010, 2018),
            "numerator": [50, 52, 54, 56, 63, 66, 70, 72],
            "denominator": [100] * 8,
        }
    )
    ax = plot_turn_the_curve(project_baseline(data, baseline=(2010, 2013)))
    labels = [line.get_label() for line in ax.lines]
    assert labels == ["baseline", "forecast", "actual"]
    assert ax.lines[2].get_xdata().tolist() == [2014, 2015, 2016, 2017]
    assert "students" in ax.texts[0].get_text()


def test_turn_the_curve_refuses_several_series():
    data = pd.DataFrame(
        {
            "year": [2010, 2011, 2012] * 2,
            "group": ["A"] * 3 + ["B"] * 3,
            "numerator": [5, 6, 7, 5, 6, 7],
            "denominator": [10] * 6,
        }
    )
    with pytest.raises(ValueError, match="one series"):
        plot_turn_the_curve(project_baseline(data, baseline=(2010, 2012), by=["group"]))


def test_plots_draw_on_the_axes_they_are_given():
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    data = pd.DataFrame(
        {"year": [2010, 2011], "group": ["A", "A"], "numerator": [1, 2], "denominator": [4, 4]}
    )
    assert plot_trends(data, ax=ax) is ax


def test_gap_plot_draws_one_line_per_group_with_gaps():
    from c2c_analysis import load_sample
    from c2c_analysis.equity import gaps
    from c2c_analysis.plotting import plot_gaps

    data = load_sample("outcomes").query(
        "partnership == 'tacoma' and outcome == 'hs_graduation' "
        "and dimension == 'race_ethnicity' and group in ['White', 'Black', 'Asian']"
    )
    table = gaps(data, reference="White")
    ax = plot_gaps(table)
    assert [line.get_label() for line in ax.lines if not line.get_label().startswith("_")] == [
        "Asian",
        "Black",
    ]
    black = table[table["group"] == "Black"].sort_values("year")
    assert ax.lines[1].get_ydata() == pytest.approx(black["gap_pp"].to_numpy())


def test_gap_change_plot_marks_start_and_end():
    from c2c_analysis.plotting import plot_gap_change

    change = pd.DataFrame(
        {
            "group": ["A", "B"],
            "gap_start_pp": [10.0, 5.0],
            "gap_end_pp": [4.0, 7.0],
            "category": ["narrowing_both_improving", "widening_both_improving"],
        }
    )
    ax = plot_gap_change(change)
    assert ax.lines[0].get_xdata().tolist() == [10.0, 5.0]
    assert ax.lines[1].get_xdata().tolist() == [4.0, 7.0]


def test_waterfall_bars_add_up_to_the_end_value():
    from c2c_analysis.decompose import das_gupta

    data = pd.DataFrame({"pop": [1, 2], "a": [2.0, 3.0], "b": [5.0, 4.0]})
    ax = das_gupta(data, group="pop", factors=["a", "b"]).plot()
    heights = [patch.get_height() for patch in ax.patches]
    assert heights[0] + heights[1] + heights[2] == pytest.approx(heights[3])  # 10 + effects = 12


def test_spc_plot_marks_points_beyond_the_limits():
    from c2c_analysis.spc import control_chart

    data = pd.DataFrame(
        {"x": range(1, 13), "y": [10.0, 11, 10, 12, 11, 10, 40, 11, 10, 12, 11, 10]}
    )
    ax = control_chart(data, y="y", x="x", chart="i").plot()
    beyond = next(line for line in ax.lines if line.get_label() == "beyond limits")
    assert beyond.get_xdata().tolist() == [7]


def test_spc_grid_draws_one_panel_per_series():
    from c2c_analysis import load_sample
    from c2c_analysis.plotting import plot_spc_grid
    from c2c_analysis.spc import spc_table

    data = load_sample("indicators").query(
        "outcome == 'chronic_absence' and dimension == 'geography'"
    )
    table = spc_table(
        data, by=["partnership", "group"], y="numerator", n="denominator", x="period", chart="pp"
    )
    axes = plot_spc_grid(table, by=["partnership", "group"], proportion=True)
    assert axes.shape == (2, 4)
    assert sum(ax.get_visible() for ax in axes.flat[0].figure.axes) == 8


def test_run_chart_grid_with_wilson_bands_and_titles():
    import math

    from scipy import stats

    from c2c_analysis.plotting import plot_spc_grid
    from c2c_analysis.spc import spc_table

    data = pd.DataFrame(
        {
            "outcome": ["hs_graduation"] * 4 + ["chronic_absence"] * 4,
            "year": [2016, 2017, 2018, 2019] * 2,
            "numerator": [300, 310, 330, 350, 100, 90, 95, 80],
            "denominator": [400] * 4 + [500] * 4,
        }
    )
    table = spc_table(data, by=["outcome"], y="numerator", n="denominator", x="year").table
    # A run chart of numerators over denominators keeps the denominators.
    assert table["n"].tolist() == [500.0] * 4 + [400.0] * 4
    axes = plot_spc_grid(
        table, by=["outcome"], proportion=True, bands=True, titles={"hs_graduation": "Graduation"}
    )
    fig = axes.flat[0].figure
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert sorted(titles) == ["Graduation", "chronic_absence"]
    ax = next(ax for ax in fig.axes if ax.get_title() == "Graduation")
    (band,) = ax.collections
    # Wilson (1927) score interval by hand for 300 of 400 in 2016.
    z = stats.norm.ppf(0.975)
    p, n = 300 / 400, 400
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    vertices = band.get_paths()[0].vertices
    at_2016 = sorted(v[1] for v in vertices if v[0] == 2016)
    assert at_2016[0] == pytest.approx(centre - half)
    assert at_2016[-1] == pytest.approx(centre + half)


def _assert_laid_out(fig):
    """Every visible panel's tight box (tick labels, axis labels, title) is inside the
    figure and overlaps no other panel's."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [ax.get_tightbbox(renderer) for ax in fig.axes if ax.get_visible()]
    for i, box in enumerate(boxes):
        assert box.x0 >= fig.bbox.x0 - 1
        assert box.x1 <= fig.bbox.x1 + 1
        assert box.y0 >= fig.bbox.y0 - 1
        assert box.y1 <= fig.bbox.y1 + 1
        for other in boxes[i + 1 :]:
            assert not box.overlaps(other)
    return boxes


@pytest.mark.parametrize("count", [1, 4, 7, 9])
def test_spc_grid_panels_and_their_labels_neither_overlap_nor_leave_the_figure(count):
    # The grid is laid out from measured tick labels and titles (not tight_layout): check
    # the drawn result. Each panel's tight box holds its tick labels and title.
    from c2c_analysis.plotting import plot_spc_grid
    from c2c_analysis.spc import spc_table

    rng = np.random.default_rng(7)
    data = pd.DataFrame(
        {
            "series": np.repeat([f"Series with a long title {i}" for i in range(count)], 10),
            "year": np.tile(np.arange(2010, 2020), count),
            "numerator": rng.integers(300, 900, 10 * count),
            "denominator": 1000,
        }
    )
    table = spc_table(data, by=["series"], y="numerator", n="denominator", x="year")
    fig = plot_spc_grid(table, by=["series"], proportion=True, bands=True).flat[0].figure
    boxes = _assert_laid_out(fig)
    assert len(boxes) == count
    # The lowest panel of every column shows its years.
    columns = {}
    for ax in fig.axes:
        if ax.get_visible():
            columns.setdefault(round(ax.get_position().x0, 3), []).append(ax)
    for panels in columns.values():
        lowest = min(panels, key=lambda ax: ax.get_position().y0)
        assert any(label.get_text() for label in lowest.get_xticklabels())


def test_percent_axis_labels_are_not_rounded_to_whole_points():
    import matplotlib.pyplot as plt

    from c2c_analysis.plotting._axes import percent_axis

    fig, ax = plt.subplots()
    ax.plot([0, 1], [0.70, 0.78])
    percent_axis(ax)
    fig.canvas.draw()
    pairs = [(t.get_text(), v) for t, v in zip(ax.get_yticklabels(), ax.get_yticks(), strict=True)]
    labels = [text for text, _ in pairs if text]
    shown = [float(text.rstrip("%")) for text in labels]
    ticks = [100 * v for text, v in pairs if text]
    assert shown == pytest.approx(ticks)  # every label is its tick, not a rounded neighbour
    assert not any(label.endswith(".0%") for label in labels)
    plt.close(fig)


def test_set_theme_figure_format_is_ignored_outside_a_notebook():
    import matplotlib as mpl

    from c2c_analysis.plotting import set_theme

    set_theme(figure_format="svg")  # no IPython shell here: nothing to configure, no error
    assert mpl.rcParams["axes.grid"]  # seaborn's whitegrid applied (matplotlib's default: off)
    assert mpl.rcParams["svg.fonttype"] == "none"  # SVG text stays text


def _single_axes_figures():
    from c2c_analysis import load_sample
    from c2c_analysis.equity import gaps
    from c2c_analysis.plotting import plot_gaps, plot_scorecard
    from c2c_analysis.portfolio import evaluate_portfolio

    data = load_sample("outcomes").query("partnership == 'tacoma'")
    race = data.query("outcome == 'hs_graduation' and dimension == 'race_ethnicity'")
    yield "gaps", plot_gaps(gaps(race, reference="White")).figure
    result = evaluate_portfolio(data, load_sample("portfolio"), method="logit")
    yield "scorecard", plot_scorecard(result).figure


def test_figures_made_here_are_laid_out_by_constrained_layout_and_fit():
    import matplotlib.pyplot as plt
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    for name, fig in _single_axes_figures():
        assert isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine), name
        _assert_laid_out(fig)
        plt.close(fig)


def _assert_legend_outside_the_lines(ax):
    """The legend is drawn inside the figure, right of the axes' data area (so it covers
    no line), and the data area keeps a good part of the figure's width."""
    fig = ax.figure
    fig.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    area = ax.get_window_extent()  # the data area (the axes patch)
    assert legend.x0 >= area.x1
    assert legend.x1 <= fig.bbox.x1 + 1
    assert not legend.overlaps(area)
    assert area.width > 0.3 * fig.bbox.width


def test_gap_legend_sits_outside_the_lines_in_a_new_and_a_given_figure():
    import matplotlib.pyplot as plt

    from c2c_analysis import load_sample
    from c2c_analysis.equity import gaps
    from c2c_analysis.plotting import plot_gaps

    race = load_sample("outcomes").query(
        "partnership == 'tacoma' and outcome == 'hs_graduation' and dimension == 'race_ethnicity'"
    )
    table = gaps(race, reference="White")
    _assert_legend_outside_the_lines(plot_gaps(table))
    # The report's figures: made by the caller with constrained layout, at their size.
    _, ax = plt.subplots(figsize=(6.4, 3.4), layout="constrained")
    _assert_legend_outside_the_lines(plot_gaps(table, ax=ax))
    plt.close("all")


def test_spc_legend_sits_outside_the_lines():
    import matplotlib.pyplot as plt

    from c2c_analysis.plotting import plot_spc
    from c2c_analysis.spc import control_chart

    data = pd.DataFrame(
        {"x": range(1, 13), "y": [10.0, 11, 10, 12, 11, 10, 40, 11, 10, 12, 11, 10]}
    )
    _assert_legend_outside_the_lines(plot_spc(control_chart(data, y="y", x="x", chart="i")))
    plt.close("all")


def test_figures_the_caller_made_keep_their_layout():
    # Given axes, plotting functions draw on them and leave the figure's layout alone.
    import matplotlib.pyplot as plt

    from c2c_analysis.plotting import plot_spc_grid, plot_trends
    from c2c_analysis.spc import spc_table

    fig, ax = plt.subplots()
    before = fig.subplotpars.left
    data = pd.DataFrame(
        {"year": [2010, 2011], "group": ["A", "A"], "numerator": [1, 2], "denominator": [4, 4]}
    )
    plot_trends(data, ax=ax)
    assert fig.get_layout_engine() is None
    assert fig.subplotpars.left == before
    table = spc_table(
        pd.DataFrame({"s": ["a"] * 6 + ["b"] * 6, "x": list(range(6)) * 2, "y": range(12)}),
        by=["s"],
        y="y",
        x="x",
    )
    fig2, panels = plt.subplots(1, 3)
    axes = plot_spc_grid(table, by=["s"], ax=panels)
    assert axes.shape == (1, 3)
    assert list(axes.flat) == list(panels)
    assert [ax.get_visible() for ax in panels] == [True, True, False]
    assert fig2.get_layout_engine() is None
    with pytest.raises(ValueError, match="2 panels but was given 1 Axes"):
        plot_spc_grid(table, by=["s"], ax=panels[0])
    plt.close("all")


def test_spc_grid_takes_the_spc_result_and_its_series():
    import matplotlib.pyplot as plt

    from c2c_analysis.plotting import plot_spc_grid
    from c2c_analysis.spc import spc_table

    data = pd.DataFrame({"s": ["a"] * 6 + ["b"] * 6, "x": list(range(6)) * 2, "y": range(12)})
    result = spc_table(data, by=["s"], y="y", x="x")
    axes = plot_spc_grid(result, ncols=2)
    titles = [ax.get_title() for ax in axes.flat]
    assert titles == [ax.get_title() for ax in plot_spc_grid(result.table, by="s", ncols=2).flat]
    assert sorted(titles) == ["a", "b"]
    plt.close("all")


def test_spc_grid_of_a_result_follows_its_better_direction_and_percent_axis():
    # A result carries its better direction and whether it charts proportions: the grid
    # draws them as plot_spc does, without being told again.
    import matplotlib.pyplot as plt

    from c2c_analysis.plotting import plot_spc_grid
    from c2c_analysis.spc import spc_table

    rows = {"s": ["a"] * 12, "x": range(12), "n": 100}
    y = [20, 21, 19, 20, 22, 20, 21, 19, 20, 60, 21, 20]  # one point far above the limits
    result = spc_table(
        pd.DataFrame({**rows, "y": y}), by="s", y="y", n="n", x="x", chart="p", better="lower"
    )
    (ax,) = plot_spc_grid(result, ncols=1).flat
    labels = [line.get_label() for line in ax.lines]
    assert any(label.endswith("(concern)") for label in labels), labels
    assert ax.yaxis.get_major_formatter()(0.2, 0).endswith("%")
    plt.close("all")


def test_notebook_shows_figures_made_here_at_their_own_size():
    # In IPython, set_theme(figure_format="svg") draws figures made here once at their
    # size (8 x 4.5 in = 576 x 324 pt); other figures are cropped to their contents.
    import re

    import matplotlib.pyplot as plt
    from IPython.core.interactiveshell import InteractiveShell

    from c2c_analysis.plotting import set_theme

    shell = InteractiveShell.instance()
    try:
        set_theme(figure_format="svg")
        _, fig = next(iter(_single_axes_figures()))
        svg = shell.display_formatter.format(fig)[0]["image/svg+xml"]
        assert re.search(r'width="576pt" height="324pt"', svg)
        other, ax = plt.subplots(figsize=(8, 4.5))
        ax.set_ylabel("y")
        svg = shell.display_formatter.format(other)[0]["image/svg+xml"]
        assert not re.search(r'width="576pt" height="324pt"', svg)  # cropped
    finally:
        InteractiveShell.clear_instance()
        plt.close("all")


def _first_point(text, group):
    found = re.search(rf'<g id="{group}">\s*<path d="M ([-0-9.]+) ([-0-9.]+)', text)
    return float(found.group(1)), float(found.group(2))


def _svg_size(text):

    found = re.search(r'<svg\b[^>]*\swidth="([0-9.]+)pt" height="([0-9.]+)pt"', text)
    return float(found.group(1)), float(found.group(2))


@pytest.mark.parametrize("legend_outside", [False, True])
def test_figure_svg_crops_as_matplotlibs_tight_crop_in_one_draw(legend_outside):
    import io

    import matplotlib.pyplot as plt

    from c2c_analysis.plotting import figure_svg

    def make():
        fig, ax = plt.subplots(figsize=(4, 3))
        ax.plot(
            [2015, 2016, 2017], [0.5, 0.55, 0.61], label="Native Hawaiian/Other Pacific Islander"
        )
        ax.set_title("Early grade reading")
        ax.set_ylabel("Rate")
        if legend_outside:  # as the gap charts place it, beyond the figure's right edge
            ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1))
        return fig

    fig = make()
    draws = []
    fig.canvas.mpl_connect("draw_event", lambda event: draws.append(event))
    ours = figure_svg(fig)
    assert len(draws) == 1
    buffer = io.StringIO()
    reference = make()
    reference.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(reference)
    assert _svg_size(ours) == pytest.approx(_svg_size(buffer.getvalue()), abs=1e-3)
    # The same drawing seen through the view: each point, less the view's origin, lies
    # where matplotlib's cropped drawing puts it (the axes' background, for one).
    origin = [float(v) for v in re.search(r'viewBox="([-0-9.]+) ([-0-9.]+)', ours).groups()]
    ours_corner = _first_point(ours, "patch_2")
    tight_corner = _first_point(buffer.getvalue(), "patch_2")
    assert ours_corner[0] - origin[0] == pytest.approx(tight_corner[0], abs=0.05)
    assert ours_corner[1] - origin[1] == pytest.approx(tight_corner[1], abs=0.05)
    head = ours[ours.index("<svg") : ours.index("<metadata")]
    assert 'fill="#ffffff"' in head  # the background covers the whole view
    assert "<dc:date>" not in ours  # the same figure gives the same bytes
    assert figure_svg(make()) == ours


def test_figure_svg_leaves_a_transparent_figure_transparent():
    import matplotlib.pyplot as plt

    from c2c_analysis.plotting import figure_svg

    fig, ax = plt.subplots()
    fig.patch.set_alpha(0)
    ax.plot([0, 1])
    with plt.rc_context({"savefig.facecolor": "none"}):
        text = figure_svg(fig)
    assert "<rect" not in text[: text.index("<metadata")]
