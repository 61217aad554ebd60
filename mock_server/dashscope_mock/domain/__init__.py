"""The domain: what the mock knows, with no I/O and no HTTP. ``records`` (a task, an upload), ``lifecycle`` (a task's
status derived from its timestamps), ``clock`` (the virtual clock), ``ids``, ``keys`` (accounts, never keys in
clear), ``signing`` (signed links and policies), ``errors`` (the catalogue's errors and their shapes) and
``scripting`` (scenarios, faults and the journal as records, and their matching rules) and ``loops`` (the running
event loop, if any).

May import: ``dashscope_openapi`` and the standard library, and ``config``; nothing else of the mock.
"""
