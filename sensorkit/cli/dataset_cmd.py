"""`sensorkit dataset list | make NAME | path NAME`: the catalogue of named benchmark datasets.

Specs live in the repository's ``datasets/<name>/spec.json`` (or --catalogue DIR); files are made into
``<cache>/<name>/`` with <cache> = --cache DIR, else $SENSORKIT_DATA_DIR, else ~/.cache/sensorkit/datasets.
Exit codes: 0 done (or already up to date; `path`: the dataset is made and up to date), 1 `path` of a dataset not
made or out of date (the path is still printed), 2 bad input (unknown dataset, invalid spec).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "dataset", help="list, make and locate the named benchmark datasets",
        description="The catalogue of named benchmark datasets: specs in the repository's datasets/ folder, files "
                    "generated deterministically from their seeds into a cache on demand (--cache DIR, else "
                    "$SENSORKIT_DATA_DIR, else ~/.cache/sensorkit/datasets). A second make is a no-op; a changed "
                    "spec remakes the items it changed.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    common = _common_options()
    p = actions.add_parser("list", parents=[common], help="the datasets of the catalogue and whether they are made")
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    p.set_defaults(run=run_list)
    p = actions.add_parser("make", parents=[common], help="generate a dataset into the cache (idempotent)",
                           description="Generate a dataset into the cache; items already made from the same spec "
                                       "are kept, changed ones remade, removed ones deleted.")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--force", action="store_true", help="remake every item")
    p.add_argument("--verify", action="store_true",
                   help="re-hash the files already made (sha256) instead of trusting their sizes")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print what was done as JSON")
    p.set_defaults(run=run_make)
    p = actions.add_parser("path", parents=[common], help="print the folder of a dataset in the cache")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(run=run_path)


def _common_options():
    import argparse

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--cache", type=Path, default=None, metavar="DIR",
                        help="cache root (default: $SENSORKIT_DATA_DIR, else ~/.cache/sensorkit/datasets)")
    common.add_argument("--catalogue", type=Path, default=None, metavar="DIR",
                        help="folder of dataset specs (default: $SENSORKIT_CATALOGUE_DIR, else the repository's "
                             "datasets/)")
    return common


def run_list(args) -> int:
    from sensorkit.datasets import catalogue as cat

    rows = []
    for name in cat.dataset_names(args.catalogue):
        row = {"name": name, "path": str(cat.dataset_path(name, args.cache))}
        try:
            spec = cat.load_spec(name, args.catalogue)
            items = cat.plan_dataset(spec)
            unit = cat.generator_for(spec).unit
            row.update(kind=spec.kind, description=spec.description, items=len(items),
                       size=sum(i.weight for i in items), unit=unit,
                       splits={s: sum(i.split == s for i in items) for s in spec.splits},
                       status=cat.dataset_status(name, args.cache, args.catalogue))
        except (ValueError, OSError) as error:  # one bad spec must not hide the others
            row.update(kind="?", description="", status=f"invalid spec: {error}")
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"no datasets in {cat.catalogue_dir(args.catalogue)}", file=sys.stderr)
        return 0
    for row in rows:
        if "items" in row:
            size = f"{row['size']:g} {row['unit']}"
            if row["unit"] == "s" and row["size"] >= 60:
                size = f"{row['size'] / 60:.1f} min"
            splits = ", ".join(f"{k} {v}" for k, v in row["splits"].items())
            print(f"{row['name']:<16} {row['kind']:<16} {row['items']:>4} items  {size:>10}  ({splits})  "
                  f"{row['status']}")
            print(f"{'':16} {row['description']}")
        else:
            print(f"{row['name']:<16} {row['status']}")
    return 0


def run_make(args) -> int:
    from sensorkit.datasets import make_dataset

    report = make_dataset(args.name, args.cache, catalogue=args.catalogue, force=args.force, verify=args.verify,
                          progress=not args.quiet)
    if args.json:
        print(json.dumps({"path": str(report.path), "made": report.made, "kept": report.kept,
                          "removed": report.removed, "seconds": round(report.seconds, 3)}, indent=2))
    else:
        state = "up to date" if report.up_to_date else (
            f"{len(report.made)} made, {len(report.kept)} kept, {len(report.removed)} files removed")
        print(f"{args.name}: {state} ({report.seconds:.1f} s)", file=sys.stderr)
        print(report.path)
    return 0


def run_path(args) -> int:
    from sensorkit.datasets import dataset_path, dataset_status

    status = dataset_status(args.name, args.cache, args.catalogue)
    print(dataset_path(args.name, args.cache))
    if status != "complete":
        print(f"{args.name}: {status} (sensorkit dataset make {args.name})", file=sys.stderr)
        return 1
    return 0
