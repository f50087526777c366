"""The pages a person reads about a model version: its evaluation, champion vs challenger, its card.

HTML pages stand alone (plots inlined as PNG) so the ZenML dashboard can show them as they are;
the card is Markdown, readable in the dashboard, in MLflow and in a text editor.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

from core.evaluation import Evaluation, png_data_uri
from core.metrics import LOWER_IS_BETTER, passes_gate
from core.promotion import Champion, PromotionConfig, PromotionDecision

STYLE = (
    "<style>body{font-family:sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;"
    "margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.3em .7em;text-align:right}"
    "th:first-child,td:first-child{text-align:left}.no{color:#b00}.yes{color:#070}"
    "figure{display:inline-block;margin:0 1em 1em 0}</style>"
)
TITLES = {
    "confusion_matrix": "Confusion matrix",
    "roc_curve": "ROC curve",
    "precision_recall_curve": "Precision-recall curve",
    "calibration_curve": "Calibration curve",
    "permutation_importance": "Permutation importance",
}


def _page(title: str, body: str) -> str:
    head = f"<meta charset='utf-8'><title>{escape(title)}</title>{STYLE}"
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>"


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(cell)}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def evaluation_html(title: str, metrics: dict[str, float], evaluation: Evaluation, rows: int) -> str:
    """Metrics, then every plot, then what could not be computed and why."""
    parts = [
        f"<h1>{escape(title)}</h1>",
        f"<p>{rows} held-out rows; classes: {escape(', '.join(evaluation.numbers['classes']))}</p>",
    ]
    parts.append(
        _table(["metric", "value"], [[escape(name), _number(value)] for name, value in metrics.items()])
    )
    for name, png in evaluation.plots.items():
        parts.append(
            f"<figure><img alt='{escape(TITLES[name])}' src='{png_data_uri(png)}'>"
            f"<figcaption>{escape(TITLES[name])}</figcaption></figure>"
        )
    if evaluation.unavailable:
        parts.append("<h2>Not computed for this data</h2><ul>")
        parts += [
            f"<li>{escape(TITLES[name])}: {escape(why)}</li>" for name, why in evaluation.unavailable.items()
        ]
        parts.append("</ul>")
    return _page(title, "".join(parts))


def promotion_html(
    version: str,
    challenger: dict[str, float],
    champion: Champion | None,
    config: PromotionConfig,
    decision: PromotionDecision,
) -> str:
    """Both versions' metrics on the same held-out data side by side, the gates and the verdict."""
    champion_metrics: dict[str, float] = (champion.metrics or {}) if champion else {}
    gates: dict[str, float] = {str(name): value for name, value in config.gates.items()}
    champion_header = f"production (version {champion.version})" if champion else "production (none)"
    rows = []
    for name in sorted(set(challenger) | set(champion_metrics) | set(gates)):
        gate = gates.get(name)
        if gate is None:
            gate_cell = ""
        else:
            bound = "max" if name in LOWER_IS_BETTER else "min"
            passed = name in challenger and passes_gate(name, challenger[name], gate)  # type: ignore[arg-type]
            outcome = "<span class='yes'>passed</span>" if passed else "<span class='no'>failed</span>"
            gate_cell = f"{bound} {gate} {outcome}"
        marker = " (decides)" if name == config.metric else ""
        rows.append(
            [
                escape(name + marker),
                _number(challenger.get(name)),
                _number(champion_metrics.get(name)),
                gate_cell,
            ]
        )
    verdict = "promoted to production" if decision.promoted else "not promoted"
    notes = ""
    if champion is not None and champion.error:
        notes = f"<p>Production could not be evaluated on this data: {escape(champion.error)}</p>"
    body = (
        f"<h1>Champion vs challenger: version {escape(version)}</h1>"
        f"<p>Both evaluated on this run's held-out data. Deciding metric: {escape(config.metric)}"
        f"{' (lower is better)' if config.metric in LOWER_IS_BETTER else ''}.</p>"
        + _table(["metric", f"this version ({version})", champion_header, "gate"], rows)
        + notes
        + f"<h2 class='{'yes' if decision.promoted else 'no'}'>Verdict: {verdict}</h2>"
        f"<p>{escape(decision.reason)}</p>"
    )
    return _page(f"Promotion of version {version}", body)


@dataclass(frozen=True)
class CardFacts:
    """What a model card says, gathered by the step that writes it."""

    model: dict[
        str, Any
    ]  # name, version, description, audience, use_cases, limitations, ... as ZenML keeps them
    metrics: dict[str, float]
    test_rows: int
    data: dict[str, Any]  # source, rows, columns, target, class counts (and lineage where there is some)
    top_features: list[tuple[str, float]]
    plots: list[str]
    unavailable: dict[str, str]
    decision: PromotionDecision
    training: dict[str, Any]  # estimator, parameters, MLflow run, pipeline run


def model_card_markdown(facts: CardFacts) -> str:
    model = facts.model
    lines = [f"# Model card: {model['name']}, version {model['version']}", ""]
    if model.get("description"):
        lines += [str(model["description"]), ""]
    overview = {"License": model.get("license"), "Tags": ", ".join(model.get("tags") or []) or None}
    lines += [f"- **{key}**: {value}" for key, value in overview.items() if value] + [""]
    for heading, key in (
        ("Intended use", "use_cases"),
        ("Audience", "audience"),
        ("Limitations", "limitations"),
        ("Trade-offs", "trade_offs"),
        ("Ethical considerations", "ethics"),
    ):
        if model.get(key):
            lines += [f"## {heading}", "", str(model[key]).strip(), ""]
    lines += [f"## Metrics (held-out, {facts.test_rows} rows)", "", "| metric | value |", "|---|---|"]
    lines += [f"| {name} | {value:.4f} |" for name, value in facts.metrics.items()] + [""]
    lines += ["## Evaluation", ""]
    if facts.plots:
        shown = ", ".join(TITLES[name].lower() for name in facts.plots)
        lines += [
            f"Plots ({shown}) are in the ZenML artifact `evaluation_report` of this version and under "
            "`evaluation/` in its MLflow run.",
            "",
        ]
    lines += [f"- {TITLES[name]} not computed: {why}" for name, why in facts.unavailable.items()]
    lines += [""] if facts.unavailable else []
    if facts.top_features:
        lines += ["Most important features (drop in score when shuffled):", ""]
        lines += [f"1. {name} ({value:.4f})" for name, value in facts.top_features] + [""]
    lines += ["## Data", ""]
    lines += [f"- **{key}**: {_inline(value)}" for key, value in facts.data.items()] + [""]
    decision = facts.decision
    lines += [
        "## Promotion",
        "",
        f"**{'Promoted to production' if decision.promoted else 'Not promoted'}**: {decision.reason}",
        "",
    ]
    if decision.champion_version is not None:
        lines += [
            f"- {decision.metric}: this version {_number(decision.challenger_score)}, "
            f"production version {decision.champion_version} {_number(decision.champion_score)}",
            "",
        ]
    lines += ["## Training", ""]
    lines += [f"- **{key}**: {_inline(value)}" for key, value in facts.training.items() if value is not None]
    return "\n".join(lines) + "\n"


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{key}: {item}" for key, item in value.items())
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)
