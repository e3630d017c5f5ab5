"""PDF writer (the writers table's ``pdf``): :mod:`.render` lays the letter's page out with
WeasyPrint's public API, :mod:`.conformance` makes the PDF/UA-1 fixes on the finished
PDF, and :mod:`.engine` holds everything that reaches into WeasyPrint's or pydyf's
internals, each override listed there."""
