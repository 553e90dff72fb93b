"""The pure core: load -> validate -> resolve.

Rules of this room:
- imports nothing outside it but the standard library, pydantic, PyYAML and packaging:
  never pulumi, a provider SDK, the render, plan or cli rooms, or components/;
- every function is deterministic: the same catalog and stack give the same sorted,
  frozen rules, whatever the order of files and entries;
- a problem a user can fix is a `Problem` (`path:line: field: message`), collected, never raised alone.
"""
