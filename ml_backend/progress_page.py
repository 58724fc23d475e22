"""The progress page: tables and inline SVG plots of `progress.ProjectProgress`.

Plots are drawn with matplotlib (Agg, no display) into SVG text that the
template inlines next to its table, so the page is one self-contained
response behind the backend's basic auth.
"""

from __future__ import annotations

import io
import re
from typing import Any

from flask import render_template

from ml_backend import lsclient
from ml_backend.progress import ProjectProgress, Tally, compute


def pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def num(x: float | None, digits: int = 2) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def tally_rows(tallies: dict[Any, Tally], key=None) -> list[dict[str, Any]]:
    """Rows {name, shown, ticked, share} sorted by name (or `key`)."""
    names = sorted(tallies, key=key or (lambda n: str(n)))
    return [
        {
            "name": n,
            "shown": tallies[n].shown,
            "ticked": tallies[n].ticked,
            "share": pct(tallies[n].share),
        }
        for n in names
    ]


def bar_svg(rows: list[dict[str, Any]], title: str, xlabel: str) -> str:
    """A bar chart of each row's tick share, as inline SVG ("" without rows)."""
    rows = [r for r in rows if r["shown"]]
    if not rows:
        return ""
    labels = [str(r["name"]) for r in rows]
    shares = [100 * r["ticked"] / r["shown"] for r in rows]
    return _plot(lambda ax: ax.bar(labels, shares, color="#4c72b0"), title, xlabel, "ticked (%)")


def hist_svg(values: list[int], title: str, xlabel: str) -> str:
    """A histogram of whole numbers, as inline SVG ("" without values)."""
    if not values:
        return ""
    bins = range(min(values), max(values) + 2)
    return _plot(
        lambda ax: ax.hist(values, bins=bins, color="#55a868", align="left"), title, xlabel, "tasks"
    )


def _plot(draw, title: str, xlabel: str, ylabel: str) -> str:
    """One small matplotlib figure drawn by `draw(ax)`, as inline SVG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(4.2, 2.6), dpi=100)
    try:
        draw(ax)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(xlabel, fontsize=9)
        ax.set_ylabel(ylabel, fontsize=9)
        ax.tick_params(labelsize=8)
        fig.tight_layout()
        buf = io.StringIO()
        fig.savefig(buf, format="svg")
    finally:
        plt.close(fig)
    return _inline(buf.getvalue())


def _inline(svg: str) -> str:
    """SVG text without its XML prolog and DOCTYPE, ready to sit inside HTML."""
    return re.sub(r"^.*?(<svg\b)", r"\1", svg, count=1, flags=re.S)


def project_view(p: ProjectProgress) -> dict[str, Any]:
    """What the template shows for one project."""
    versions = tally_rows(p.by_version)
    for row in versions:
        row["resolved"] = p.resolved_by_version.get(row["name"], 0)
    temps = tally_rows(p.by_temperature, key=float)
    prompts = tally_rows(p.by_prompt)
    people = tally_rows(p.by_annotator)
    for row in people:
        row["annotations"] = p.annotations_by.get(row["name"], 0)
    a = p.agreement
    return {
        "id": p.project,
        "title": p.title,
        "tasks": p.tasks,
        "annotated": p.annotated,
        "resolved": p.resolved,
        "none_fits": p.none_fits,
        "rv": pct(p.rv),
        "mean_distinct": num(p.mean_distinct, 1),
        "rounds": [{**r, "seconds": num(r["seconds"], 1)} for r in p.rounds],
        "versions": versions,
        "temperatures": temps,
        "prompts": prompts,
        "annotators": people,
        "agreement": {
            "n": a.n,
            "both": a.both,
            "critic_only": a.critic_only,
            "people_only": a.people_only,
            "neither": a.neither,
            "precision": pct(a.precision),
            "recall": pct(a.recall),
            "kappa": num(a.kappa),
        }
        if a.n
        else None,
        "plots": {
            "versions": bar_svg(versions, "Shown candidates ticked, per version", "version"),
            "temperatures": bar_svg(temps, "Ticked, per temperature", "temperature"),
            "prompts": bar_svg(prompts, "Ticked, per explanation prompt", "prompt"),
            "distinct": hist_svg(p.distinct, "Distinct candidates per task", "candidates"),
        },
        "seconds": num(p.seconds, 2),
    }


def collect(model: Any, projects: list[int]) -> list[ProjectProgress]:
    """Each project's figures, its tasks streamed from Label Studio page by page."""
    client = model.jobs.ls.client
    names = {uid: email for uid, email in lsclient.user_emails(client).items()}
    out = []
    for pid in projects:
        out.append(
            compute(
                pid,
                lsclient.iter_tasks(client, pid),
                model.jobs.store.load(pid).rounds,
                model.jobs.ls.labels(pid),
                names,
                lsclient.project_title(client, pid),
            )
        )
    return out


def render(projects: list[ProjectProgress], generated_at: str, cache_seconds: float) -> str:
    return render_template(
        "progress.html",
        projects=[project_view(p) for p in projects],
        generated_at=generated_at,
        cache_seconds=int(cache_seconds),
    )
