"""Is the attention an explanation? The faithfulness suite (issue 4).

``run_suite`` runs every test on a run folder and writes a report; each test is also a function
of its own module that takes any model following the ``AttentionModel`` protocol.
"""

from attnrec.faithfulness.protocol import AttentionModel, Encoded, Forward, NetworkAdapter
from attnrec.faithfulness.suite import SuiteConfig, SuiteResult, run_battery, run_suite

__all__ = [
    "AttentionModel",
    "Encoded",
    "Forward",
    "NetworkAdapter",
    "SuiteConfig",
    "SuiteResult",
    "run_battery",
    "run_suite",
]
