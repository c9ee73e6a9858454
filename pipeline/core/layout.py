"""Where each file of a series folder lives, without reading any of them: the paths alone import
nothing heavy, for the readers that answer without the plan's models (graph/receipt.py).
SeriesFolder (core/store.py) adds the plan files' I/O."""

from __future__ import annotations

from pathlib import Path


class SeriesPaths:
    def __init__(self, root: Path):
        self.root = Path(root)

    @property
    def series_path(self) -> Path:
        return self.root / "series.yaml"

    @property
    def plan_dir(self) -> Path:
        return self.root / "plan"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    @property
    def out_dir(self) -> Path:
        return self.root / "out"

    @property
    def checkpoint_db(self) -> Path:
        return self.state_dir / "checkpoints.sqlite"

    def episode_path(self, episode_id: str) -> Path:
        return self.plan_dir / f"{episode_id}.yaml"

    def exists(self) -> bool:
        return self.series_path.is_file()

    def episode_ids(self) -> list[str]:
        return sorted(p.stem for p in self.plan_dir.glob("e*.yaml"))
