"""The Charter language server (`charter lsp`), built on pygls.

    analysis.py  the CLI's checker and linter on the editor's text (unsaved imports too)
    index.py     where every name is defined and used, across `use` and the stdlib
    hover.py     hover text for norms, lets, patterns, labels, modules and built-in checks
    actions.py   mechanical fixes for lint findings
    server.py    the protocol handlers

Needs the `lsp` extra (pygls); `charter lsp` imports this package only when run.
"""
