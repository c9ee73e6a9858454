"""The `microdrama` command line."""

from __future__ import annotations

import gc as python_gc  # `gc` is the command that collects the cache
import json
import os
import shutil
import signal
import sys
from pathlib import Path
from functools import cache
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from .core.errors import BackendUnavailable, ConfigError, InputError, MicrodramaError, Problem
from .core.vocabulary import CameraMove, Severity, ShotType

# `microdrama --help` imports the lines above and nothing else: each command imports what it runs
# (the application, pydantic, numpy, the graphs) in its own body.
if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from microdrama.agents.writer import SeriesFormat
    from .app import Project
    from .core.models import Episode, Finding, FramedCharacter, Series
    from .core.results import AuditSummary, ShotRender
    from .graph.state import RenderRequest
    from .render.estimate import Estimate
    from .review.cost import CostReport, Spend, Spent
    from .review.fix_loop import FixReport
    from .review.status import SeriesStatus

app = typer.Typer(
    help="Turn a Fountain screenplay into a reviewed production plan and finished micro-drama "
    "episodes.\n\nExample: microdrama plan episodes/rooftop-frequencies --yes",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # Click's plain help: Typer's rich help imports rich and markdown-it, which alone take longer
    # than the 0.3 s `microdrama --help` may.
    rich_markup_mode=None,
    context_settings={"max_content_width": 120},
)


@cache
def console() -> Console:
    """Standard output, made on first use (rich takes longer to import than the rest of
    `--help`). Piped output (CI logs, files) gets a readable width instead of rich's 80 columns."""
    from rich.console import Console

    return Console(width=max(shutil.get_terminal_size((140, 40)).columns, 100))


@cache
def err() -> Console:
    from rich.console import Console

    return Console(stderr=True)


def escape(text: str) -> str:
    """Text shown as it is, not read as rich markup."""
    from rich.markup import escape as escape_markup

    return escape_markup(text)


def _table(title: str, columns: tuple[str, ...] = ()) -> Table:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    return table

RootOption = Annotated[Path, typer.Option("--root", help="Folder that holds the series folders.")]
SeriesDir = Annotated[Path, typer.Argument(help="Series folder, e.g. episodes/rooftop-frequencies.")]
EpisodeMinutesOption = Annotated[Optional[float], typer.Option(
    min=0.5, max=15, help="Cut a long screenplay at scene boundaries into episodes of about N minutes "
    "(also: title page key 'Episode-Minutes:', or [run] episode_minutes in microdrama.toml).")]
LLMTimeoutOption = Annotated[Optional[float], typer.Option(
    "--llm-timeout", metavar="SECONDS",
    help="Seconds one LLM request may wait for its reply (a timed-out one is retried once); overrides "
    "timeout_s under [llm] in microdrama.toml (default 20).")]
ExecutorOption = Annotated[Optional[str], typer.Option(
    "--executor", metavar="local|ray",
    help="Where backend calls run: local (this process, the default) or ray (Ray actors, per "
    "[backends.actors]); overrides executor under [run].")]
RayAddressOption = Annotated[Optional[str], typer.Option(
    "--ray-address", metavar="ADDRESS",
    help='The Ray cluster: "auto" (the one this machine is in) or "ray://host:10001"; unset: a Ray started '
    "here for the run. Overrides ray_address under [run].")]


class RenderFailed(MicrodramaError):
    """Some shots or cues failed; the rest are rendered and cached."""


class AuditFailed(MicrodramaError):
    """`audit --strict` found errors."""


class BudgetReached(MicrodramaError):
    """The render's budget left work for the next render."""


class Interrupted(BaseException):
    """Ctrl-C. Raised instead of KeyboardInterrupt, which click would turn into "Aborted!" and
    exit status 1; a BaseException, so no `except Exception` on the way swallows it."""


def _interrupt(signum: int, frame: object) -> None:
    raise Interrupted


# Nearly everything a command holds lives until it exits: modules, the plan, the snapshot. With
# Python's default schedule (a full collection after every 10 of the middle generation) a one-line
# edit's `plan` and its `render` each walked that heap 4 times for nothing (0.3 s of a 2-6 s
# command), and once more at exit while the interpreter clears its modules (0.5 s). So full
# collections come a tenth as often, and the heap is frozen at exit (gc.freeze): a process about
# to end has nothing left to collect. Garbage without cycles is still freed at once.
MIDDLE_COLLECTIONS_PER_FULL = 100


def main() -> None:
    """Entry point: the project's errors become one line (MICRODRAMA_DEBUG=1 for a traceback);
    usage errors are click's own messages; Ctrl-C exits with status 130 and says how to resume
    (every finished step is already saved: checkpoints, atomic writes, kept LLM replies)."""
    signal.signal(signal.SIGINT, _interrupt)
    young, middle, _ = python_gc.get_threshold()
    python_gc.set_threshold(young, middle, MIDDLE_COLLECTIONS_PER_FULL)
    try:
        app()
    except Interrupted:
        err().print("interrupted — run the same command to resume", highlight=False)
        sys.exit(130)
    except MicrodramaError as exc:
        if os.environ.get("MICRODRAMA_DEBUG"):
            raise
        err().print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(1)
    finally:
        python_gc.freeze()


# --- helpers -----------------------------------------------------------------------------------


def _start_planning(project: Project, sources: list[str], fresh: bool, format: SeriesFormat | None) -> None:
    """Plan from screenplays, or write first from a synopsis (which needs an LLM endpoint: a
    missing one is reported before any call, with how to configure one)."""
    from microdrama.agents.writer import SeriesFormat
    from .core.store import SYNOPSIS_FILE

    if (sources == [SYNOPSIS_FILE] or project.settings.planner == "llm") and project.settings.llm_client is None:
        project.settings.llm.check_configured()
    if sources == [SYNOPSIS_FILE]:
        format = format or SeriesFormat()
    console().print(f"plan {project.plan(sources, fresh=fresh, format=format)}: {escape(str(project.folder.root))}")


