"""Syntax: the grammar (`grammar.lark`), the parser into the syntax tree (`ast`), the
canonical layout (`format`, `charter fmt`) and highlighting (`highlight`)."""
