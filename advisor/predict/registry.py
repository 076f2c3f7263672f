"""Model registry: versioned artefact folders root/<name>/<version>/, a promotion pointer."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.errors import AdvisorError, NotFound

if TYPE_CHECKING:
    from advisor.settings import Settings

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
POINTER = "promoted.json"  # {"version": N, "history": [earlier promoted versions..., N]}
LOCK = ".lock"
Verifier = Callable[["ModelVersion"], object]  # loads a version for serving; raises if it cannot


def load_credit_risk(model: ModelVersion) -> object:
    """Load a credit-risk version as serving does (credit decisions must never lose it)."""
    from advisor.predict.credit_risk import CreditRiskScorer

    return CreditRiskScorer.from_version(model)


# Models whose versions are loaded before they are promoted (Registry.from_settings).
SERVING_LOADERS: dict[str, Verifier] = {"credit-risk": load_credit_risk}


class RegistryError(AdvisorError):
    """A registry operation that cannot be done (e.g. nothing earlier to roll back to)."""


class UnknownModel(NotFound):
    """No such model name or version in the registry."""


@dataclass(frozen=True)
class ModelVersion:
    """One registered version of a model: its folder and its meta.json."""

    name: str
    version: int
    path: Path
    meta: dict[str, Any]

    @property
    def card(self) -> str:
        """The version's model card (markdown), empty when none was written."""
        card = self.path / "card.md"
        return card.read_text(encoding="utf-8") if card.exists() else ""


@dataclass
class Stage:
    """A version being written: artefacts go under `path`, descriptions into `meta`."""

    path: Path
    meta: dict[str, Any] = field(default_factory=dict)
    version: int | None = None  # set once the stage is registered