def _seconds(frames: int, fps: int) -> str:
    return f"{frames / fps:.1f}s"


def _finding_style(finding: Finding) -> str:
    return {Severity.ERROR: "red", Severity.WARNING: "yellow"}.get(finding.severity, "dim")


def print_review(series: Series, episodes: list[Episode], findings: list[Finding], episode: str | None = None,
                 changed: set[str] | None = None) -> None:
    """The plan as tables, a row per scene and shot, with the findings. Given the ids `changed`
    since the approval, only those rows and the rows with findings are shown (a re-plan after an
    edit: what the edit changed), and the episodes left out are named."""
    from rich.table import Table

    from .core import ids
    from .plan.checks import blocking

    by_place: dict[str, list[Finding]] = {}
    for finding in findings:
        by_place.setdefault(finding.where, []).append(finding)

    def notes(*ids: str) -> str:
        found = [f for i in ids for f in by_place.get(i, [])]
        return "\n".join(f"[{_finding_style(f)}]{f.severity.value}: {escape(f.message)}[/]"
                         + (f" [dim]({escape(_file_line(f))})[/]" if f.file else "") for f in found)

    def shown(*ids: str) -> bool:
        return changed is None or any(i in changed or i in by_place for i in ids)

    names = {c.id: escape(c.name) for c in series.characters}
    unchanged = []
    for ep in episodes:
        if episode and ep.id != episode:
            continue
        rows = {s.id for s in ep.shots if shown(s.id, *(l.id for l in s.dialogue))}
        rows |= {s.id for s in ep.scenes if shown(s.id) or any(k.id in rows for k in s.shots)}
        if not rows:
            unchanged.append(ep.id)
            continue
        title = f"{ep.id} {escape(ep.title)} — {_count(len(ep.scenes), 'scene')}, {_count(len(ep.shots), 'shot')}, " \
                f"{_seconds(ep.duration_frames, series.fps)}"
        if changed is not None:
            title += f"; {_count(sum(1 for s in ep.shots if s.id in changed), 'shot')} changed since approval"
        table = Table(title=title, title_justify="left", show_lines=False)
        for column in ("id", "shot", "move", "dur"):
            table.add_column(column, no_wrap=True, justify="right" if column == "dur" else "left")
        table.add_column("in frame", ratio=1)
        table.add_column("action / dialogue", ratio=3)
        table.add_column("findings", ratio=2)
        for scene in (s for s in ep.scenes if s.id in rows):
            table.add_row(f"[bold]{scene.id}[/]", "scene", scene.mood.value,
                          _seconds(scene.duration_frames, series.fps),
                          ", ".join(names.get(c, c) for c in scene.characters),
                          f"[bold]{escape(scene.heading)}[/]", notes(scene.id))
            for shot in (k for k in scene.shots if k.id in rows):
                framed = ", ".join(f"{names.get(f.character, f.character)} ({f.position.value[0].upper()})" for f in shot.characters)
                said = "\n".join(f"{names.get(l.speaker, l.speaker)}{escape(f' ({l.extension})') if l.extension else ''}: "
                                 f"{escape(l.text)}" for l in shot.dialogue)
                action = escape(shot.action if len(shot.action) <= 90 else shot.action[:89] + "…")
                card = f"[italic]card: {escape(shot.title_card)}[/]" if shot.title_card else ""
                text = "\n".join(t for t in (action, card, said) if t)
                table.add_row(shot.id, shot.type.value, shot.move.value, _seconds(shot.duration_frames, series.fps),
                              framed, text, notes(shot.id, *(l.id for l in shot.dialogue)))
        console().print(table)
    if unchanged:
        console().print(f"unchanged since approval, without findings: {', '.join(unchanged)} "
                        "(`microdrama review` lists every shot)")
    errors = blocking(findings)
    warnings = [f for f in findings if f.severity == Severity.WARNING]
    # Findings about a whole episode, or about no row of the tables (the screenplay), go below them.
    elsewhere = [f for f in findings if not any(ids.contains(e.id, f.where) and f.where != e.id for e in episodes)]
    listed = {id(f) for f in errors}
    for finding in elsewhere:
        if id(finding) not in listed:
            console().print(f"[{_finding_style(finding)}]{finding.severity.value}[/] {escape(_placed(finding))}: "
                            f"{escape(finding.message)}", soft_wrap=True)
    for finding in errors:  # one line each, placed as a format error is: file:line: id: message
        console().print(f"[red]error[/] {escape(_placed(finding))}: {escape(finding.message)}", soft_wrap=True)
    console().print(f"findings: [red]{_count(len(errors), 'error')}[/] (block approval), "
                    f"[yellow]{_count(len(warnings), 'warning')}[/]")


def _file_line(finding: Finding) -> str:
    return f"{finding.file}:{finding.line}" if finding.line else str(finding.file)


def _placed(finding: Finding) -> str:
    """'plan/e01.yaml:42: e01s01k02' for a finding review placed in the files, else its id."""
    return f"{_file_line(finding)}: {finding.where}" if finding.file else finding.where


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _show_plan(project: Project, episode: str | None = None, since_approval: bool = False) -> list[Finding]:
    """The plan files as they are now (hand edits included) with the rule findings computed
    afresh, plus the LLM reviewer's findings from the run; `since_approval`: only what changed
    since the current approval, when there is one."""
    from .review.bible import cast_table, places_table

    plan = project.review()
    if episode is not None and episode not in {e.id for e in plan.episodes}:
        raise InputError(project.folder.root, Problem(
            f"no episode {episode!r}; the plan has {', '.join(e.id for e in plan.episodes)}", field="--episode"))
    console().print(cast_table(plan.series, plan.places))
    console().print(places_table(plan.series, plan.episodes, plan.places, project.folder.screenplays()))
    print_review(plan.series, plan.episodes, plan.findings, episode,
                 project.changed_since_approval(plan) if since_approval else None)
    _print_estimate_line(project, plan)
    return plan.findings


