"""One module per model: everything the mock knows about a model beyond the spec (see ``dashscope_mock.plugins``).

Each module has a module-level ``model`` (a ``VideoModel`` or a ``Detector``). The registry finds the modules of this
package by listing it; ``MockConfig.model_modules`` adds others. Adding a model: its spec (schemas, ``x-models``,
``x-limits``, catalogue entries, an example), one module here, and the SDK surface.

May import: ``media``, ``plugins``/``seam`` and ``domain``.
"""
