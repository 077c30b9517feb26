"""The live screen's widgets, one area each."""