def _print_estimate_line(project: Project, plan) -> None:
    """One line under the review: what rendering these plan files would cost (`cost --estimate`)."""
    try:
        total = project.estimate(plan).total
    except InputError:  # an error the review has already named: no estimate until it is fixed
        return
    if not total.items:
        console().print("render: everything is cached")
        return
    unmeasured = f"; {total.unmeasured} never measured here" if total.unmeasured else ""
    console().print(f"render estimate: {total.items} artifacts to make, {total.seconds:.0f} s of backend time, "
                    f"{_money(total.usd, project.settings.cost.currency)}{unmeasured} (`microdrama cost --estimate`)")


def _after_planning(project: Project, yes: bool, episode: str | None = None) -> bool:
    """Show the plan under review and take the answer: --yes, a prompt on a terminal, or a hint
    of what to run next. Returns whether the plan is approved."""
    if not project.pending_review():
        if project.approved():
            console().print("this plan is already approved; `--fresh` plans again")
        return project.approved()
    _show_plan(project, episode, since_approval=True)
    if yes or (sys.stdin.isatty() and typer.confirm("Approve this plan?", default=False)):
        _approve(project)
        return True
    console().print(f"awaiting review: edit the plan files if you like, then `microdrama approve {escape(str(project.folder.root))}`")
    return False


def _approve(project: Project) -> None:
    approval = project.approve()
    episodes = approval.plan.episodes
    console().print(f"[green]approved[/] {_count(len(episodes), 'episode')}, {_count(sum(len(e.shots) for e in episodes), 'shot')} "
                    f"in {escape(str(project.folder.root))}")


def _render(project: Project, request: RenderRequest, yes: bool = False, fix_rounds: int | None = None) -> None:
    """Render and assemble with progress (bars on a terminal, plain lines in a log); name failed
    shots and exit non-zero on failure."""
    from .progress import PlainProgress, RichProgress

    progress = (RichProgress(console()) if console().is_terminal
                else PlainProgress(lambda line: console().print(line, highlight=False, soft_wrap=True)))

    def on_update(node: str, update: dict | None) -> None:
        if node == "start":  # the request is valid and the work is known: show progress from here
            progress.start(update)
        elif node in ("render_shot", "render_cue"):
            progress.add(update)
            for result in (update or {}).get("renders", []) + (update or {}).get("cues", []):
                if result.failed:
                    console().print(f"[red]failed[/] {result.id}: {escape(result.error or _line_errors(result))}")
        elif node == "assemble":
            progress.stop()

    try:
        outcome = project.render(request, yes=yes, on_update=on_update, fix_rounds=fix_rounds)
    finally:
        progress.stop()
    state = outcome.state
    if outcome.approved_now:
        console().print("[green]approved[/] the edited plan (--yes)")
    if outcome.unchanged:
        console().print("nothing changed since the last complete render (state/receipt.json): every shot, take "
                        "and cue is cached and every episode current")
    now = [r for r in state.renders if r.id in outcome.this_run]
    fresh = [r for r in now if not r.cached]
    earlier = len(state.renders) - len(now)
    console().print(f"shots: {len(fresh)} rendered, {len(now) - len(fresh)} from cache"
                    + (f", {earlier} finished by the interrupted run this one resumed" if earlier else ""))
    extra = sorted(r.id for r in fresh if not r.selected)
    if extra:
        console().print(f"[yellow]note[/] also rendered {_count(len(extra), 'stale shot')} outside the selection, "
                        f"needed to re-assemble their episodes: {', '.join(extra)}")
    for note in sorted({f"{r.id}: route to {r.backend} not used: {r.fallback}" for r in state.renders if r.fallback}):
        console().print(f"[yellow]note[/] {escape(note)}")
    if outcome.fix is not None:
        _print_fix(outcome.fix)
    _print_audits(state.audits, project.folder.root)
    if outcome.forecast is not None and outcome.spent is not None and (outcome.forecast.total.items or outcome.spent.seconds):
        _print_forecast(outcome.forecast, outcome.spent, project.settings.cost.currency)
    for output in state.outputs:  # last, so a run ends with the paths of the episodes
        if output.video:
            slates = f" [yellow](slates for {', '.join(output.failed_shots)})[/]" if output.failed_shots else ""
            console().print(f"[green]{escape(str(project.folder.root / output.video))}[/]{slates}")
        else:
            console().print(f"[red]{output.id} not assembled[/]: {escape(output.skipped or '')}")
    if outcome.deferred:
        done = sum(1 for r in state.renders if not r.deferred and not r.failed)
        raise BudgetReached(f"budget reached ({request.budget_usd} {project.settings.cost.currency}): {done} of "
                            f"{len(state.renders)} shots done, {len(outcome.deferred)} shots and cues left "
                            f"({', '.join(outcome.deferred[:8])}{' ...' if len(outcome.deferred) > 8 else ''}); "
                            "finished work is cached: `microdrama render` again continues")
    skipped = [o for o in state.outputs if o.skipped]
    if skipped or (outcome.failed and not project.settings.allow_failed):
        raise RenderFailed(f"{len(outcome.failed)} failed: {', '.join(outcome.failed)}; fix and re-run "
                           "`microdrama render` (finished shots are cached), or pass --allow-failed to assemble "
                           "with slates")


def _print_audits(summaries: list[AuditSummary], root: Path) -> None:
    if not summaries:
        return
    table = _table("audit", ("episode", "errors", "warnings", "skipped", "passed", "storyboard"))
    for item in summaries:
        board = next((f for f in item.files if f.endswith(".storyboard.html")), "")
        table.add_row(item.id, f"[red]{item.errors}[/]" if item.errors else "0",
                      f"[yellow]{item.warnings}[/]" if item.warnings else "0", str(item.skipped), str(item.passed),
                      escape(str(root / board)) if board else "")
    console().print(table)


