"""Taking an experiment out of the app: ``export_pytorch`` writes a self-contained PyTorch
script with the trained weights and the data beside it (docs/EXPORT.md)."""

from playground.export.pytorch import ExportError, build_export, export_pytorch

__all__ = ["ExportError", "build_export", "export_pytorch"]
