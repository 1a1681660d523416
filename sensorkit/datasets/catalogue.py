"""The catalogue of named benchmark datasets: specs in ``datasets/<name>/spec.json``, files made into a cache.

A spec is a JSON object; the catalogue reads these fields, the generator of its ``kind`` reads the rest:

    name         the folder's name (``drones-small``)
    kind         the generator that makes it (``drone-acoustic``, ``gpr-mines``, ...)
    version      an integer, raised by hand when the dataset's meaning changes
    description  one line
    seed         integer >= 0: every random choice of the dataset derives from it
    splits       names of the splits (``["train", "test"]``); each item belongs to one

Making a dataset (:func:`make_dataset`) writes into ``<cache root>/<name>/``, the cache root being, first that is
set: the ``cache_dir`` argument (``--cache``), the environment variable ``SENSORKIT_DATA_DIR``, or
``~/.cache/sensorkit/datasets``. The generator plans the dataset as items (one clip, one survey...) and makes them
one at a time into a staging folder; finished files are moved into place and recorded in ``manifest.json``:

    {"name", "kind", "spec_sha256", "generator_version", "items": {id: {"sha256": hash of the item's plan,
     "split", "files": {relative path: {"sha256", "bytes"}}}}}

so a second make finds every item with the same plan hash and its files present at the recorded sizes and does
nothing; a changed spec regenerates the items whose plan changed (and removes the files of items gone); an
interrupted make resumes. ``index.json`` lists the items (id, split, files, parameters) for users and pipelines.

Plugging in a generator (e.g. kind ``gpr-mines``): write ``sensorkit/datasets/gpr_mines.py`` (the kind with ``-``
turned into ``_``; the catalogue imports it on first use) containing

    from sensorkit.datasets.catalogue import register_generator

    def make_item(spec, item, out_dir, progress):
        # write the files of ``item`` (item.id, item.split, item.params) under out_dir; return their paths
        ...
        return [out_dir / item.split / f"{item.id}.h5"]

    register_generator("gpr-mines", make_item, version="1")

With the default planner the spec lists its items explicitly: ``"items": [{"id": "...", "split": "...", ...}]``
(each item's fields are its ``params``). A generator may pass ``plan=`` to build items another way.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from sensorkit.errors import FormatError

SPEC_FILE = "spec.json"
MANIFEST_FILE = "manifest.json"
INDEX_FILE = "index.json"
STAGING_DIR = ".staging"
ENV_DATA_DIR = "SENSORKIT_DATA_DIR"
ENV_CATALOGUE_DIR = "SENSORKIT_CATALOGUE_DIR"
DEFAULT_CACHE_ROOT = Path("~/.cache/sensorkit/datasets")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


# --------------------------------------------------------------------------------------------------- specs


@dataclass
class Item:
    """One unit of a dataset, made in one go: ``id`` (a file-name-safe string), ``split``, ``params`` (JSON-able,
    the generator's input) and ``weight`` (its share of the work: seconds of audio, traces...; for progress)."""

    id: str
    split: str
    params: dict
    weight: float = 1.0


@dataclass
class DatasetSpec:
    """A parsed ``spec.json``: the catalogue's fields, and ``data`` the whole JSON object (for the generator)."""

    path: Path
    name: str
    kind: str
    version: int
    description: str
    seed: int
    splits: list
    data: dict = field(repr=False)

    @property
    def folder(self) -> Path:
        """The spec's folder in the catalogue (README.md, spec.json, any files the spec refers to)."""
        return self.path.parent

    @property
    def sha256(self) -> str:
        """The hash of the spec's content (canonical JSON: key order and spacing do not matter)."""
        return sha256_json(self.data)

    def error(self, field_name: str, expected: str, found=None) -> FormatError:
        """A FormatError naming this spec file and ``field_name`` (``clips[3].sources[0].speed_mps``)."""
        return FormatError(self.path, field_name, expected, found)


def sha256_json(value) -> str:
    """sha256 (hex) of the canonical JSON text of ``value``."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def sha256_file(path) -> str:
    """sha256 (hex) of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def catalogue_dir(catalogue=None) -> Path:
    """The folder of dataset specs: ``catalogue``, else $SENSORKIT_CATALOGUE_DIR, else ``datasets/`` of the
    repository this package sits in."""
    if catalogue is not None:
        return Path(catalogue).expanduser()
    if os.environ.get(ENV_CATALOGUE_DIR):
        return Path(os.environ[ENV_CATALOGUE_DIR]).expanduser()
    return Path(__file__).resolve().parents[2] / "datasets"


def cache_root(cache_dir=None) -> Path:
    """Where made datasets live: ``cache_dir``, else $SENSORKIT_DATA_DIR, else ~/.cache/sensorkit/datasets."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    if os.environ.get(ENV_DATA_DIR):
        return Path(os.environ[ENV_DATA_DIR]).expanduser()
    return DEFAULT_CACHE_ROOT.expanduser()


def dataset_names(catalogue=None) -> list[str]:
    """Names of the datasets in the catalogue (folders holding a spec.json), sorted."""
    root = catalogue_dir(catalogue)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / SPEC_FILE).is_file())


def load_spec(name: str, catalogue=None) -> DatasetSpec:
    """Read and check ``<catalogue>/<name>/spec.json`` (FormatError naming the file and the field)."""
    root = catalogue_dir(catalogue)
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(f"dataset name: expected lower-case letters, digits, '-', '_' or '.', found {name!r}")
    path = root / name / SPEC_FILE
    if not path.is_file():
        known = ", ".join(dataset_names(catalogue)) or "none"
        raise FileNotFoundError(f"{path}: no such dataset spec (datasets in {root}: {known})")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise FormatError(path, "text", "UTF-8 JSON", str(exc)) from None
    except json.JSONDecodeError as exc:
        raise FormatError(path, "JSON", "a valid JSON object", f"{exc.msg} at line {exc.lineno}") from None
    return parse_spec(path, data)


def parse_spec(path, data) -> DatasetSpec:
    """Check the catalogue's fields of a spec object read from ``path``."""
    path = Path(path)
    if not isinstance(data, dict):
        raise FormatError(path, "(top level)", "a JSON object", type(data).__name__)
    for key in ("name", "kind", "version", "description", "seed", "splits"):
        if key not in data:
            raise FormatError(path, key, "a value (required field)", None)
    name = data["name"]
    if not isinstance(name, str) or name != path.parent.name:
        raise FormatError(path, "name", f"the spec folder's name {path.parent.name!r}", name)
    kind = data["kind"]
    if not isinstance(kind, str) or not _NAME_RE.match(kind):
        raise FormatError(path, "kind", "a generator kind such as 'drone-acoustic' or 'gpr-mines'", kind)
    version = data["version"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise FormatError(path, "version", "an integer >= 1", version)
    if not isinstance(data["description"], str):
        raise FormatError(path, "description", "a string", data["description"])
    seed = data["seed"]
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2 ** 63:
        raise FormatError(path, "seed", "an integer in [0, 2**63)", seed)
    splits = data["splits"]
    if (not isinstance(splits, list) or not splits or len(set(map(str, splits))) != len(splits)
            or not all(isinstance(s, str) and _ID_RE.match(s) for s in splits)):
        raise FormatError(path, "splits", "a list of distinct split names such as ['train', 'test']", splits)
    return DatasetSpec(path, name, kind, version, data["description"], seed, list(splits), data)


# --------------------------------------------------------------------------------------------------- generators

MakeItem = Callable[[DatasetSpec, Item, Path, Callable[[float], None]], list]
Plan = Callable[[DatasetSpec], list]


@dataclass
class Generator:
    """What makes a dataset kind: ``make_item(spec, item, out_dir, progress) -> [paths written under out_dir]``,
    ``plan(spec) -> [Item]``, ``version`` (raise it when the same spec would make different files) and ``unit``
    (what an item's weight counts, for the progress bar)."""

    kind: str
    make_item: MakeItem
    plan: Plan
    version: str
    unit: str


_GENERATORS: dict[str, Generator] = {}


def plan_from_items(spec: DatasetSpec) -> list[Item]:
    """The default planner: ``spec["items"]``, a list of objects with ``id`` and ``split`` (and ``weight``, > 0,
    optional); the whole object is the item's params."""
    items = spec.data.get("items")
    if not isinstance(items, list) or not items:
        raise spec.error("items", "a non-empty list of items, each {'id': ..., 'split': ..., ...}", items)
    out = []
    for i, entry in enumerate(items):
        if not isinstance(entry, dict):
            raise spec.error(f"items[{i}]", "an object", entry)
        item_id = check_item_id(spec, f"items[{i}].id", entry.get("id"))
        split = check_split(spec, f"items[{i}].split", entry.get("split"))
        weight = entry.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight > 0:
            raise spec.error(f"items[{i}].weight", "a number > 0", weight)
        out.append(Item(item_id, split, dict(entry), float(weight)))
    check_unique_ids(spec, out, "items")
    return out


def check_item_id(spec: DatasetSpec, field_name: str, value) -> str:
    """An item id: letters, digits, '-', '_', '.', starting with a letter or digit (it names files)."""
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise spec.error(field_name, "an id of letters, digits, '-', '_' or '.' (it names the item's files)", value)
    return value


def check_split(spec: DatasetSpec, field_name: str, value) -> str:
    """A split named in the spec's ``splits``."""
    if value not in spec.splits:
        raise spec.error(field_name, f"one of the spec's splits {spec.splits}", value)
    return value


def check_unique_ids(spec: DatasetSpec, items: list, field_name: str) -> None:
    """Refuse two items with the same id."""
    seen = set()
    for item in items:
        if item.id in seen:
            raise spec.error(field_name, "distinct item ids", item.id)
        seen.add(item.id)


def register_generator(kind: str, make_item: MakeItem, *, plan: Plan | None = None, version: str = "1",
                       unit: str = "item") -> Generator:
    """Make ``kind`` available to specs (see the module docstring); registering a kind again replaces it."""
    if not isinstance(kind, str) or not _NAME_RE.match(kind):
        raise ValueError(f"kind: expected lower-case letters, digits, '-', '_' or '.', found {kind!r}")
    if not callable(make_item) or (plan is not None and not callable(plan)):
        raise ValueError("make_item, plan: expected functions")
    generator = Generator(kind, make_item, plan or plan_from_items, str(version), str(unit))
    _GENERATORS[kind] = generator
    return generator


def generator_for(spec: DatasetSpec) -> Generator:
    """The registered generator of ``spec.kind``, importing ``sensorkit.datasets.<kind_with_underscores>`` once."""
    if spec.kind not in _GENERATORS:
        module = f"sensorkit.datasets.{spec.kind.replace('-', '_').replace('.', '_')}"
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
    if spec.kind not in _GENERATORS:
        known = ", ".join(sorted(_GENERATORS)) or "none"
        raise spec.error("kind", f"a registered generator kind (registered: {known}; a kind K is found in the "
                                 f"module sensorkit.datasets.K_with_underscores calling register_generator)",
                         spec.kind)
    return _GENERATORS[spec.kind]


def plan_dataset(spec: DatasetSpec) -> list[Item]:
    """The dataset's items, checked (unique ids, known splits)."""
    generator = generator_for(spec)
    items = list(generator.plan(spec))
    if not items:
        raise spec.error("items", "at least one item", 0)
    for item in items:
        if not isinstance(item, Item):
            raise TypeError(f"{generator.kind}: plan() must return Item objects, got {type(item).__name__}")
        check_item_id(spec, "id", item.id)
        check_split(spec, f"{item.id}.split", item.split)
    check_unique_ids(spec, items, "items")
    return items


# --------------------------------------------------------------------------------------------------- the cache


@dataclass
class MakeReport:
    """What :func:`make_dataset` did: the dataset's folder, item ids made / kept, relative paths removed."""

    path: Path
    made: list
    kept: list
    removed: list
    seconds: float

    @property
    def up_to_date(self) -> bool:
        """True when nothing had to be made or removed."""
        return not self.made and not self.removed


def dataset_path(name: str, cache_dir=None) -> Path:
    """The folder of a made dataset: ``<cache root>/<name>`` (see :func:`cache_root`)."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(f"dataset name: expected lower-case letters, digits, '-', '_' or '.', found {name!r}")
    return cache_root(cache_dir) / name


def read_manifest(folder) -> dict | None:
    """The manifest of a made dataset's folder, or None when it is missing or unreadable."""
    path = Path(folder) / MANIFEST_FILE
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and isinstance(manifest.get("items"), dict) else None


def item_hash(spec: DatasetSpec, generator: Generator, item: Item) -> str:
    """The hash of everything that determines an item's files: kind, generator version, spec seed, item."""
    return sha256_json({"kind": spec.kind, "generator_version": generator.version, "seed": spec.seed,
                        "settings": spec.data.get("settings"), "id": item.id, "split": item.split,
                        "params": item.params})


def _files_present(folder: Path, files: dict, verify: bool) -> bool:
    for rel, info in files.items():
        path = folder / rel
        try:
            if path.stat().st_size != info.get("bytes"):
                return False
        except OSError:
            return False
        if verify and sha256_file(path) != info.get("sha256"):
            return False
    return True


def dataset_status(name: str, cache_dir=None, catalogue=None, verify: bool = False) -> str:
    """'complete', 'outdated' (made from another spec or generator version), 'partial' or 'missing'."""
    spec = load_spec(name, catalogue)
    generator = generator_for(spec)
    folder = dataset_path(name, cache_dir)
    manifest = read_manifest(folder)
    if manifest is None:
        return "missing"
    if manifest.get("spec_sha256") != spec.sha256 or manifest.get("generator_version") != generator.version:
        return "outdated"
    items = plan_dataset(spec)
    done = manifest["items"]
    for item in items:
        entry = done.get(item.id)
        if entry is None or entry.get("sha256") != item_hash(spec, generator, item) or not _files_present(
                folder, entry.get("files", {}), verify):
            return "partial"
    return "complete"


def make_dataset(name: str, cache_dir=None, *, catalogue=None, force: bool = False, verify: bool = False,
                 progress: bool = True, stream=None) -> MakeReport:
    """Make (or bring up to date) the dataset ``name`` in the cache; returns what was done.

    force: remake every item. verify: re-hash the files of items believed made (else sizes are compared).
    progress: a progress bar on ``stream`` (default stderr) with the rate and the time left.
    """
    started = time.monotonic()
    spec = load_spec(name, catalogue)
    generator = generator_for(spec)
    items = plan_dataset(spec)
    folder = dataset_path(name, cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(folder) or {}
    done = dict(manifest.get("items", {})) if manifest.get("generator_version") == generator.version else {}
    # the old manifest's items stay listed (so their files are found) until they are remade or removed
    old_files = {rel for entry in manifest.get("items", {}).values() for rel in entry.get("files", {})}
    todo, kept = [], []
    for item in items:
        entry = done.get(item.id)
        if (not force and entry is not None and entry.get("sha256") == item_hash(spec, generator, item)
                and _files_present(folder, entry.get("files", {}), verify)):
            kept.append(item.id)
        else:
            todo.append(item)
    wanted = {i.id for i in items}
    new_manifest = {"name": spec.name, "kind": spec.kind, "spec_sha256": spec.sha256,
                    "generator_version": generator.version, "dataset_version": spec.version,
                    "items": {k: v for k, v in done.items() if k in kept}}
    staging = folder / STAGING_DIR
    shutil.rmtree(staging, ignore_errors=True)
    bar = _progress_bar(spec, generator, todo, progress, stream)
    try:
        for item in todo:
            new_manifest["items"].pop(item.id, None)
            _write_json(folder / MANIFEST_FILE, new_manifest)
            out = staging / item.id
            out.mkdir(parents=True)
            advanced = [0.0]

            def advance(amount: float, _advanced=advanced, _item=item) -> None:
                amount = max(0.0, min(float(amount), _item.weight - _advanced[0]))
                _advanced[0] += amount
                bar.update(amount)

            written = generator.make_item(spec, item, out, advance)
            advance(item.weight)
            files = {}
            for path in written:
                path = Path(path)
                rel = path.resolve().relative_to(out.resolve()).as_posix()
                files[rel] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
            for rel in files:
                target = folder / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(out / rel, target)
            shutil.rmtree(out, ignore_errors=True)
            new_manifest["items"][item.id] = {"sha256": item_hash(spec, generator, item), "split": item.split,
                                              "files": files}
            _write_json(folder / MANIFEST_FILE, new_manifest)
    finally:
        bar.close()
        shutil.rmtree(staging, ignore_errors=True)
    current = {rel for entry in new_manifest["items"].values() for rel in entry["files"]}
    removed = sorted(rel for rel in old_files - current if (folder / rel).is_file())
    for rel in removed:
        (folder / rel).unlink()
    _write_json(folder / INDEX_FILE, {
        "name": spec.name, "kind": spec.kind, "version": spec.version, "description": spec.description,
        "splits": {s: [i.id for i in items if i.split == s] for s in spec.splits},
        "items": [{"id": i.id, "split": i.split, "weight": i.weight,
                   "files": sorted(new_manifest["items"][i.id]["files"]), "params": i.params} for i in items]})
    _write_json(folder / MANIFEST_FILE, new_manifest)
    return MakeReport(folder, [i.id for i in todo], kept, removed, time.monotonic() - started)


def read_index(name_or_folder, cache_dir=None) -> dict:
    """The ``index.json`` of a made dataset (a name in the cache, or a folder)."""
    folder = Path(name_or_folder)
    if not folder.is_dir():
        folder = dataset_path(str(name_or_folder), cache_dir)
    path = folder / INDEX_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the dataset is not made (sensorkit dataset make {folder.name})")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(path, "JSON", "a valid JSON object", str(exc)) from None


def _write_json(path: Path, value) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, indent=1, sort_keys=False, allow_nan=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _progress_bar(spec, generator, todo, enabled, stream):
    from tqdm import tqdm

    total = sum(i.weight for i in todo)
    unit = generator.unit
    return tqdm(total=total, desc=f"making {spec.name}", unit=unit, disable=not enabled or not todo,
                file=stream or sys.stderr, dynamic_ncols=True, smoothing=0.1,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} " + unit
                           + " [{elapsed}<{remaining}, {rate_fmt}]")