def _print_fix(fix: FixReport) -> None:
    for number, shots in enumerate(fix.rerolled, start=1):
        console().print(f"fix round {number}: re-rendered {_count(len(shots), 'shot')} with their next take: "
                        f"{', '.join(shots)}")
    if not fix.rerolled:
        console().print("fix: no shot has a failure a re-roll can fix")
    for shot_id, problems in fix.unfixed.items():
        console().print(f"[yellow]still failing[/] {shot_id} (kept take {fix.kept[shot_id]}, its best): "
                        f"{escape('; '.join(problems))}")
    if fix.budget_stop:
        console().print("[yellow]fix: the budget stopped the re-rolls[/]; `microdrama render --fix` again continues")
    for place, hint in dict.fromkeys(fix.advice):
        console().print(f"[yellow]not a re-roll[/] {place}: {escape(hint)}")


def _money(usd: float, currency: str) -> str:
    return f"{usd:.4f} {currency}" if usd < 1 else f"{usd:.2f} {currency}"


def _print_forecast(forecast: Estimate, spent: Spent, currency: str) -> None:
    total = forecast.total
    unmeasured = f" ({total.unmeasured} of {total.items} artifacts unmeasured)" if total.unmeasured else ""
    ratio = f", actual/estimate {spent.seconds / total.seconds:.2f}" if total.seconds else ""
    console().print(f"backend time: estimated {total.seconds:.1f} s / {_money(total.usd, currency)}{unmeasured}, "
                    f"actual {spent.seconds:.1f} s / {_money(spent.usd, currency)}{ratio}")


def _line_errors(result: ShotRender) -> str:
    return "; ".join(line.error for line in result.lines if line.error)


# --- commands ----------------------------------------------------------------------------------


@app.command()
def plan(
    source: Annotated[Path, typer.Argument(help="A .fountain screenplay, a synopsis (.md/.txt), or a series folder.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Approve the plan without asking.")] = False,
    fresh: Annotated[bool, typer.Option(help="Start a new planning run even if one is unfinished.")] = False,
    slug: Annotated[Optional[str], typer.Option(help="Series folder name (default: from the title).")] = None,
    root: RootOption = Path("episodes"),
    llm_timeout: LLMTimeoutOption = None,
    episode_minutes: EpisodeMinutesOption = None,
) -> None:
    """Plan a series from a screenplay (or write it first from a synopsis) and stop at review.

    Writes episodes/SLUG/series.yaml (the bible) and plan/eNN.yaml (scenes and shots), then
    prints the review table. A run that was killed resumes where it stopped. A synopsis needs an
    LLM endpoint (see `microdrama new --help`); a screenplay needs none.

    Example: microdrama plan my_show.fountain --yes
    Example: microdrama plan feature.fountain --episode-minutes 3 --yes
    """
    from .app import Project, series_folder_for
    from .core.config import Settings

    folder, sources = series_folder_for(source, root, slug, episode_minutes)
    with Project(Settings.load(folder.root, llm_timeout_s=llm_timeout, episode_minutes=episode_minutes)) as project:
        _start_planning(project, sources, fresh, None)
        _after_planning(project, yes)


@app.command()
def review(
    series_dir: SeriesDir,
    episode: Annotated[Optional[str], typer.Option(help="Show one episode, e.g. e01.")] = None,
) -> None:
    """Validate the plan files (hand edits included) and print scenes, shots and findings.

    Example: microdrama review episodes/rooftop-frequencies --episode e01
    """
    from .app import Project
    from .core.config import Settings
    from .core.snapshot import edited_since_approval
    from .plan.checks import blocking

    with Project(Settings.load(series_dir)) as project:
        findings = _show_plan(project, episode)
        if edited_since_approval(project.folder):
            console().print("[yellow]edited since approval[/]: `microdrama approve` to render these files")
    if blocking(findings):
        raise typer.Exit(1)


@app.command()
def approve(series_dir: SeriesDir) -> None:
    """Approve the plan files as they stand (the plan under review, or hand edits made since the
    last approval); refused while continuity errors remain. Renders read only approved plans.

    Example: microdrama approve episodes/rooftop-frequencies
    """
    from .app import Project
    from .core.config import Settings

    with Project(Settings.load(series_dir)) as project:
        if not project.folder.exists():
            raise InputError(series_dir, "nothing planned here; run `microdrama plan` first")
        _approve(project)


@app.command()
def reject(
    series_dir: SeriesDir,
    note: Annotated[str, typer.Option(help="Why, for the record.")] = "",
) -> None:
    """Reject the plan under review; edit the screenplay and plan again.

    Example: microdrama reject episodes/rooftop-frequencies --note "too many inserts"
    """
    from .app import Project
    from .core.config import Settings

    with Project(Settings.load(series_dir)) as project:
        project.reject(note)
        console().print("rejected; `microdrama plan --fresh` plans again")


@app.command()
def schema(
    model: Annotated[str, typer.Argument(help="series, episode, or all.")] = "all",
) -> None:
    """Print the JSON Schema of the plan files (for editors and validators).

    Example: microdrama schema episode > episode.schema.json
    """
    from .core.models import Episode, Series

    schemas = {"series": Series.model_json_schema(), "episode": Episode.model_json_schema()}
    if model not in (*schemas, "all"):
        raise InputError(None, f"unknown schema {model!r}; choose series, episode or all")
    console().print_json(json.dumps(schemas if model == "all" else schemas[model], ensure_ascii=False))


