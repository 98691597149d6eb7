"""One small function per report section; each returns plain data the templates lay out.

A section reads only its own tables and returns ``available=False`` with a plain sentence when
nothing has been recorded, so a missing stage never breaks (or pads) a report.
"""
