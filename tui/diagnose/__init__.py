"""Explaining how a recorded session ended: `diagnose(path)` streams a recording once and returns a
`Diagnosis` (the ending, the timeline leading there, findings with evidence).

Modules: `items` (one record with its parsed event and whether it counts), `ending` (who closed
first, with what), `pacing` (audio seconds per wall-clock second), `rules` (the findings), `report`
(the stable JSON shape, docs/diagnose-json.md), `text` (the plain rendering), `analyze` (the pass).
"""

from tui.diagnose.analyze import diagnose
from tui.diagnose.report import Diagnosis, EndingReport, Finding

__all__ = ["Diagnosis", "EndingReport", "Finding", "diagnose"]