@app.command()
def render(
    series_dir: SeriesDir,
    scene: Annotated[Optional[list[str]], typer.Option(help="Only this scene (repeatable), e.g. e01s03.")] = None,
    shot: Annotated[Optional[list[str]], typer.Option(help="Only this shot (repeatable), e.g. e01s03k02.")] = None,
    force: Annotated[bool, typer.Option(help="Re-render the selection even if its cache is valid.")] = False,
    allow_failed: Annotated[bool, typer.Option(help="Assemble with a labelled slate for each failed shot.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Approve plan files edited since approval first.")] = False,
    executor: ExecutorOption = None,
    ray_address: RayAddressOption = None,
    fix: Annotated[bool, typer.Option(help="After the audit, re-render with the next seed the shots whose failures "
                                      "a re-roll can fix ([audit] fix_rounds rounds, at least 1).")] = False,
    budget: Annotated[Optional[float], typer.Option(
        metavar="USD", min=0.0, help="Stop scheduling new work once the projected spend would pass this "
        "(overrides [cost] budget_usd); a later render continues.")] = None,
) -> None:
    """Render every shot, line and music cue of the approved plan and assemble the episodes.

    Unchanged shots come from the cache; only what changed is rendered. With --scene/--shot, that
    selection is rendered (with --force even if unchanged) and its episodes re-assembled (other
    stale shots of those episodes too, and the report names them). A render reads the approved
    plan: files edited since approval need `approve` (or --yes). A killed render resumes when
    the same command runs again.

    Example: microdrama render episodes/rooftop-frequencies --scene e01s02 --force
    """
    from .app import Project
    from .core.config import Settings
    from .graph.state import RenderRequest

    settings = Settings.load(series_dir, allow_failed=allow_failed or None, executor=executor, ray_address=ray_address)
    rounds = max(settings.audit.fix_rounds, 1) if fix else None
    with Project(settings) as project:
        _render(project, RenderRequest(scenes=scene, shots=shot, force=force, budget_usd=budget), yes=yes,
                fix_rounds=rounds)


@app.command()
def take(
    series_dir: SeriesDir,
    shot: Annotated[str, typer.Argument(help="Shot id, e.g. e01s02k03.")],
    use: Annotated[int, typer.Option("--use", min=1, help="The take to use (1: the shot's own seed).")],
) -> None:
    """Pin one of a shot's takes (the fix loop records them in the plan file, with the audit's
    score): the next render uses its picture, and the fix loop leaves the shot alone.

    Example: microdrama take episodes/rooftop-frequencies e01s02k03 --use 2
    """
    from .app import Project
    from .core.config import Settings

    with Project(Settings.load(series_dir)) as project:
        project.use_take(shot, use)
    console().print(f"[green]pinned[/] take {use} of {shot}; `microdrama render {escape(str(series_dir))} --yes` uses it")


@app.command()
def cost(
    series_dir: SeriesDir,
    estimate: Annotated[bool, typer.Option(help="Predict the time and money of rendering the approved plan "
                                           "(what is cached costs nothing).")] = False,
) -> None:
    """What the series has cost: backend seconds, GPU-hours, tokens and money at the [cost] rates
    of microdrama.toml, per shot, scene, episode and series, and per finished minute.

    Example: microdrama cost episodes/rooftop-frequencies --estimate
    """
    from .app import Project
    from .core.config import Settings

    settings = Settings.load(series_dir)
    with Project(settings) as project:
        if estimate:
            _print_estimate(project.estimate(), settings.cost.currency)
        else:
            _print_cost(project.cost())


def _print_estimate(forecast: Estimate, currency: str) -> None:
    table = _table("estimate: rendering the approved plan", ("backend", "artifacts", "frames", "backend s", "cost", "assumption"))
    for name, line in sorted(forecast.by_backend.items()):
        table.add_row(escape(name), str(line.items), str(line.frames),
                      f"{line.seconds:.1f}", _money(line.usd, currency), escape("; ".join(sorted(line.basis))))
    total = forecast.total
    table.add_row("total", str(total.items), str(total.frames), f"{total.seconds:.1f}", _money(total.usd, currency), "")
    console().print(table)
    console().print("backend seconds per frame of media, per backend and device, from the ledger of earlier renders "
                    "(state/ledger.jsonl); seconds are summed over parallel branches; assembly and audit not included")


def _spend_row(place: str, spend: Spend, report: CostReport, minutes: bool = False) -> list[str]:
    from .review.cost import HEADINGS

    row = [place, f"{spend.finished_frames / report.fps:.1f}", *(f"{spend.seconds[h]:.1f}" for h in HEADINGS),
           f"{spend.gpu_s / 3600:.4f}", _money(spend.usd, report.currency)]
    if minutes:
        per = report.per_finished_minute(spend)
        row.append(_money(per, report.currency) if per is not None else "-")
    return row


def _print_cost(report: CostReport) -> None:
    from .review.cost import HEADINGS

    columns = ("finished s", *(f"{h} s" for h in HEADINGS), "GPU-h", "cost")
    for title, rows in (("shots", report.shots), ("scenes", report.scenes)):
        table = _table(title, (title[:-1], *columns))
        for place, spend in rows.items():
            table.add_row(*_spend_row(place, spend, report))
        console().print(table)
    table = _table("episodes and series", ("", *columns, "per finished minute"))
    for place, spend in report.episodes.items():
        table.add_row(*_spend_row(place, spend, report, minutes=True))
    table.add_row(*_spend_row("series (render)", report.series, report, minutes=True))
    console().print(table)
    for tokens in report.tokens:
        console().print(f"LLM {escape(tokens.model)}: {tokens.calls} calls, {tokens.prompt} prompt + {tokens.completion} "
                        f"completion tokens, {_money(tokens.usd, report.currency)}")
    per = report.per_finished_minute(report.series, report.llm_usd)
    console().print(f"series total {_money(report.total_usd, report.currency)}"
                    + (f", {_money(per, report.currency)} per finished minute" if per is not None else
                     " (nothing assembled yet)"))


