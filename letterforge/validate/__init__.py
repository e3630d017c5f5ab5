"""Validate: rows, templates and front matter, the stylesheet, the reference document ->
typed rows and a list of every problem found.

Pure: no reading, no writing. Each problem names the file, the line and the column and
says what to do, so ``letterforge check`` can report them all at once. One module a job:
:mod:`.rows` (the data files), :mod:`.stylesheet` (CSS and fonts), :mod:`.reference`
(reference.docx), :mod:`.front_matter` (the e-mail's headers, the letterhead, the
footer and the signature). Images are checked by :mod:`letterforge.images`.
"""

