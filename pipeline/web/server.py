"""The studio's routes: pages rendered on the server, htmx swapping parts of them.

Every write goes through the application layer (`Project`: the series lock, validation, last
good copies); long actions run as jobs in their own process (jobs.py). Errors are one line in
the page (`MICRODRAMA_DEBUG=1` adds the traceback); a bug reads "internal error" the same way.

    GET  /                      the series: cast, voices, keyframes, places, episodes
    GET  /episode/{id}          the board: scene by scene, a card per shot
    GET  /shot/{id}             the shot page: edit form, live prompt, findings
    GET  /episode/{id}/play     the player: the MP4, the cut's markers, the audit
    POST /shot/{id}             save an edit           (microdrama edit)
    POST /shot/{id}/preview     the prompt of the form as it stands, nothing saved (edit --dry-run)
    POST /approve, /reject      (microdrama approve / reject)
    POST /render, /audit, /revise   start a job        (microdrama render / audit / revise)
    GET  /jobs/{n}              a job's progress (the page polls it)
    GET  /watch                 whether the plan files changed on disk
    GET  /files/{path}          a file of the series folder (segments, episodes, voices, keyframes)
"""

from __future__ import annotations

import os
import socket
import traceback
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from ..app import Project
from ..core import ids
from ..core.config import Settings
from ..core.errors import ConfigError, InputError, MicrodramaError, Problem
from ..core.models import CameraMove, Facing, FramedCharacter, ScreenPosition, ShotType
from ..core.snapshot import plan_digest
from ..core.store import SeriesFolder
from ..plan.shot_edit import ShotEdit, edited_frames
from .guard import CSRF_HEADER, Guard, GuardMiddleware, served_file
from .jobs import Jobs
from .pages import audit_report, plan_view, relative, shot_view, timelines, voice_samples

HERE = Path(__file__).parent
EDIT_FIELDS = ("type", "move", "duration", "action", "framing", "lines")


