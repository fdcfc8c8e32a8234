"""The bench's parts: one module per workload (``commands``, ``lists``, ``as_of``, ``rebuild``,
``http_reads``, ``http_writes``), what they share (``figures``, ``stores``, ``seeding``) and the one load
client of every script (``http_load``). ``scripts/bench.py`` runs them in order.

Scripts in ``scripts/`` import it as ``benchkit`` (their folder is on ``sys.path`` when run); the ledger
comes from the installed project (``pip install -e .``) or ``PYTHONPATH``.
"""
