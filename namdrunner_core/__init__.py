"""namdrunner_core: run NAMD simulations on SLURM clusters over SSH.

The public API is re-exported here; see the user guide for a tour.
"""

from namdrunner_core._version import __version__
from namdrunner_core.errors import NamdRunnerError

__all__ = ["NamdRunnerError", "__version__"]
