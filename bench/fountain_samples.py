"""Plan the official Fountain samples and count their speeches before and after planning.

The samples (Brick & Steel, The Last Birthday Card, Big Fish; from fountain.io, also in
screenplain's examples/) are their authors' copyright, so they are not in this repository: pass
their paths. Each is planned and approved with the real command, `microdrama plan FILE --yes`
(with --episode-minutes when given), into a temporary folder; then

- before: the speeches in the screenplay, as the Fountain parser reads them, and as screenplain
  reads them when it is installed (`pip install screenplain`: a second opinion, not a dependency);
- after: the dialogue lines in the approved plan files;
- the number of episodes and their shortest and longest planned minutes.

A speech is one stretch of a character's dialogue between parentheticals. Exit status 1 when a
sample does not plan or approve, or a speech is lost.

    python bench/fountain_samples.py Brick-and-Steel.fountain The-Last-Birthday-Card.fountain
    python bench/fountain_samples.py --episode-minutes 3 Big-Fish.fountain
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from microdrama.pipeline.ingest import fountain as ft
from microdrama.pipeline.ingest.screenplay import read_text


def parser_speeches(text: str) -> int:
    return sum(len(e.speeches) for e in ft.parse(text).elements if isinstance(e, ft.Dialogue))


def screenplain_speeches(text: str) -> int | None:
    """Speeches as screenplain reads the same text: runs of dialogue lines between parentheticals."""
    try:
        import io

        from screenplain.parsers import fountain as reference
        from screenplain.types import Dialog, DualDialog
    except ImportError:
        return None
    count = 0
    for paragraph in reference.parse(io.StringIO(text)).paragraphs:
        dialogs = [paragraph] if isinstance(paragraph, Dialog) else (
            [paragraph.left, paragraph.right] if isinstance(paragraph, DualDialog) else [])
        for dialog in dialogs:
            previous_spoken = False
            for parenthetical, _ in dialog.blocks:
                count += not parenthetical and not previous_spoken
                previous_spoken = not parenthetical
            count += not any(not p for p, _ in dialog.blocks)  # a cue with only a parenthetical
    return count


def plan_lines(series_dir: Path) -> tuple[int, list[float]]:
    fps = yaml.safe_load((series_dir / "series.yaml").read_text(encoding="utf-8"))["fps"]
    lines, minutes = 0, []
    for path in sorted((series_dir / "plan").glob("e*.yaml")):
        episode = yaml.safe_load(path.read_text(encoding="utf-8"))
        shots = [shot for scene in episode["scenes"] for shot in scene["shots"]]
        lines += sum(len(shot.get("dialogue", [])) for shot in shots)
        minutes.append(sum(shot["duration_frames"] for shot in shots) / fps / 60)
    return lines, minutes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--episode-minutes", type=float)
    args = parser.parse_args()
    command = Path(sys.executable).with_name("microdrama")
    failed = False
    for path in args.paths:
        text = read_text(path)
        before, second = parser_speeches(text), screenplain_speeches(text)
        with tempfile.TemporaryDirectory() as root:
            argv = [str(command), "plan", str(path), "--yes", "--root", root]
            argv += ["--episode-minutes", f"{args.episode_minutes:g}"] if args.episode_minutes else []
            start = time.perf_counter()
            done = subprocess.run(argv, capture_output=True, text=True)
            seconds = time.perf_counter() - start
            approved = done.returncode == 0 and "approved" in done.stdout
            folders = [p for p in Path(root).iterdir() if p.is_dir()]
            after, minutes = plan_lines(folders[0]) if approved and folders else (0, [])
        lost = not approved or after != before or (second is not None and second != before)
        failed |= lost
        print(f"{path.name}: {'approved' if approved else 'NOT APPROVED'} in {seconds:.0f} s; speeches before: "
              f"{before} (parser), {second if second is not None else 'n/a'} (screenplain); after: {after} "
              f"(plan lines); {len(minutes)} episode(s)"
              + (f" of {min(minutes):.1f}-{max(minutes):.1f} min" if minutes else "")
              + (" — SPEECHES LOST" if lost and approved else ""))
        if not approved:
            print("  " + (done.stderr.strip().splitlines() or ["(no message)"])[-1])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
