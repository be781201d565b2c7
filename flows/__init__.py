"""The benchmark's flows (Prefect DAGs) and their commands.

Every command keeps Prefect's telemetry off unless the user turned it on: benchmarks run in closed
networks, where a telemetry call is an error in the log (and nothing to send anyway). The temporary
Prefect API gets two minutes to start instead of twenty seconds: a busy machine needs them.
"""

import os

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
