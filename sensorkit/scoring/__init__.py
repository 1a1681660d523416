"""Scoring of detections against ground truth (mines: sensorkit.scoring.mines)."""