@app.command()
def produce(
    source: Annotated[Path, typer.Argument(help="A .fountain screenplay, or a series folder.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Approve the plan without asking.")] = False,
    slug: Annotated[Optional[str], typer.Option(help="Series folder name (default: from the title).")] = None,
    allow_failed: Annotated[bool, typer.Option(help="Assemble with a labelled slate for each failed shot.")] = False,
    root: RootOption = Path("episodes"),
    llm_timeout: LLMTimeoutOption = None,
    episode_minutes: EpisodeMinutesOption = None,
    executor: ExecutorOption = None,
    ray_address: RayAddressOption = None,
) -> None:
    """Plan, approve, render and assemble in one command; ends with the paths of the MP4 files.

    Example: microdrama produce episodes/rooftop-frequencies --yes
    """
    from .app import Project, series_folder_for
    from .core.config import Settings
    from .graph.state import RenderRequest

    folder, sources = series_folder_for(source, root, slug, episode_minutes)
    settings = Settings.load(folder.root, allow_failed=allow_failed or None, llm_timeout_s=llm_timeout,
                             episode_minutes=episode_minutes, executor=executor, ray_address=ray_address)
    with Project(settings) as project:
        _start_planning(project, sources, False, None)
        if _after_planning(project, yes):
            _render(project, RenderRequest(), yes=yes)


@app.command()
def backends(
    series_dir: Annotated[Optional[Path], typer.Argument(help="A series folder, to show its routing.")] = None,
) -> None:
    """List the media backends, whether each can run here, and why not.

    Example: microdrama backends episodes/rooftop-frequencies
    """
    from .core.config import Settings
    from .core.store import SeriesFolder
    from .render.backends import backend_statuses
    from .render.renderer import load
    from .render.routing import voice_backend_for
    from .review.sync_audit import syncnet_status

    table = _table("backends", ("name", "kind", "version", "available", "why not / extra"))
    for status in backend_statuses():
        table.add_row(status.name, status.kind, status.version, "[green]yes[/]" if status.available else "[red]no[/]",
                      escape(status.reason))
    console().print(table)
    if series_dir is None:
        return
    settings = Settings.load(series_dir)
    routes = _table(f"routing for {escape(str(series_dir))}", ("shots", "backend", "used"))
    for route in settings.backends.routes:
        try:
            load(route.video, "video", route.options)
            used = "[green]yes[/]"
        except (BackendUnavailable, ConfigError) as exc:
            used = f"[yellow]falls back to {settings.backends.video}[/]: {escape(str(exc))}"
        routes.add_row(", ".join(route.shot_types) or "all", route.video, used)
        if route.lipsync:
            try:
                load(route.lipsync, "lipsync", route.lipsync_options)
                used = "[green]yes[/]"
            except (BackendUnavailable, ConfigError) as exc:
                used = f"[red]no: its shots with lines seen spoken fail[/]: {escape(str(exc))}"
            routes.add_row(f"  lip-sync of {', '.join(route.shot_types) or 'all'}", route.lipsync, used)
    routes.add_row("other shots, title cards" if settings.backends.routes else "all", settings.backends.video, "yes")
    series = SeriesFolder(series_dir).load_series() if SeriesFolder(series_dir).exists() else None
    if series:
        try:
            voice = voice_backend_for(None, series.language, settings.backends)
        except ConfigError as exc:
            voice = f"[red]none[/]: {escape(str(exc))}"
        routes.add_row(f"voices ({series.language})", voice, "")
    routes.add_row("music", settings.backends.music, "")
    weights = settings.audit.syncnet_weights
    routes.add_row("lip sync, measured by the audit", f"SyncNet {escape(str(weights))}" if weights else "SyncNet",
                   escape(syncnet_status(settings.audit)))
    console().print(routes)