def data_hash(path_or_bytes: Path | str | bytes) -> str:
    """The sha256 hex digest of a file's bytes (or of the bytes given)."""
    digest = hashlib.sha256()
    if isinstance(path_or_bytes, bytes):
        digest.update(path_or_bytes)
        return digest.hexdigest()
    with Path(path_or_bytes).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_atomically(path: Path, text: str) -> None:
    """Write text to a temp file beside `path`, fsync it, then rename it over `path`."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Registry:
    """Versioned model artefacts with a promoted version and a promotion history."""

    def __init__(self, root: Path, verifiers: Mapping[str, Verifier] | None = None) -> None:
        self.root = Path(root)
        self.verifiers = dict(verifiers or {})

    @classmethod
    def from_settings(cls, settings: Settings) -> Registry:
        """The registry under the settings' var dir (var/models/registry), checking that a
        version of a served model loads before it is promoted."""
        return cls(settings.var_dir / "models" / "registry", SERVING_LOADERS)

    def verify(self, model: ModelVersion) -> None:
        """Load the version as serving would; RegistryError (nothing promoted) if it fails."""
        check = self.verifiers.get(model.name)
        if check is None:
            return
        try:
            check(model)
        except Exception as exc:
            promoted = self._pointer(self._folder(model.name)).get("version")
            kept = f"v{promoted} stays promoted" if promoted else "nothing is promoted"
            raise RegistryError(
                f"{model.name} v{model.version} does not load ({type(exc).__name__}: {exc}); "
                f"it was not promoted and {kept}"
            ) from None

    def _folder(self, name: str) -> Path:
        """The model's folder; refuses names that are not plain slugs."""
        if not NAME.match(name):
            raise UnknownModel(f"not a model name: {name!r} (lower-case letters, digits, -)")
        return self.root / name

    @contextlib.contextmanager
    def _locked(self, name: str) -> Iterator[Path]:
        """Hold the model's exclusive file lock (fcntl) for one registry change."""
        folder = self._folder(name)
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / LOCK).open("a") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield folder
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    @contextlib.contextmanager
    def stage(self, name: str, promote: bool = True) -> Iterator[Stage]:
        """Write a new version; on a clean exit it becomes version N+1, else nothing changes."""
        folder = self._folder(name)
        folder.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder))
        staged = Stage(staging)
        try:
            yield staged
            self._commit(name, staged, promote)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _commit(self, name: str, staged: Stage, promote: bool) -> None:
        """Number the staged folder, write its meta.json and card.md, rename it into place."""
        meta = dict(staged.meta)
        card = str(meta.pop("card", ""))
        with self._locked(name) as folder:
            version = max(self._numbers(folder), default=0) + 1
            meta.update(name=name, version=version, created_at=_now())
            if promote:  # a version that does not load is neither registered nor promoted
                self.verify(ModelVersion(name, version, staged.path, meta))
            (staged.path / "card.md").write_text(card, encoding="utf-8")
            (staged.path / "meta.json").write_text(
                json.dumps(meta, indent=2, sort_keys=True, default=str), encoding="utf-8"
            )
            os.rename(staged.path, folder / str(version))
            staged.version = version
            if promote:
                self._point(folder, version)

    @staticmethod
    def _numbers(folder: Path) -> list[int]:
        """The version numbers present in a model folder."""
        if not folder.is_dir():
            return []
        return sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit() and p.is_dir())

    @staticmethod
    def _pointer(folder: Path) -> dict[str, Any]:
        """The promotion pointer ({} when nothing was ever promoted)."""
        path = folder / POINTER
        if not path.exists():
            return {}
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return loaded

    def _point(self, folder: Path, version: int, history: list[int] | None = None) -> None:
        """Atomically make `version` the promoted one, appending it to the history."""
        if history is None:
            history = [int(v) for v in self._pointer(folder).get("history", [])]
            if not history or history[-1] != version:
                history.append(version)
        pointer = {"version": version, "history": history, "promoted_at": _now()}
        _write_atomically(folder / POINTER, json.dumps(pointer, indent=2))

    def _load(self, name: str, version: int) -> ModelVersion:
        """One version's folder and meta; UnknownModel when it does not exist."""
        path = self._folder(name) / str(version)
        meta_file = path / "meta.json"
        if not meta_file.exists():
            known = self._numbers(self._folder(name))
            hint = f"versions: {', '.join(map(str, known))}" if known else "no versions"
            raise UnknownModel(f"model {name!r} has no version {version} ({hint})")
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        return ModelVersion(name, version, path, meta)

    def promoted(self, name: str) -> ModelVersion | None:
        """The promoted version of a model, None when none is registered or promoted."""
        folder = self._folder(name)
        version = self._pointer(folder).get("version")
        if version is None or not (folder / str(version) / "meta.json").exists():
            return None
        return self._load(name, int(version))

    def version(self, name: str, version: int) -> ModelVersion:
        """One registered version; UnknownModel when there is no such version."""
        return self._load(name, version)

    def versions(self, name: str) -> list[ModelVersion]:
        """Every registered version of a model, oldest first."""
        return [self._load(name, v) for v in self._numbers(self._folder(name))]

    def promote(self, name: str, version: int) -> ModelVersion:
        """Serve `version` from now on (it must exist)."""
        with self._locked(name) as folder:
            chosen = self._load(name, version)
            self.verify(chosen)
            self._point(folder, version)
        return chosen

    def rollback(self, name: str) -> ModelVersion:
        """Go back to the version promoted before the current one."""
        with self._locked(name) as folder:
            history = [int(v) for v in self._pointer(folder).get("history", [])]
            if not self._numbers(folder):
                raise UnknownModel(f"no model {name!r} is registered")
            if len(history) < 2:
                raise RegistryError(f"model {name!r} has no earlier promoted version")
            history.pop()
            chosen = self._load(name, history[-1])
            self.verify(chosen)
            self._point(folder, chosen.version, history)
        return chosen

    def names(self) -> list[str]:
        """The names of the models with at least one version."""
        if not self.root.is_dir():
            return []
        found = (p for p in self.root.iterdir() if p.is_dir() and NAME.match(p.name))
        return sorted(p.name for p in found if self._numbers(p))


def _now() -> str:
    """The current UTC time, ISO 8601."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
