"""The mock against the real service: a validating proxy (``proxy``) that records task timelines (``recording``),
replay of those recordings on the virtual clock (``replay``), and a drift report (``drift``). ``conformance`` says
what an exchange breaks of the spec.

May import: ``domain``, ``plugins``/``seam``/``config``, ``media``, ``services`` and ``http`` (the proxy reuses the
router, the guard's host check and the validators); ``drift_compare`` also the test harness (``testing``). Below it
only ``services.tasks`` and ``backend`` import ``replay``.
"""
