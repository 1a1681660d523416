"""Importers and exporters of field and lab file formats (see docs/formats.md)."""