@app.command()
def new(
    synopsis: Annotated[Path, typer.Argument(help="The story: a synopsis in a .md or .txt file.")],
    episodes: Annotated[int, typer.Option(min=1, max=60, help="Number of episodes.")] = 3,
    minutes: Annotated[float, typer.Option(min=0.5, max=10, help="Minutes per episode.")] = 1.5,
    language: Annotated[str, typer.Option(help="Language of the series (BCP 47), e.g. en, zh.")] = "en",
    aspect: Annotated[str, typer.Option(help="9:16 (vertical) or 16:9.")] = "9:16",
    style: Annotated[str, typer.Option(help="Visual style of the whole series.")] = "cinematic, natural light, shallow depth of field",
    title: Annotated[Optional[str], typer.Option(help="Series title (default: the writer's).")] = None,
    slug: Annotated[Optional[str], typer.Option(help="Series folder name (default: from the file name).")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Approve the plan without asking.")] = False,
    root: RootOption = Path("episodes"),
    llm_timeout: LLMTimeoutOption = None,
) -> None:
    """Write a series from a synopsis with the LLM writer: bible, one screenplay per episode,
    then the plan, stopping at review.

    Needs an OpenAI-compatible endpoint: OPENAI_API_KEY + MICRODRAMA_MODEL for a hosted API, or
    OPENAI_BASE_URL=http://localhost:11434/v1 (Ollama) / http://localhost:8080/v1 (llama.cpp).

    Example: microdrama new idea.md --episodes 5 --minutes 1 --language zh --yes
    """
    from pydantic import ValidationError
    from microdrama.agents.writer import SeriesFormat
    from .app import Project, is_synopsis, series_folder_for
    from .core.config import Settings

    if not is_synopsis(synopsis):
        raise InputError(synopsis, "a synopsis is a .md or .txt file")
    try:
        format = SeriesFormat(episodes=episodes, minutes_per_episode=minutes, language=language, aspect=aspect,
                              visual_style=style, title=title)
    except ValidationError as exc:
        raise InputError(None, [Problem(e["msg"], field=".".join(map(str, e["loc"]))) for e in exc.errors()]) from None
    folder, sources = series_folder_for(synopsis, root, slug)
    with Project(Settings.load(folder.root, llm_timeout_s=llm_timeout)) as project:
        _start_planning(project, sources, False, format)
        _after_planning(project, yes)


@app.command()
def revise(
    series_dir: SeriesDir,
    scene: Annotated[str, typer.Option(help="The scene to re-plan, e.g. e01s03.")],
    note: Annotated[str, typer.Option(help="What to change, in words.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Approve the revised plan without asking.")] = False,
    llm_timeout: LLMTimeoutOption = None,
) -> None:
    """Re-plan one scene with a note (LLM shot planner); every other scene's plan file stays
    byte-identical. Stops at review again.

    Example: microdrama revise episodes/my-show --scene e01s03 --note "open on her hands, fewer close-ups"
    """
    from .app import Project
    from .core import ids
    from .core.config import Settings

    with Project(Settings.load(series_dir, llm_timeout_s=llm_timeout)) as project:
        project.require_llm_planner()
        project.revise(scene, note)
        _after_planning(project, yes, episode=ids.episode_of(scene))


@app.command()
def edit(
    series_dir: SeriesDir,
    shot: Annotated[str, typer.Option(help="The shot to change, e.g. e01s02k03.")],
    type: Annotated[Optional[ShotType], typer.Option(help="Framing: shot type.")] = None,
    move: Annotated[Optional[CameraMove], typer.Option(help="Camera move.")] = None,
    duration: Annotated[Optional[float], typer.Option(help="Length in seconds (rounded to frames).")] = None,
    action: Annotated[Optional[str], typer.Option(help="What happens on screen.")] = None,
    frame: Annotated[Optional[list[str]], typer.Option(
        metavar="CHARACTER:POSITION[:FACING]", help="Who is in frame and where (repeatable; replaces the list), "
        "e.g. nora:left:right.")] = None,
    line: Annotated[Optional[list[str]], typer.Option(metavar="LINE_ID=TEXT", help="New text of a dialogue line "
                                                      "(repeatable), e.g. e01s02l01='Not tonight.'")] = None,
    dry_run: Annotated[bool, typer.Option(help="Validate and print the shot's prompt; save nothing.")] = False,
) -> None:
    """Change one shot's fields in its plan file, validated as a hand edit is (a bad value names
    the file, line and field; nothing is saved). The shot's prompt is recomposed; the edit needs
    `approve` before it renders.

    Example: microdrama edit episodes/rooftop-frequencies --shot e01s01k02 --type CU --duration 2.5
    """
    from .app import Project
    from .core.config import Settings
    from .plan.shot_edit import ShotEdit, edited_frames

    with Project(Settings.load(series_dir)) as project:
        changes = ShotEdit(type=type, move=move, action=action, framing=_framing(frame),
                           lines=dict(_line_text(text) for text in line or []))
        if duration is not None:
            changes.duration_frames = edited_frames(duration, project.folder.load_series().fps)
        if changes.is_empty():
            raise InputError(None, Problem("nothing to change: pass --type, --move, --duration, --action, --frame "
                                           "or --line", field="--shot"))
        edited = project.edit_shot(shot, changes, dry_run=dry_run)
    verb = "would save (--dry-run)" if dry_run else "saved"
    console().print(f"{verb} {edited.id}: {edited.type.value}, {edited.move.value}, {edited.duration_frames} frames")
    console().print(f"prompt: {escape(edited.prompt)}", soft_wrap=True)
    if not dry_run:
        console().print("edited since approval: `microdrama approve` to render it")


def _framing(specs: list[str] | None) -> list[FramedCharacter] | None:
    from pydantic import ValidationError
    from .core.models import FramedCharacter

    if specs is None:
        return None
    framing = []
    for spec in specs:
        parts = spec.split(":")
        keys = ("character", "position", "facing")[:len(parts)]
        try:
            framing.append(FramedCharacter(**dict(zip(keys, parts, strict=True))))
        except (ValueError, ValidationError):
            raise InputError(None, Problem(f"{spec!r} is not CHARACTER:POSITION[:FACING] with a position of "
                                           "left, center or right and a facing of left, right or camera",
                                           field="--frame")) from None
    return framing


def _line_text(spec: str) -> tuple[str, str]:
    line_id, separator, text = spec.partition("=")
    if not separator:
        raise InputError(None, Problem(f"{spec!r} is not LINE_ID=TEXT", field="--line"))
    return line_id.strip(), text


@app.command()
def studio(
    series_dir: SeriesDir,
    host: Annotated[str, typer.Option(help="Address to listen on; any but loopback needs the printed token.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0: any free one).")] = 8765,
) -> None:
    """Open the review studio: a local web app to review the plan (board, shot pages, player),
    edit shots, approve, render and audit, through the same commands as this CLI.

    Needs the studio extra: pip install 'microdrama[studio]'. Stop it with Ctrl-C.

    Example: microdrama studio episodes/rooftop-frequencies
    """
    from .core.config import Settings
    from .core.store import SeriesFolder

    try:
        from .web.server import serve
    except ImportError as exc:
        raise ConfigError(f"the studio needs its extra: pip install 'microdrama[studio]' ({exc})") from None
    if not SeriesFolder(series_dir).exists():
        raise InputError(series_dir, "nothing planned here (no series.yaml); run `microdrama plan` first")
    Settings.load(series_dir)  # a bad microdrama.toml is named before the server starts
    serve(series_dir, host, port, lambda url: console().print(f"studio for {escape(str(series_dir))}: {url}"
                                                              "  (Ctrl-C stops it)", soft_wrap=True))


@app.command()
def keyframes(
    series_dir: SeriesDir,
    model: Annotated[Path, typer.Option(help="Local folder of a diffusers text-to-image pipeline.")],
    device: Annotated[str, typer.Option(help="auto, cuda, mps or cpu.")] = "auto",
) -> None:
    """Make a locked-seed reference image per character and location (for image-to-video
    backends) and record them in series.yaml.

    Example: microdrama keyframes episodes/rooftop-frequencies --model ~/models/sdxl
    """
    from .app import Project
    from .core.config import Settings
    from .render.keyframes import KeyframeOptions, generate_keyframes

    with Project(Settings.load(series_dir)) as project, project.writing():
        folder = project.folder
        series = folder.load_series()
        updated = generate_keyframes(series, folder.root, KeyframeOptions(model=str(model), device=device))
        folder.save_series(updated)
    for entry in [*updated.characters, *updated.locations]:
        console().print(f"{entry.id}: {escape(str(entry.keyframe))}")


def _current_status(series_dir: Path) -> SeriesStatus:
    """Where each shot stands, from the plan files as they are now and the cache."""
    from .app import Project
    from .core.config import Settings
    from .core.snapshot import edited_since_approval
    from .core.store import SeriesFolder
    from .review.status import series_status

    settings = Settings.load(series_dir)
    folder = SeriesFolder(series_dir)
    series, episodes = folder.load_plan()
    with Project(settings) as project:
        return series_status(settings, series, episodes, project.last_render(), edited_since_approval(folder))


@app.command()
def status(
    series_dir: SeriesDir,
    episode: Annotated[Optional[str], typer.Option(help="Show one episode, every shot of it, e.g. e01.")] = None,
) -> None:
    """Show each episode's shot counts (rendered, stale, failed, planned), each shot that is not
    rendered, and what the next render would redo. `--episode` lists every shot of one episode.
    Reads the plan files as they are now, hand edits included.

    Example: microdrama status episodes/rooftop-frequencies
    """
    from .core.layout import SeriesPaths
    from .graph.receipt import standing_receipt
    from .review.status import receipt_status

    if not Path(series_dir).is_dir():
        raise InputError(series_dir, "no such series folder")
    receipt = standing_receipt(SeriesPaths(series_dir))
    # Nothing changed since the last complete render: its receipt answers (graph/receipt.py).
    report = receipt_status(receipt, Path(series_dir)) if receipt else _current_status(series_dir)
    episode_ids = report.episode_ids
    if episode is not None and episode not in episode_ids:
        raise InputError(series_dir, f"no episode {episode!r}; the plan has {', '.join(episode_ids)}")
    states = ("rendered", "stale", "failed", "planned")
    if episode is None:
        table = _table(f"status of {escape(str(series_dir))}", ("episode", *states))
        for episode_id in episode_ids:
            shown = [s.state for s in report.shots if s.episode_id == episode_id]
            table.add_row(episode_id, *(str(shown.count(state)) for state in states))
        console().print(table)
    colours = {"planned": "cyan", "rendered": "green", "stale": "yellow", "failed": "red"}
    listed = [s for s in report.shots if s.episode_id == episode or (episode is None and s.state != "rendered")]
    if listed:
        table = _table(f"shots of {episode}" if episode else "shots not rendered", ("shot", "state", "detail"))
        for shot in listed:
            table.add_row(shot.shot_id, f"[{colours[shot.state]}]{shot.state}[/]", escape(shot.detail))
        console().print(table)
    counts = ", ".join(f"{report.count(s)} {s}" for s in ("rendered", "stale", "failed", "planned"))
    console().print(f"shots: {counts}")
    if report.to_render or report.missing_cues or report.stale_episodes:
        console().print(f"next render: {len(report.to_render)} shots, {len(report.missing_cues)} music cues, "
                        f"re-assemble {', '.join(report.stale_episodes) or 'nothing'}")
    else:
        console().print("next render: nothing to do")
    for episode_id in report.damaged_episodes:
        console().print(f"[yellow]{episode_id}[/]: out/{episode_id}.mp4 is not the file assembly wrote "
                        "(truncated, replaced or deleted); the next render assembles it again")
    if report.edited_since_approval:
        console().print("[yellow]edited since approval[/]: `microdrama approve` (or `render --yes`) before rendering")


@app.command()
def audit(
    series_dir: SeriesDir,
    episode: Annotated[Optional[str], typer.Option(help="Audit one episode, e.g. e01.")] = None,
    strict: Annotated[bool, typer.Option(help="Exit non-zero when any check is an error.")] = False,
) -> None:
    """Measure the rendered episodes against the plan: shots present and in order, durations,
    dialogue inside its shot and subtitles aligned to it, A/V drift, loudness, black / frozen /
    duplicate segments, colour continuity, character identity. Writes out/eNN.audit.json and
    refreshes the storyboard and editor export.

    Example: microdrama audit episodes/rooftop-frequencies --strict
    """
    from .app import Project
    from .core.config import Settings

    with Project(Settings.load(series_dir)) as project:
        published_episodes = project.audit(episode)
    summaries, errors = [], 0
    for published in published_episodes:
        item = published.report
        table = _table(f"{item.episode_id}: checks that did not pass", ("verdict", "check", "where", "measured", "threshold", "message"))
        for check in published.report.checks:
            if check.verdict != "pass":
                colour = {"error": "red", "warning": "yellow"}.get(check.verdict, "dim")
                table.add_row(f"[{colour}]{check.verdict}[/]", check.name, check.where, escape(str(check.measured)),
                              escape(str(check.threshold)), escape(check.message))
        if table.row_count:
            console().print(table)
        summaries.append(published.summary)
        errors += len(published.report.errors)
    _print_audits(summaries, project.folder.root)
    if strict and errors:
        raise AuditFailed(f"{errors} audit error(s); see out/eNN.audit.json")


@app.command()
def gc(
    series_dir: SeriesDir,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete them (default: only list).")] = False,
    prune_approvals: Annotated[bool, typer.Option(help="Keep only the current approval (older ones go, with what "
                                                       "only they reference).")] = False,
) -> None:
    """List (and with --yes delete) cache artifacts that no approved snapshot references and no
    episode's timeline uses; reports the bytes freed.

    Example: microdrama gc episodes/rooftop-frequencies --yes
    """
    from .app import Project
    from .core.config import Settings

    with Project(Settings.load(series_dir)) as project:
        report = project.gc(delete=yes, prune_approvals=prune_approvals)
    for path in report.files:
        console().print(escape(str(path.relative_to(project.folder.root))))
    verb = "deleted" if report.deleted else "would delete (pass --yes)"
    console().print(f"{verb} {_count(len(report.files), 'artifact')}, {report.bytes / 1e6:.1f} MB; "
                    f"{report.kept} referenced artifacts kept")
