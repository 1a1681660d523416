"""Named benchmark datasets: specs in the repository's ``datasets/`` folder, files generated into a cache on demand.

    from sensorkit.datasets import make_dataset, read_index
    report = make_dataset("drones-small")          # ~/.cache/sensorkit/datasets/drones-small (or $SENSORKIT_DATA_DIR)
    index = read_index("drones-small")             # items: id, split, files, params

sensorkit.datasets.catalogue       specs, the generator registry, the cache and its manifest (see its docstring
                                   for how a new kind such as ``gpr-mines`` plugs in)
sensorkit.datasets.drone_acoustic  kind ``drone-acoustic``: microphone-array clips of drones, interferers and noise
"""

from sensorkit.datasets.catalogue import (DatasetSpec, Generator, Item, MakeReport, cache_root, catalogue_dir,
                                          dataset_names, dataset_path, dataset_status, generator_for, load_spec,
                                          make_dataset, plan_dataset, read_index, read_manifest,
                                          register_generator)

__all__ = ["DatasetSpec", "Generator", "Item", "MakeReport", "cache_root", "catalogue_dir", "dataset_names",
           "dataset_path", "dataset_status", "generator_for", "load_spec", "make_dataset", "plan_dataset",
           "read_index", "read_manifest", "register_generator"]
