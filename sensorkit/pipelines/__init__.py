"""Pipelines: recordings or GPR/acoustic files in, detections out (landmine: sensorkit.pipelines.landmine)."""
