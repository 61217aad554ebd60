"""The mock against the real service: a validating proxy (``proxy``) that records task timelines (``recording``),
replay of those recordings on the virtual clock (``replay``), and a drift report (``drift``). ``conformance`` says
what an exchange breaks of the spec."""