def create_app(series_dir: Path, guard: Guard) -> Starlette:
    """The studio over one series folder."""
    series_dir = Path(series_dir)
    templates = Jinja2Templates(directory=HERE / "templates")
    jobs = Jobs(series_dir)
    debug = bool(os.environ.get("MICRODRAMA_DEBUG"))

    def project() -> Project:
        return Project(Settings.load(series_dir))

    def page(request: Request, name: str, status_code: int = 200, headers: dict | None = None, **context) -> Response:
        context.update(request=request, csrf=guard.csrf, csrf_header=CSRF_HEADER, series_dir=series_dir,
                       job=context.get("job", jobs.latest()), ShotType=ShotType, CameraMove=CameraMove,
                       ScreenPosition=ScreenPosition, Facing=Facing)
        return templates.TemplateResponse(request, name, context, status_code=status_code, headers=headers)

    def flash(request: Request, exc: BaseException) -> Response:
        """An error as one line where the page shows messages (#flash)."""
        if isinstance(exc, MicrodramaError):
            message = str(exc)
        else:
            first = (str(exc).splitlines() or [""])[0][:300]
            message = f"internal error (please report it): {type(exc).__name__}: {first}"
        detail = traceback.format_exc() if debug else ""
        if request.headers.get("hx-request"):
            return page(request, "_flash.html", headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"},
                        message=message, detail=detail, kind="error")
        return page(request, "error.html", status_code=400 if isinstance(exc, MicrodramaError) else 500,
                    message=message, detail=detail)

    def endpoint(function):
        """A route: the function runs in a worker thread with the request and its form (None
        for a GET); the project's errors, and bugs, become the one-line message."""
        async def run(request: Request) -> Response:
            form = await request.form() if request.method == "POST" else None
            try:
                return await run_in_threadpool(function, request, form)
            except HTTPException:
                raise
            except Exception as exc:
                if not isinstance(exc, MicrodramaError):
                    traceback.print_exc()
                return flash(request, exc)
        return run

    # --- pages ---------------------------------------------------------------------------------

    def series_page(request: Request, form: FormData | None) -> Response:
        with project() as p:
            view = plan_view(p)
            cuts = timelines(p) if view.plan else {}
            samples = {speaker: relative(p, clip.path) for speaker, clip in voice_samples(cuts).items()}
            keyframes = {}
            if view.plan:
                for entry in [*view.series.characters, *view.series.locations]:
                    if entry.keyframe and served_file(p.folder.root, entry.keyframe):
                        keyframes[entry.id] = entry.keyframe
            return page(request, "series.html", view=view, samples=samples, keyframes=keyframes,
                        assembled=set(cuts))

    def board(request: Request, form: FormData | None) -> Response:
        episode_id = request.path_params["episode"]
        with project() as p:
            view = plan_view(p)
            if view.plan is not None and view.episode(episode_id) is None:
                raise HTTPException(404, f"no episode {episode_id}")
            urls = {s.shot_id: relative(p, s.segment) for s in view.status.shots} if view.status else {}
            return page(request, "_board.html" if request.query_params.get("part") else "board.html",
                        view=view, episode=view.episode(episode_id), episode_id=episode_id, urls=urls,
                        llm_missing=_llm_missing(p))

    def shot_page(request: Request, form: FormData | None) -> Response:
        shot_id = request.path_params["shot"]
        with project() as p:
            view = plan_view(p)
            shot = shot_view(p, view, shot_id)
            if view.plan is not None and shot is None:
                raise HTTPException(404, f"no shot {shot_id}")
            status = view.shot_status(shot_id)
            name = "_shot_form.html" if request.query_params.get("part") else "shot.html"
            return page(request, name, view=view, s=shot, status=status, values=None, errors={},
                        url=relative(p, status.segment) if status else None, saved=None)

    def player(request: Request, form: FormData | None) -> Response:
        episode_id = request.path_params["episode"]
        with project() as p:
            cut = timelines(p).get(episode_id)
            if cut is None:
                raise HTTPException(404, f"episode {episode_id} is not assembled yet: render it first")
            report = audit_report(p, episode_id)
            checks = [c for c in report.checks if c.verdict != "pass"] if report else []
            return page(request, "player.html", cut=cut, episode_id=episode_id, checks=checks, audited=report is not None, view=plan_view(p),
                        video=f"out/{episode_id}.mp4")

    # --- edits ---------------------------------------------------------------------------------

    def save_shot(request: Request, form: FormData) -> Response:
        return _edit(request, form, dry_run=False)

    def preview_shot(request: Request, form: FormData) -> Response:
        return _edit(request, form, dry_run=True)

    def _edit(request: Request, form: FormData, dry_run: bool) -> Response:
        shot_id = request.path_params["shot"]
        with project() as p:
            view = plan_view(p, with_status=not dry_run)  # the live prompt needs only the plan
            if view.failure is not None:
                raise view.failure
            shot = shot_view(p, view, shot_id)
            if shot is None:
                raise InputError(p.folder.root, Problem(f"no shot {shot_id!r} in the plan files", field="shot"))
            errors: dict[str, str] = {}
            edit = _shot_edit(form, shot.shot, view.series.fps, errors)
            result, message = None, None
            if not errors:
                try:
                    result = p.edit_shot(shot_id, edit, dry_run=dry_run,
                                         if_unchanged=None if dry_run else str(form.get("file_digest", "")))
                except InputError as exc:
                    errors = _field_errors(exc, shot_id)
                except MicrodramaError as exc:  # the lock held by a render, a read-only folder
                    message = str(exc)
            if dry_run:
                return page(request, "_prompt.html", prompt=result.prompt if result else None, errors=errors)
            # The saved form is the response (its watch carries the new digest): no reload after it.
            view = plan_view(p) if result or view.status is None else view
            fresh = shot_view(p, view, shot_id) if result else shot
            status = view.shot_status(shot_id)
            return page(request, "_shot_form.html", view=view, s=fresh, status=status,
                        values=None if result else form, errors=errors, message=message,
                        saved=result is not None, url=relative(p, status.segment) if status else None)

    # --- actions -------------------------------------------------------------------------------

    def approve(request: Request, form: FormData | None) -> Response:
        with project() as p:
            approval = p.approve()
            shots = sum(len(e.shots) for e in approval.plan.episodes)
            return page(request, "_flash.html", headers={"HX-Trigger": "plan-changed"}, kind="ok",
                        message=f"approved {len(approval.plan.episodes)} episode(s), {shots} shots", detail="")

    def reject(request: Request, form: FormData) -> Response:
        with project() as p:
            p.reject(str(form.get("note", "")))
            return page(request, "_flash.html", headers={"HX-Trigger": "plan-changed"}, kind="ok",
                        message="rejected; edit the screenplay and `microdrama plan --fresh` plans again", detail="")

    def render(request: Request, form: FormData) -> Response:
        target = str(form.get("target", ""))
        force = form.get("force") == "1"
        if target and not ids.is_plan_id(target):
            raise InputError(series_dir, Problem(f"{target!r} is not an episode, scene or shot id", field="target"))
        kind = ids.parse(target).kind if target else None
        params = {"scenes": [target] if kind in ("episode", "scene") else None,
                  "shots": [target] if kind == "shot" else None, "force": force}
        return page(request, "_job.html", job=jobs.start("render", **params))

    def audit(request: Request, form: FormData | None) -> Response:
        return page(request, "_job.html", job=jobs.start("audit"))

    def revise(request: Request, form: FormData) -> Response:
        scene, note = str(form.get("scene", "")), str(form.get("note", "")).strip()
        with project() as p:
            p.require_llm_planner()
        if not note:
            raise InputError(series_dir, Problem("say what to change in the note", field="note"))
        return page(request, "_job.html", job=jobs.start("revise", scene=scene, note=note))

    def job(request: Request, form: FormData | None) -> Response:
        found = jobs.get(int(request.path_params["number"]))
        if found is None:
            raise HTTPException(404, "no such job")
        # The page refreshes its cards as a job ends, and as a render finishes shots (when the
        # count differs from the one the page last saw).
        seen = request.query_params.get("seen")
        headers = None if found.running and seen == str(found.done) else {"HX-Trigger": "plan-changed"}
        return page(request, "_job.html", job=found, headers=headers)

    def watch(request: Request, form: FormData | None) -> Response:
        """204 while the plan files are as the page saw them; else the 'changed on disk' note,
        and the page reloads what it shows."""
        seen = request.query_params.get("digest", "")
        now = plan_digest(SeriesFolder(series_dir))
        if now == seen:
            return Response(status_code=204)
        return page(request, "_watch.html", digest=now, changed=True, headers={"HX-Trigger": "plan-changed"})

    def files(request: Request, form: FormData | None) -> Response:
        path = served_file(series_dir, request.path_params["path"])
        if path is None:
            raise HTTPException(404, "not a file of this series")
        return FileResponse(path)

    routes = [
        Route("/", endpoint(series_page)),
        Route("/episode/{episode}", endpoint(board)),
        Route("/episode/{episode}/play", endpoint(player)),
        Route("/shot/{shot}", endpoint(shot_page)),
        Route("/shot/{shot}", endpoint(save_shot), methods=["POST"]),
        Route("/shot/{shot}/preview", endpoint(preview_shot), methods=["POST"]),
        Route("/approve", endpoint(approve), methods=["POST"]),
        Route("/reject", endpoint(reject), methods=["POST"]),
        Route("/render", endpoint(render), methods=["POST"]),
        Route("/audit", endpoint(audit), methods=["POST"]),
        Route("/revise", endpoint(revise), methods=["POST"]),
        Route("/jobs/{number:int}", endpoint(job)),
        Route("/watch", endpoint(watch)),
        Route("/files/{path:path}", endpoint(files)),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(GuardMiddleware, guard=guard)])
    app.state.jobs = jobs
    return app


