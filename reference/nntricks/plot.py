"""Plotting helpers for the notebooks (provided). Each draws on a matplotlib
``Axes`` (a new figure when ``ax`` is None) and returns it."""

import matplotlib.pyplot as plt
from matplotlib.colors import LogNorm
import numpy as np


def _ax(ax, figsize=(5, 3.5)):
    return plt.subplots(figsize=figsize)[1] if ax is None else ax


def curves(history, keys=("train_loss", "val_loss"), ax=None, title=None, label=""):
    """Loss (or accuracy) per epoch from a :class:`nntricks.train.History`; marks the best epoch."""
    ax = _ax(ax)
    for key in keys:
        if history.get(key):
            ax.plot(np.arange(1, len(history[key]) + 1), history[key], label=f"{label}{key.replace('_', ' ')}")
    if history.get("best_epoch") is not None:
        ax.axvline(history["best_epoch"] + 1, color="grey", ls=":", label="best epoch")
    ax.set(xlabel="epoch", ylabel=keys[0].split("_")[-1], title=title)
    ax.legend()
    return ax


def paths(surface, trajectories, ax=None, title=None, levels=30, highlight=None, extent=None, marks=10,
          legend=True):
    """Optimizer trajectories (``{name: path (T, 2)}``) over the contours of a 2-D surface.

    Path ``i`` is drawn in colour ``C{i}`` with an open marker every ``1/marks`` of the run (their
    spacing shows the speed) and a dot with a black edge where it ends.

    Args:
        surface: a :class:`nntricks.surfaces.Surface`.
        trajectories: ``{name: path of shape (T, 2)}``.
        highlight: the name of one path to draw in colour; the others go in light grey behind it.
        extent: ``(xmin, xmax, ymin, ymax)`` to zoom on (default ``surface.extent``).
        marks: open markers per path (0 for none).
        legend: a legend outside the axes, on the right (False: none).
    """
    ax = _ax(ax, (6, 4))
    extent = surface.extent if extent is None else extent
    X, Y, Z = surface.grid(extent=extent)
    ax.contour(X, Y, np.log1p(Z - Z.min()), levels=levels, cmap="Greys", linewidths=0.6)
    order = sorted(enumerate(trajectories.items()), key=lambda item: item[1][0] == highlight)  # highlight on top
    for i, (name, path) in order:
        faint = highlight is not None and name != highlight
        color = "0.75" if faint else f"C{i}"
        every = max(1, (len(path) - 1) // marks) if marks else None
        ax.plot(path[:, 0], path[:, 1], "-", lw=0.8 if faint else 1.3, color=color, zorder=1 if faint else 3,
                marker="o" if every else None, markevery=every, ms=4, mfc="none", label=None if faint else name)
        ax.plot(*path[-1], "o", color=color, ms=6, mec="k" if not faint else color, zorder=4 if not faint else 2)
    if surface.minimum is not None:
        ax.plot(*surface.minimum, "k*", ms=12, zorder=5, label="minimum")
    ax.set(xlim=extent[:2], ylim=extent[2:], xlabel="$w_0$", ylabel="$w_1$", title=title or surface.name)
    if legend:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0)
    return ax


def histograms(activations, axes=None, title=None, bins=50, range=(-1, 1)):
    """One histogram per layer for a list of activation arrays (layer 1 on the left)."""
    if axes is None:
        axes = plt.subplots(1, len(activations), figsize=(2.2 * len(activations), 2.2), sharey=True)[1]
    for i, (ax, a) in enumerate(zip(np.atleast_1d(axes), activations)):
        counts, edges = np.histogram(np.ravel(a), bins=bins, range=range)
        ax.stairs(counts, edges, fill=True, color="C0")  # one patch, fast for many panels
        ax.set_title(f"layer {i + 1}\nstd {np.std(a):.2g}", fontsize=9)
        ax.set_yticks([])
    if title:
        np.atleast_1d(axes)[0].figure.suptitle(title, y=1.08)
    return axes


def images(imgs, labels=None, ncols=10, title=None):
    """A grid of grey images of shape (N, H, W) with optional labels."""
    n = len(imgs)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * 0.9, nrows * 1.0))
    for i, ax in enumerate(np.ravel(axes)):
        ax.axis("off")
        if i < n:
            ax.imshow(imgs[i], cmap="gray_r")
            if labels is not None:
                ax.set_title(str(labels[i]), fontsize=8)
    if title:
        fig.suptitle(title)
    return axes


def heatmap(values, rows, cols, row_label, col_label, ax=None, title=None, fmt="{:.3f}", log=False):
    """A table of numbers (``values[i, j]`` for ``rows[i]``, ``cols[j]``) as a coloured grid, best (lowest) darkest.

    ``log=True`` colours on a log scale, so that one diverged run does not flatten the others.
    """
    ax = _ax(ax, (1.2 * len(cols) + 1.5, 0.8 * len(rows) + 1.2))
    values = np.asarray(values, dtype=float)
    norm = LogNorm(np.nanmin(values), np.nanmax(values)) if log else None
    im = ax.imshow(values, cmap="viridis", norm=norm)
    ax.set_xticks(range(len(cols)), [str(c) for c in cols])
    ax.set_yticks(range(len(rows)), [str(r) for r in rows])
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=8,
                color="white" if v < np.nanmedian(values) else "black")  # white on the dark (low) end
    ax.set(xlabel=col_label, ylabel=row_label, title=title)
    ax.figure.colorbar(im, ax=ax)
    return ax
