"""The mock's services, each one concern, composed by ``dashscope_mock.backend.Backend``: tasks (``tasks``), when
queued tasks start (``scheduling``), temporary uploads (``uploads``), media work (``media_runner``) and the per-key
task-query limit (``rates``). They change state and return records; ``dashscope_mock.http.views`` shapes the JSON.

May import: ``domain``, ``store``, ``media`` (its seam, through ``models-api``: ``plugins``, ``seam``, ``config``).
Never ``http``; ``tasks`` also asks ``realservice.replay`` (the one listed exception).
"""
