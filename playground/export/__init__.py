"""Taking an experiment out of the app: ``export_pytorch`` writes a self-contained PyTorch
script with the trained weights and the data beside it (docs/EXPORT.md)."""

from playground.export.network import ExportError
from playground.export.pytorch import TorchExport, build_export, export_pytorch, script_stem, write_export

__all__ = ["ExportError", "TorchExport", "build_export", "export_pytorch", "script_stem", "write_export"]
