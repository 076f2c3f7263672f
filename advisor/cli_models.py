"""`advisor models`: list, show, promote and roll back versions in the model registry."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.markdown import Markdown
from rich.table import Table

from advisor.errors import AdvisorError
from advisor.predict.registry import ModelVersion, Registry
from advisor.settings import get_settings

models_app = typer.Typer(help="The model registry: versions, promotion, rollback.")
console = Console()
err = Console(stderr=True)
PREFERRED_SPLITS = ("stratified", "report", "test", "held_out")


def _registry() -> Registry:
    """The registry of the configured var dir."""
    return Registry.from_settings(get_settings())


def _fail(exc: AdvisorError) -> typer.Exit:
    """Print a registry error and return exit code 2."""
    err.print(f"[bold red]error:[/] {exc}")
    return typer.Exit(2)


@models_app.command("list")
def list_models() -> None:
    """Every registered model with its versions and the promoted one."""
    reg = _registry()
    names = reg.names()
    if not names:
        console.print(f"no models registered in {reg.root}; train one with `advisor train`")
        return
    table = Table("model", "versions", "promoted", "created", "metrics")
    for name in names:
        versions, current = reg.versions(name), reg.promoted(name)
        latest = current or versions[-1]
        table.add_row(
            name,
            ", ".join(str(v.version) for v in versions),
            str(current.version) if current else "-",
            str(latest.meta.get("created_at", "")),
            _headline(latest),
        )
    console.print(table)


def _headline(model: ModelVersion) -> str:
    """Up to four figures of the version's main hold-out, e.g. 'stratified: roc_auc 0.8, ...'."""
    metrics = model.meta.get("metrics", {})
    if not isinstance(metrics, dict):
        return ""
    nested = {k: v for k, v in metrics.items() if isinstance(v, dict)}
    split = next((k for k in PREFERRED_SPLITS if k in nested), next(iter(nested), ""))
    figures = nested.get(split, metrics)
    shown = [f"{k} {v}" for k, v in figures.items() if isinstance(v, int | float)][:4]
    return f"{split}: " * bool(split) + ", ".join(shown)


@models_app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="Model name, e.g. offer-response")],
    version: Annotated[int | None, typer.Option(help="Version (default: the promoted one)")] = None,
) -> None:
    """A version's meta.json and model card."""
    reg = _registry()
    try:
        model = reg.promoted(name) if version is None else _version(reg, name, version)
        if model is None:
            raise _missing(reg, name)
    except AdvisorError as exc:
        raise _fail(exc) from None
    current = reg.promoted(name)
    state = "promoted" if current and current.version == model.version else "not promoted"
    console.print(f"[bold]{name} v{model.version}[/] ({state}) {model.path}")
    console.print_json(json.dumps(model.meta, default=str))
    console.print(Markdown(model.card or "_no model card_"))


def _version(reg: Registry, name: str, version: int) -> ModelVersion:
    """One version, with a clear error for an unknown name or number."""
    if name not in reg.names():
        raise _missing(reg, name)
    return reg.version(name, version)


def _missing(reg: Registry, name: str) -> AdvisorError:
    """The error for a model name with nothing registered or promoted."""
    known = ", ".join(reg.names()) or "none"
    return AdvisorError(f"no model {name!r} is registered or promoted (registered: {known})")


@models_app.command("promote")
def promote(
    name: Annotated[str, typer.Argument(help="Model name")],
    version: Annotated[int, typer.Argument(help="Version to serve")],
) -> None:
    """Serve VERSION of NAME from now on."""
    reg = _registry()
    try:
        if name not in reg.names():
            raise _missing(reg, name)
        model = reg.promote(name, version)
    except AdvisorError as exc:
        raise _fail(exc) from None
    console.print(f"{name}: version {model.version} promoted")


@models_app.command("rollback")
def rollback(name: Annotated[str, typer.Argument(help="Model name")]) -> None:
    """Serve the version promoted before the current one again."""
    reg = _registry()
    try:
        model = reg.rollback(name)
    except AdvisorError as exc:
        raise _fail(exc) from None
    console.print(f"{name}: rolled back to version {model.version}")


@models_app.command("monitor")
def monitor(
    as_json: Annotated[bool, typer.Option("--json", help="The report as JSON")] = False,
    threshold: Annotated[
        float, typer.Option(min=0.0, help="PSI at which a feature (or the score) alarms")
    ] = 0.2,
) -> None:
    """PSI per feature and calibration drift of every promoted model on today's customers;
    exit 1 when any alarm fires (advisor/ops/monitor.py)."""
    from advisor.ops.monitor import as_json as report_of
    from advisor.ops.monitor import monitor as measure
    from advisor.ops.monitor_report import print_report

    try:
        report = report_of(measure(get_settings(), threshold), threshold)
    except AdvisorError as exc:
        raise _fail(exc) from None
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        print_report(console, report)
    if report["alarm"]:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add `advisor models ...` to the CLI."""
    app.add_typer(models_app, name="models")