def _llm_missing(project: Project) -> str | None:
    """Why a scene cannot be revised here (the revise button says it), or None."""
    try:
        project.require_llm_planner()
    except MicrodramaError as exc:
        return str(exc)
    return None


def _shot_edit(form: FormData, shot, fps: int, errors: dict[str, str]) -> ShotEdit:
    """The edit form as a ShotEdit; a value that is not even a number goes into `errors`."""
    edit = ShotEdit(lines={line.id: str(form.get(f"line-{line.id}", line.text)) for line in shot.dialogue
                           if form.get(f"line-{line.id}") is not None})
    for name, kind in (("type", ShotType), ("move", CameraMove)):
        value = form.get(name)
        if value:
            try:
                setattr(edit, name, kind(value))
            except ValueError:
                errors[name] = f"{value!r} is not one of {', '.join(k.value for k in kind)}"
    duration = form.get("duration")
    if duration is not None:
        try:
            edit.duration_frames = edited_frames(float(duration), fps)
        except ValueError:
            errors["duration"] = f"{duration!r} is not a number of seconds"
    if form.get("action") is not None:
        edit.action = str(form["action"])
    if form.get("framing") == "1":
        framing = []
        for character in form.getlist("framed"):
            position = form.get(f"position-{character}", "center")
            facing = form.get(f"facing-{character}", "camera")
            try:
                framing.append(FramedCharacter(character=character, position=position, facing=facing))
            except ValueError as exc:
                errors["framing"] = str(exc).splitlines()[0]
        edit.framing = framing
    return edit


def _field_errors(exc: InputError, shot_id: str) -> dict[str, str]:
    """The problems of a refused edit by the form field they belong to ('' for the rest): a
    problem's field is 'scenes[0] (e01s01).shots[1] (e01s01k02).duration_frames'."""
    errors: dict[str, str] = {}
    for problem in exc.problems:
        _, inside, below = (problem.field or "").partition(f"({shot_id}).")
        name = below.split(".")[0].split("[")[0] if inside else ""
        key = {"duration_frames": "duration", "characters": "framing", "dialogue": "lines"}.get(name, name)
        key = key if key in EDIT_FIELDS else ""
        where = f"{Path(problem.path).name}:{problem.line}" if problem.path and problem.line else ""
        text = f"{problem.message} ({where})" if where else problem.message
        errors[key] = f"{errors[key]}; {text}" if key in errors else text
    return errors


def studio_url(host: str, port: int, guard: Guard) -> str:
    """The URL to open; a wildcard address is shown as this machine's name, which others can reach."""
    shown = socket.gethostname() if host in ("0.0.0.0", "::") else host
    shown = f"[{shown}]" if ":" in shown else shown
    return f"http://{shown}:{port}/" + (f"?token={guard.token}" if guard.token else "")


def serve(series_dir: Path, host: str, port: int, on_start) -> None:
    """Run the studio until interrupted; `on_start(url)` is called once its socket listens (port
    0: the one the system picked)."""
    import uvicorn

    guard = Guard.for_host(host)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host, port))
    except OSError as exc:
        listening.close()
        raise ConfigError(f"the studio cannot listen on {host}:{port}: {exc.strerror}; pick another --port") from None
    on_start(studio_url(host, listening.getsockname()[1], guard))
    server = uvicorn.Server(uvicorn.Config(create_app(series_dir, guard), log_level="warning"))
    server.run(sockets=[listening])
